"""`kubectl tfguard explain`'s own judgement: the workload as the webhook would judge it now, with
the ImageStacks and ModelProfiles the cluster holds (read once), plus the probe's word when the
operator recorded one in the workload's annotations."""

from __future__ import annotations

from typing import Any

from tfguard import annotations as A
from tfguard.commands.manifests import Document, Result, fact_store, judge_documents


def judge(obj: dict[str, Any], namespace: str, stacks: list[dict[str, Any]], profiles: list[dict[str, Any]]) -> tuple[Result, str]:
    """(the judgement, a note on the probe's part)."""
    documents = [Document(o, "", 0) for o in stacks + profiles]
    store = fact_store(documents, {}, {namespace}, namespace)
    meta = obj.get("metadata") or {}
    # Judge what the user wrote: the operator's own annotations are results, not inputs.
    mine = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in (A.VERDICT, A.REASON, A.CHECKED_AT)}
    fresh = {"apiVersion": obj.get("apiVersion") or "apps/v1", "kind": obj["kind"],
             "metadata": {"name": meta.get("name"), "namespace": namespace, "annotations": mine}, "spec": obj.get("spec") or {}}
    (result,) = judge_documents([Document(fresh, "", 0)], store, namespace)
    result.file = result.line = None
    probe_stack = (meta.get("annotations") or {}).get(A.IMAGE_STACK, "")
    note = (f"the operator judged from ImageStack {probe_stack} (observed by the probe)"
            if probe_stack.startswith("sha256-") else "")
    result.model = mine.get(A.MODEL_PROFILE) or mine.get(A.MODEL_PATH) or mine.get(A.OBSERVED_MODEL_PROFILE) or None
    return result, note
