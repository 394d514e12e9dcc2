"""POST /mutate: inject the probe into Pods that carry tfguard annotations, when that is safe.

The containers are built by `tfguard.workload.injection` (the operator checks reports against the
same definition). Injection is never the reason a Pod cannot be created or started: when the
injected Pod would meet a lower Pod Security level than the Pod as sent (the API server would
refuse it in a namespace that enforces that level), when the Pod runs on Windows (the probe image
is Linux), or when another container mounts the probe's volume, the Pod is admitted as it is, with
the annotation `tfguard.io/probe-skipped` and a warning that say why.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat.codes import finding
from tfguard.text import one_line
from tfguard.webhook.models import AdmissionRequest, object_problems
from tfguard.webhook.settings import WebhookSettings
from tfguard.webhook.validate import Outcome, effective_mode
from tfguard.workload import pod_security
from tfguard.workload.injection import (
    NAMES,
    foreign_probe_volume_users,
    has_probe_names,
    injection_patch,
    injection_problem,
    install_container,
    probe_container,
)
from tfguard.workload.resolve import resolve
from tfguard.workload.store import FactStore
from tfguard.workload.templates import has_user_annotations, tfguard_annotations

WARNING_LIMIT = 256


def mutate(request: AdmissionRequest, namespace_mode: str, store: FactStore, settings: WebhookSettings) -> Outcome:
    pod = request.object
    if request.kind.kind != "Pod" or request.operation != "CREATE" or not isinstance(pod, dict):
        return Outcome("skipped", mode=namespace_mode)
    if object_problems((), pod):
        return Outcome("skipped", mode=namespace_mode, audit={"inject": "malformed-object"})  # /validate says why
    metadata = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else None
    annotations = tfguard_annotations(metadata)
    if spec is None or not has_user_annotations(annotations):
        return Outcome("skipped", mode=namespace_mode)
    if annotations.get(A.INJECT, "").strip().lower() == "false":
        return Outcome("skipped", mode=namespace_mode, audit={"inject": "opted-out"})

    findings: list = []
    mode = effective_mode(namespace_mode, annotations, findings)
    resolved = resolve(spec, request.namespace, annotations, store)
    findings += resolved.findings
    if resolved.container is None:
        return Outcome("skipped", mode=mode)
    if not runs_python(resolved.stack):
        # A C++ server image (TF Serving) has no python3 to run the probe with: an init container that
        # cannot start would keep the Pod from ever running, whatever the mode.
        return Outcome("skipped", mode=mode, findings=findings, audit={"inject": "no-python-in-image"})
    install = install_container(settings.probe_image, settings.probe_install_command, spec)
    probe = probe_container(resolved.container, resolved.model.path, resolved.model.tensorflow_version,
                            resolved.loader, resolved.gpu, mode, imports=resolved.imports or ())
    if has_probe_names(spec):
        if injection_problem(spec, resolved.container, settings.probe_image, settings.probe_install_command) is None:
            # Called again (reinvocationPolicy IfNeeded) after another webhook changed the Pod: KServe's
            # appends its storage-initializer, which downloads the model, after our containers. Ours
            # move back to the end, the probe with the serving container's mounts as they are now.
            patch = reordering_patch(spec, probe)
            if patch is None:
                return Outcome("skipped", mode=mode, audit={"inject": "already-injected"})
            return Outcome("injected", mode=mode, findings=findings, audit={"inject": "moved-last"}, patch=_encode(patch))
        findings.append(finding(
            "ADMISSION_PROBE_LOOKALIKE",
            f"the Pod has containers or a volume named {', '.join(NAMES)} that tfguard did not inject; "
            "replaced with tfguard's own",
        ))

    unsafe = why_not_inject(spec, metadata, install, probe)
    if unsafe is not None:
        reason, message = unsafe
        return not_injected(metadata, mode, findings, reason, message)
    patch = injection_patch(spec, install, probe)
    return Outcome(
        "injected",
        mode=mode,
        findings=findings,
        warnings=_warnings(findings, mode),
        audit={"inject": "injected", "container": str(resolved.container.get("name", ""))[:60]},
        patch=_encode(patch),
    )


def why_not_inject(
    spec: dict[str, Any], metadata: dict[str, Any], install: dict[str, Any], probe: dict[str, Any]
) -> tuple[str, str] | None:
    """(reason, message) when injecting would keep the Pod from being created or started."""
    os_name = (spec.get("os") or {}).get("name") if isinstance(spec.get("os"), dict) else None
    node_os = (spec.get("nodeSelector") or {}).get("kubernetes.io/os") if isinstance(spec.get("nodeSelector"), dict) else None
    if "windows" in (os_name, node_os):
        return "windows-pod", "the Pod runs on Windows and the probe image is a Linux image"
    foreign = foreign_probe_volume_users(spec)
    if foreign:
        return "probe-volume-in-use", f"containers {', '.join(foreign[:4])} mount the volume {A.PROBE_VOLUME} tfguard needs"
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    before = pod_security.level(spec, annotations)
    # The patch adds these two containers and an emptyDir volume (allowed at every level), and may drop
    # look-alikes: the Pod's level with the probe is lower than before only if one of the two is.
    after = min((pod_security.container_level(c, spec, annotations) for c in (install, probe)),
                key=pod_security.LEVELS.index)
    if pod_security.LEVELS.index(after) < pod_security.LEVELS.index(before):
        return (
            f"pod-security-{before}",
            f"the Pod meets the Pod Security level {before!r}, and with the probe it would only meet {after!r}: "
            "a namespace that enforces that level would refuse it",
        )
    return None


def not_injected(metadata: dict[str, Any], mode: str, findings: list, reason: str, message: str) -> Outcome:
    skipped = finding("ADMISSION_PROBE_NOT_INJECTED", f"no probe injected: {message}", reason=reason)
    findings = [*findings, skipped]
    # The only change: an annotation saying why (the operator turns it into an Event on the workload).
    key = "/metadata/annotations/" + A.PROBE_SKIPPED.replace("~", "~0").replace("/", "~1")
    patch = (
        [{"op": "add", "path": key, "value": one_line(message, 250)}]
        if isinstance(metadata.get("annotations"), dict)
        else [{"op": "add", "path": "/metadata/annotations", "value": {A.PROBE_SKIPPED: one_line(message, 250)}}]
    )
    return Outcome("skipped", mode=mode, findings=findings, warnings=_warnings(findings, mode),
                   audit={"inject": reason}, patch=_encode(patch))


def _warnings(findings: list, mode: str) -> list[str]:
    if mode == "audit":
        return []
    return [one_line(f"tfguard [{f.code}]: {f.message}", WARNING_LIMIT)
            for f in findings if f.code in ("ADMISSION_PROBE_NOT_INJECTED", "ADMISSION_PROBE_LOOKALIKE")]


def _encode(patch: list[dict[str, Any]]) -> str:
    return base64.b64encode(json.dumps(patch, separators=(",", ":")).encode()).decode()


def runs_python(stack) -> bool:
    """False for stacks known to have no Python: StackFacts.loaders is None for a Python TF stack and
    ["serving"] for TF Serving, a C++ server."""
    return stack.loaders is None or "keras" in stack.loaders


def reordering_patch(spec: dict[str, Any], probe: dict[str, Any]) -> Optional[list[dict[str, Any]]]:
    """None when tfguard's init containers already come last with the probe up to date; else one
    JSONPatch that puts them last (a Pod's init containers run in order)."""
    init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    existing = {c.get("name"): c for c in init if c.get("name") in NAMES}
    current = dict(existing[A.PROBE_CONTAINER])
    fresh = {**current, "volumeMounts": probe["volumeMounts"]}
    wanted = [c for c in init if c.get("name") not in NAMES] + [existing[A.PROBE_INSTALL_CONTAINER], fresh]
    if wanted == init:
        return None
    return [{"op": "replace", "path": "/spec/initContainers", "value": wanted}]
