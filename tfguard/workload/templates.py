"""Pod controllers and Pods: where their pod template is, and the tfguard annotations they carry."""

from __future__ import annotations

import difflib
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat.codes import finding
from tfguard.compat.facts import Finding

# Kinds whose pod template tfguard judges, and where that template lives (a Pod is its own).
TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}


def _dig(node: Any, path: tuple[str, ...]) -> Optional[dict[str, Any]]:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def pod_template(kind: str, obj: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The pod template of a pod controller, or None (not a controller, or no template)."""
    return _dig(obj, TEMPLATE_PATHS[kind]) if kind in TEMPLATE_PATHS else None


def pod_spec(template: Optional[dict[str, Any]]) -> dict[str, Any]:
    spec = (template or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def tfguard_annotations(*sources: Optional[dict[str, Any]]) -> dict[str, str]:
    """The tfguard.io/ annotations of several metadata objects merged; later sources win."""
    merged: dict[str, str] = {}
    for source in sources:
        annotations = source.get("annotations") if isinstance(source, dict) else None
        if not isinstance(annotations, dict):
            continue
        for key, value in annotations.items():
            if isinstance(key, str) and key.startswith(A.PREFIX) and isinstance(value, str):
                merged[key] = value
    return merged


def workload_annotations(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """What the user set on the pod template, a CronJob's job template, and the object itself (the
    object's own metadata wins: that is where `kubectl annotate` puts it)."""
    sources = [(pod_template(kind, obj) or {}).get("metadata")]
    if kind == "CronJob":
        sources.append(_dig(obj, ("spec", "jobTemplate", "metadata")))
    sources.append(obj.get("metadata"))
    return tfguard_annotations(*sources)


def has_user_annotations(annotations: dict[str, str]) -> bool:
    return any(key in annotations for key in A.USER_ANNOTATIONS)


def is_tfguard_workload(kind: str, obj: dict[str, Any]) -> bool:
    return has_user_annotations(workload_annotations(kind, obj))


def controller_of(obj: dict[str, Any]) -> Optional[tuple[str, str]]:
    """(kind, name) of the object's controlling owner, if it has one."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    for ref in metadata.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            return str(ref.get("kind") or ""), str(ref.get("name") or "")
    return None


def unknown_annotation_findings(annotations: dict[str, str]) -> list[Finding]:
    """A warning for each tfguard.io/ key tfguard does not know (a typo is otherwise silently ignored)."""
    found = []
    for key in annotations:
        if key in A.KNOWN_ANNOTATIONS:
            continue
        close = difflib.get_close_matches(key, A.USER_ANNOTATIONS + (A.INJECT,), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else f"; see docs/annotations.md for the {A.PREFIX} annotations"
        found.append(finding("ADMISSION_UNKNOWN_ANNOTATION", f"{key[:80]} is not a tfguard annotation{hint}",
                             annotation=key[:80]))
        if len(found) >= 4:
            break
    return found
