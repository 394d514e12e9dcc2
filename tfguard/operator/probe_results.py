"""A Pod's probe result: read from the probe init container's termination message.

The probe (tfguard/probes/probe.py) runs as the init container `tfguard-probe` with the serving
container's own image and writes a compact report to its termination message; the kubelet puts it
into `status.initContainerStatuses[].state.terminated.message`, next to the `imageID` (the digest of
the image it really ran). Everything here is pure: bodies in, facts and resource bodies out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat import releases, resources
from tfguard.compat.facts import Finding, ModelFacts, StackFacts

_DIGEST = re.compile(r"(sha256:[0-9a-f]{64})")


@dataclass
class ProbeResult:
    namespace: str
    pod: str
    pod_uid: str
    owner_kind: Optional[str]  # the Pod's controller: ReplicaSet, StatefulSet, DaemonSet, Job, ...
    owner_name: Optional[str]
    image: str  # the reference the init container ran
    image_digest: Optional[str]  # from the init container's imageID
    finished_at: str  # RFC 3339, from the terminated state
    exit_code: Optional[int]
    status: str  # the probe's own status: pass | fail | ... ; "unreadable" when the report is not
    checks: list[Finding] = field(default_factory=list)
    stack: StackFacts = field(default_factory=StackFacts)
    model: Optional[ModelFacts] = None
    model_loaded: bool = False  # the probe really loaded the model with the image's own TensorFlow

    @property
    def failed(self) -> bool:
        return self.status not in ("pass", "ok", "passed")

    @property
    def errors(self) -> list[Finding]:
        return [c for c in self.checks if c.severity == "error"]


def probe_state(pod: dict[str, Any]) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    """(the probe's init container status, its terminated state), once the probe has finished."""
    for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
        if status.get("name") == A.PROBE_CONTAINER:
            terminated = (status.get("state") or {}).get("terminated")
            if terminated:
                return status, terminated
            terminated = (status.get("lastState") or {}).get("terminated")
            if terminated:
                return status, terminated
    return None


def has_finished_probe(body: dict[str, Any], **_: Any) -> bool:
    """kopf `when=` filter for Pods."""
    return probe_state(body) is not None


def image_digest(image_id: Optional[str]) -> Optional[str]:
    """`docker-pullable://repo@sha256:...`, `repo@sha256:...` or `sha256:...` -> `sha256:...`."""
    match = _DIGEST.search(image_id or "")
    return match.group(1) if match else None


def controller_of(metadata: dict[str, Any]) -> tuple[Optional[str], Optional[str]]:
    for ref in metadata.get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind"), ref.get("name")
    return None, None


def read_probe_result(pod: dict[str, Any]) -> Optional[ProbeResult]:
    state = probe_state(pod)
    if state is None:
        return None
    status, terminated = state
    meta = pod.get("metadata") or {}
    owner_kind, owner_name = controller_of(meta)
    image = status.get("image") or _spec_image(pod) or ""
    digest = image_digest(status.get("imageID")) or image_digest(image)
    result = ProbeResult(
        namespace=meta.get("namespace") or "",
        pod=meta.get("name") or "",
        pod_uid=meta.get("uid") or "",
        owner_kind=owner_kind,
        owner_name=owner_name,
        image=image,
        image_digest=digest,
        finished_at=terminated.get("finishedAt") or "",
        exit_code=terminated.get("exitCode"),
        status="unreadable",
    )
    message = terminated.get("message") or ""
    try:
        report = _parse(message)
    except Exception as exc:  # a report we cannot read is a finding about the Pod, not a crash
        result.checks = [
            Finding(
                code="OPERATOR_UNREADABLE_PROBE_REPORT",
                severity="error",
                message=f"the probe in Pod {result.namespace}/{result.pod} left a report tfguard cannot read: "
                f"{str(exc)[:200]} (exit code {result.exit_code})",
                fix="Check `kubectl logs POD -c tfguard-probe`; the probe image and tfguard versions may differ.",
            )
        ]
        result.stack = StackFacts(image=image or None, image_digest=digest, source="probe")
        return result
    result.status = str(report.status)
    result.checks = list(report.checks or [])
    stack = report.stack if isinstance(report.stack, StackFacts) else StackFacts()
    stack.image = image or stack.image
    stack.image_digest = digest or stack.image_digest
    stack.source = "probe"
    stack.observed_at = stack.observed_at or result.finished_at or None
    result.stack = stack
    result.model = report.model if isinstance(report.model, ModelFacts) else None
    if result.model is not None and not result.model.ops and '"ops_dropped":true' in message.replace(" ", ""):
        result.model = None  # the summary had no room for the op list: no facts beat wrong facts
    codes = {c.code for c in result.checks}
    result.model_loaded = (
        not result.failed
        and report.model is not None
        # the full report lists the passed load; the summary lists only failures and warnings
        and ("PROBE_MODEL_LOADED" in codes or (getattr(report, "summary", False) and "PROBE_MODEL_NOT_CHECKED" not in codes))
    )
    if result.model is not None:
        result.model.source = "probe"
    return result


def _parse(message: str):
    from tfguard.compat.probe_report import parse_probe_report

    return parse_probe_report(message)


def _spec_image(pod: dict[str, Any]) -> Optional[str]:
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        if container.get("name") == A.PROBE_CONTAINER:
            return container.get("image")
    return None


# --- ImageStack and ModelProfile bodies -------------------------------------------------------


def image_stack_body(result: ProbeResult, known_references: list[str] | None = None) -> dict[str, Any]:
    return resources.image_stack_resource(result.stack, references=known_references)


def observation_status(result: ProbeResult) -> dict[str, Any]:
    """The `status` both resources get: when, from which Pod, and what the probe concluded."""
    ok = not result.failed
    return {
        "observedAt": result.finished_at or None,
        "observedBy": {"namespace": result.namespace, "name": result.pod, "uid": result.pod_uid},
        "probeStatus": result.status,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message[:1000], "fix": f.fix[:500]}
            for f in result.checks
            if f.severity in ("error", "warning")
        ][:64],
        "conditions": [
            {
                "type": "Verified",
                "status": "True" if ok else "False",
                "reason": "ProbePassed" if ok else "ProbeFailed",
                "message": _first_error(result) if not ok else "the probe imported TensorFlow in this image",
                "lastTransitionTime": result.finished_at or None,
            }
        ],
    }


def _first_error(result: ProbeResult) -> str:
    errors = result.errors
    return f"[{errors[0].code}] {errors[0].message}"[:1000] if errors else f"probe status {result.status}"


def model_profile_name(model: ModelFacts) -> str:
    """Keyed by the model's content digest: the same bytes are the same profile."""
    stem = (model.path or "model").rstrip("/").rsplit("/", 1)[-1] or "model"
    if model.digest:
        key = model.digest.partition(":")[2] or model.digest
    else:
        key = hashlib.sha256(f"{model.path}|{model.tensorflow_version}|{','.join(model.ops)}".encode()).hexdigest()
    return resources._dns_label(f"{stem}-{key[:16]}", 253)


def model_profile_body(result: ProbeResult) -> Optional[dict[str, Any]]:
    if result.model is None:
        return None
    body = resources.model_profile_resource(
        result.model,
        name=model_profile_name(result.model),
        namespace=result.namespace,
        newest_op_release=releases.newest_op_release(result.model.ops),
    )
    body["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "tfguard-operator"}
    return body
