"""A Pod's probe result, read once from the probe init container's termination message.

The probe (tfguard/probes/probe.py) runs as the init container `tfguard-probe` with the serving
container's own image and writes a compact report to its termination message; the kubelet puts it
into `status.initContainerStatuses[].state.terminated.message`, next to the `imageID` (the digest of
the image it really ran). The report itself is a `tfguard.compat.probe_report.ProbeReport`; a
`PodProbe` adds where it ran. Everything here is pure: bodies in, facts out.

Anyone who can create a Pod can give an init container that name and write what they like into its
termination message, so `accepted_pod_probe` takes a report only from a Pod whose probe containers
are exactly what tfguard injects. The facts are keyed by the image digest the kubelet reports (its
`imageID`), and scoped to the Pod's namespace (`tfguard.workload.store`).
"""

from __future__ import annotations

from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat.codes import finding
from tfguard.compat.facts import Finding, ModelFacts, StackFacts
from tfguard.compat.probe_report import ProbeReport, parse_probe_report
from tfguard.errors import ProbeReportError
from tfguard.records import record
from tfguard.workload.images import digest_of_image_id


@record
class PodProbe:
    """One finished probe: the report, and the Pod, controller and image it ran in."""

    namespace: str
    pod: str
    pod_uid: str
    owner_kind: Optional[str]  # the Pod's controller: ReplicaSet, StatefulSet, DaemonSet, Job, ...
    owner_name: Optional[str]
    image: str  # the reference the init container ran
    image_digest: Optional[str]  # from the init container's imageID
    finished_at: str  # RFC 3339, from the terminated state
    exit_code: Optional[int]
    report: ProbeReport

    # What the report says, without `.report.` everywhere.
    @property
    def failed(self) -> bool:
        return self.report.failed

    @property
    def status(self) -> str:
        return self.report.status

    @property
    def checks(self) -> list[Finding]:
        return self.report.checks

    @property
    def errors(self) -> list[Finding]:
        return self.report.errors

    @property
    def stack(self) -> StackFacts:
        return self.report.stack

    @property
    def model(self) -> Optional[ModelFacts]:
        return self.report.model

    @property
    def model_loaded(self) -> bool:
        return self.report.model_loaded


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


def controller_of(metadata: dict[str, Any]) -> tuple[Optional[str], Optional[str]]:
    for ref in metadata.get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("kind"), ref.get("name")
    return None, None


def read_pod_probe(pod: dict[str, Any]) -> Optional[PodProbe]:
    """The Pod's finished probe, or None while it has none. A report tfguard cannot read is a failed
    probe with a finding that says so, never an exception."""
    state = probe_state(pod)
    if state is None:
        return None
    status, terminated = state
    meta = pod.get("metadata") or {}
    owner_kind, owner_name = controller_of(meta)
    image = _spec_image(pod) or status.get("image") or ""
    digest = digest_of_image_id(status.get("imageID")) or digest_of_image_id(image)
    where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    try:
        report = parse_probe_report(terminated.get("message") or "")
    except ProbeReportError as exc:
        report = ProbeReport(
            status="fail",
            checks=[finding(
                "OPERATOR_UNREADABLE_PROBE_REPORT",
                f"the probe in Pod {where} left a report tfguard cannot read: {str(exc)[:200]} "
                f"(exit code {terminated.get('exitCode')})",
                severity="error",
            )],
        )
    stack = report.stack
    stack.image = image or stack.image
    stack.image_digest = digest or stack.image_digest
    stack.source = "probe"
    stack.observed_at = stack.observed_at or terminated.get("finishedAt") or None
    return PodProbe(
        namespace=meta.get("namespace") or "",
        pod=meta.get("name") or "",
        pod_uid=meta.get("uid") or "",
        owner_kind=owner_kind,
        owner_name=owner_name,
        image=image,
        image_digest=digest,
        finished_at=terminated.get("finishedAt") or "",
        exit_code=terminated.get("exitCode"),
        report=report,
    )


def accepted_pod_probe(
    pod: dict[str, Any], probe_image: str, install_command
) -> tuple[Optional[PodProbe], Optional[str]]:
    """(the Pod's finished probe, None), or (None, why the report is not taken), or (None, None) while
    the probe has not finished."""
    from tfguard.workload.injection import injection_problem

    if probe_state(pod) is None:
        return None, None
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    # The report itself is the kubelet's (only it writes Pod status); what a tenant controls is the
    # spec, so that is what is checked. The serving container is whichever the probe copies (the
    # webhook picked it with the facts it had then).
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)] or [None]
    problems = [injection_problem(spec, c, probe_image, install_command) for c in containers]
    if None not in problems:
        return None, problems[0]
    return read_pod_probe(pod), None


def _spec_image(pod: dict[str, Any]) -> Optional[str]:
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        if container.get("name") == A.PROBE_CONTAINER:
            return container.get("image")
    return None
