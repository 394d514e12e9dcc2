"""What the operator writes from a probe: the ImageStack and ModelProfile bodies, and their status."""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat import releases, resources
from tfguard.compat.facts import ModelFacts
from tfguard.workload.probe_pods import PodProbe


def image_stack_body(probe: PodProbe, known_references: list[str] | None = None) -> dict[str, Any]:
    return resources.image_stack_resource(probe.stack, references=known_references, observed_in=probe.namespace)


def observation_status(probe: PodProbe) -> dict[str, Any]:
    """The `status` both resources get: when, from which Pod, and what the probe concluded."""
    ok = not probe.failed
    return {
        "observedAt": probe.finished_at or None,
        "observedBy": {"namespace": probe.namespace, "name": probe.pod, "uid": probe.pod_uid},
        "probeStatus": probe.status,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message[:1000], "fix": f.fix[:500]}
            for f in probe.checks
            if f.severity in ("error", "warning")
        ][:64],
        "conditions": [
            {
                "type": "Verified",
                "status": "True" if ok else "False",
                "reason": "ProbePassed" if ok else "ProbeFailed",
                "message": _first_error(probe) if not ok else "the probe imported TensorFlow in this image",
                "lastTransitionTime": probe.finished_at or None,
            }
        ],
    }


def _first_error(probe: PodProbe) -> str:
    errors = probe.errors
    return f"[{errors[0].code}] {errors[0].message}"[:1000] if errors else f"probe status {probe.status}"


def model_profile_name(model: ModelFacts) -> str:
    """Keyed by the model's content digest: the same bytes are the same profile."""
    stem = (model.path or "model").rstrip("/").rsplit("/", 1)[-1] or "model"
    if model.digest:
        key = model.digest.partition(":")[2] or model.digest
    else:
        key = hashlib.sha256(f"{model.path}|{model.tensorflow_version}|{','.join(model.ops)}".encode()).hexdigest()
    return resources.dns_label(f"{stem}-{key[:16]}", 253)


def model_profile_body(probe: PodProbe) -> Optional[dict[str, Any]]:
    if probe.model is None:
        return None
    body = resources.model_profile_resource(
        probe.model,
        name=model_profile_name(probe.model),
        namespace=probe.namespace,
        newest_op_release=releases.newest_op_release(probe.model.ops),
    )
    body["metadata"]["labels"] = {A.MANAGED_BY_LABEL: A.MANAGED_BY_OPERATOR}
    return body
