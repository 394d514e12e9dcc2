"""POST /mutate: inject the probe into Pods that carry tfguard annotations.

Two init containers, appended after the Pod's own (which may be what downloads the model):
  tfguard-probe-install  the probe image; copies probe.py into a shared emptyDir
  tfguard-probe          the serving container's own image, volume mounts (read-only), env,
                         security context and resources; runs probe.py against the model
so the probe sees exactly what the server will. Resources are copied whole: loading the model
needs the server's memory and GPUs, and an init container's requests do not add to the Pod's
(the scheduler takes the larger of the biggest init container and the sum of the others).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.webhook.models import AdmissionRequest
from tfguard.webhook.settings import WebhookSettings
from tfguard.webhook.validate import Outcome, effective_mode
from tfguard.workload.resolve import resolve
from tfguard.workload.store import FactStore
from tfguard.workload.templates import has_user_annotations, tfguard_annotations

PROBE_SCRIPT = f"{A.PROBE_MOUNT_PATH}/probe.py"


def mutate(request: AdmissionRequest, namespace_mode: str, store: FactStore, settings: WebhookSettings) -> Outcome:
    pod = request.object
    if request.kind.kind != "Pod" or request.operation != "CREATE" or not isinstance(pod, dict):
        return Outcome("skipped", mode=namespace_mode)
    metadata = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else None
    annotations = tfguard_annotations(metadata)
    if spec is None or not has_user_annotations(annotations):
        return Outcome("skipped", mode=namespace_mode)
    if annotations.get(A.INJECT, "").strip().lower() == "false":
        return Outcome("skipped", mode=namespace_mode, audit={"inject": "opted-out"})
    names = {c.get("name") for c in (spec.get("initContainers") or []) if isinstance(c, dict)}
    volumes = {v.get("name") for v in (spec.get("volumes") or []) if isinstance(v, dict)}
    injected = bool(names & {A.PROBE_CONTAINER, A.PROBE_INSTALL_CONTAINER} or A.PROBE_VOLUME in volumes)

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
    probe = probe_container(resolved.container, resolved.model.path, resolved.model.tensorflow_version,
                            resolved.loader, resolved.gpu, mode)
    install = install_container(settings)
    if injected:
        # Called again (reinvocationPolicy IfNeeded) after another webhook changed the Pod: KServe's
        # appends its storage-initializer, which downloads the model, after our containers. Ours
        # move back to the end, the probe with the serving container's mounts as they are now.
        patch = reordering_patch(spec, probe)
        if patch is None:
            return Outcome("skipped", mode=mode, audit={"inject": "already-injected"})
        return Outcome("injected", mode=mode, findings=findings, audit={"inject": "moved-last"},
                       patch=base64.b64encode(json.dumps(patch, separators=(",", ":")).encode()).decode())
    patch = injection_patch(spec, install, probe)
    return Outcome(
        "injected",
        mode=mode,
        findings=findings,
        audit={"inject": "injected", "container": str(resolved.container.get("name", ""))[:60]},
        patch=base64.b64encode(json.dumps(patch, separators=(",", ":")).encode()).decode(),
    )


def runs_python(stack) -> bool:
    """False for stacks known to have no Python: StackFacts.loaders is None for a Python TF stack and
    ["serving"] for TF Serving, a C++ server."""
    return stack.loaders is None or "keras" in stack.loaders


def install_container(settings: WebhookSettings) -> dict[str, Any]:
    return {
        "name": A.PROBE_INSTALL_CONTAINER,
        "image": settings.probe_image,
        "command": list(settings.probe_install_command),
        "volumeMounts": [{"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def probe_container(
    serving: dict[str, Any],
    model_path: Optional[str],
    expected_producer: Optional[str],
    loader: str,
    gpu: str,
    mode: str,
) -> dict[str, Any]:
    args = ["python3", PROBE_SCRIPT]
    if model_path:
        args += ["--model", model_path]
    if expected_producer:
        args += ["--expected-producer", expected_producer]
    args += ["--loader", loader, "--gpu", gpu, "--mode", mode if mode in A.MODES else "warn", "--json"]
    mounts = [
        {**m, "readOnly": True}
        for m in serving.get("volumeMounts") or []
        if isinstance(m, dict) and m.get("mountPath") != A.PROBE_MOUNT_PATH
    ]
    mounts.append({"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH, "readOnly": True})
    container: dict[str, Any] = {
        "name": A.PROBE_CONTAINER,
        "image": serving.get("image", ""),
        "command": args,
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    for key in ("imagePullPolicy", "env", "envFrom", "resources", "securityContext", "volumeDevices"):
        if serving.get(key):
            container[key] = serving[key]
    return container


def reordering_patch(spec: dict[str, Any], probe: dict[str, Any]) -> Optional[list[dict[str, Any]]]:
    """None when tfguard's init containers already come last with the probe up to date; else one
    JSONPatch that puts them last (a Pod's init containers run in order)."""
    init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    ours = {A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER}
    existing = {c.get("name"): c for c in init if c.get("name") in ours}
    if A.PROBE_CONTAINER not in existing or A.PROBE_INSTALL_CONTAINER not in existing:
        return None  # injected by someone else, or half of it: leave it alone
    current = dict(existing[A.PROBE_CONTAINER])
    fresh = {**current, "volumeMounts": probe["volumeMounts"]}
    wanted = [c for c in init if c.get("name") not in ours] + [existing[A.PROBE_INSTALL_CONTAINER], fresh]
    if wanted == init:
        return None
    return [{"op": "replace", "path": "/spec/initContainers", "value": wanted}]


def injection_patch(spec: dict[str, Any], install: dict[str, Any], probe: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSONPatch against the Pod exactly as the API server sent it (arrays may be absent)."""
    volume = {"name": A.PROBE_VOLUME, "emptyDir": {"sizeLimit": "16Mi"}}
    patch: list[dict[str, Any]] = []
    if spec.get("volumes"):
        patch.append({"op": "add", "path": "/spec/volumes/-", "value": volume})
    else:
        patch.append({"op": "add", "path": "/spec/volumes", "value": [volume]})
    if spec.get("initContainers"):
        patch += [
            {"op": "add", "path": "/spec/initContainers/-", "value": install},
            {"op": "add", "path": "/spec/initContainers/-", "value": probe},
        ]
    else:
        patch.append({"op": "add", "path": "/spec/initContainers", "value": [install, probe]})
    return patch
