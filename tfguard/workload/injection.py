"""The probe tfguard injects into a Pod, and how to tell a Pod tfguard really injected.

Two init containers, appended after the Pod's own (which may be what downloads the model):

  tfguard-probe-install  the probe image; copies probe.py into a shared emptyDir. Hardened so it
                         meets the Pod Security `restricted` level on its own: whatever level the
                         Pod meets before injection, it still meets after.
  tfguard-probe          the serving container's own image, volume mounts (read-only), env,
                         security context and resources; runs probe.py against the model, so the
                         probe sees exactly what the server will and is exactly as privileged.

The webhook builds them (`install_container`, `probe_container`); the operator accepts a probe
report only from a Pod whose probe containers are exactly these (`injection_problem`), so a
container that merely borrows the name `tfguard-probe` cannot feed tfguard facts.
"""

from __future__ import annotations

import posixpath
from typing import Any, Optional

from tfguard import annotations as A

PROBE_SCRIPT = f"{A.PROBE_MOUNT_PATH}/probe.py"
PROBE_VOLUME = {"name": A.PROBE_VOLUME, "emptyDir": {"sizeLimit": "16Mi"}}
INSTALL_USER = 65532  # the probe image's own USER (Dockerfile); numeric, so runAsNonRoot is checkable
# The probe's flags the webhook passes (tfguard/probes/probe.py add_arguments): name -> takes a value.
PROBE_FLAGS = {"--model": True, "--expected-producer": True, "--loader": True, "--gpu": True, "--mode": True,
               "--import": True, "--json": False}
# What the probe container copies from the serving container, whole.
COPIED = ("imagePullPolicy", "env", "envFrom", "resources", "securityContext", "volumeDevices")
NAMES = (A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER)


def install_container(probe_image: str, command: tuple[str, ...] | list[str], pod_spec: dict[str, Any]) -> dict[str, Any]:
    """The init container that copies probe.py: `restricted` by itself (no privilege escalation, no
    capabilities, non-root, RuntimeDefault seccomp, read-only root), whatever the Pod says."""
    pod_context = pod_spec.get("securityContext") if isinstance(pod_spec.get("securityContext"), dict) else {}
    user = pod_context.get("runAsUser")
    return {
        "name": A.PROBE_INSTALL_CONTAINER,
        "image": probe_image,
        "command": list(command),
        "volumeMounts": [{"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH}, *_token_mount(pod_spec)],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            # The Pod's own non-root user where it names one (its fsGroup and policies expect it),
            # else the probe image's.
            "runAsUser": user if isinstance(user, int) and not isinstance(user, bool) and user > 0 else INSTALL_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


# Where the ServiceAccount admission plugin mounts a Pod's API token into each of its containers.
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def _token_mount(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The API token mount the Pod's containers already have (the plugin ran before the webhooks),
    for the install container. Without it the plugin adds it when the API server re-runs the in-tree
    plugins after tfguard's change, and that change calls tfguard's webhook once more for every Pod
    (reinvocationPolicy IfNeeded): a third of the admissions a Pod costs."""
    for container in pod_spec.get("containers") or []:
        for mount in (container.get("volumeMounts") or []) if isinstance(container, dict) else []:
            if isinstance(mount, dict) and mount.get("mountPath") == TOKEN_MOUNT_PATH and isinstance(mount.get("name"), str):
                return [{"name": mount["name"], "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
    return []


def probe_container(
    serving: dict[str, Any],
    model_path: Optional[str],
    expected_producer: Optional[str],
    loader: str,
    gpu: str,
    mode: str,
    imports: tuple[str, ...] = (),
) -> dict[str, Any]:
    args = ["python3", PROBE_SCRIPT]
    if model_path:
        args += ["--model", model_path]
    if expected_producer:
        args += ["--expected-producer", expected_producer]
    for module in imports:
        args += ["--import", module]
    args += ["--loader", loader, "--gpu", gpu, "--mode", mode if mode in A.MODES else "warn", "--json"]
    container: dict[str, Any] = {
        "name": A.PROBE_CONTAINER,
        "image": serving.get("image", ""),
        "command": args,
        "volumeMounts": probe_mounts(serving),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    for key in COPIED:
        if serving.get(key):
            container[key] = serving[key]
    return container


def probe_mounts(serving: dict[str, Any]) -> list[dict[str, Any]]:
    """The serving container's mounts, read-only, then the probe volume. A mount at, under or above
    /tfguard would hide or replace probe.py, so none is carried over."""
    mounts = [
        {**m, "readOnly": True}
        for m in serving.get("volumeMounts") or []
        if isinstance(m, dict) and not _overlaps_probe(m.get("mountPath"))
    ]
    mounts.append({"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH, "readOnly": True})
    return mounts


def _overlaps_probe(path: Any) -> bool:
    if not isinstance(path, str):
        return True
    clean = posixpath.normpath("/" + path.strip().lstrip("/"))
    return clean == A.PROBE_MOUNT_PATH or clean.startswith(A.PROBE_MOUNT_PATH + "/") or \
        A.PROBE_MOUNT_PATH.startswith(clean.rstrip("/") + "/")


def injection_patch(spec: dict[str, Any], install: dict[str, Any], probe: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSONPatch against the Pod exactly as the API server sent it (arrays may be absent). Look-alikes
    (containers or a volume that carry tfguard's names but were not injected by it) are replaced."""
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    if any(c.get("name") in NAMES for c in inits) or any(v.get("name") == A.PROBE_VOLUME for v in volumes):
        return [
            {"op": "add", "path": "/spec/volumes", "value": [v for v in volumes if v.get("name") != A.PROBE_VOLUME] + [PROBE_VOLUME]},
            {"op": "add", "path": "/spec/initContainers", "value": [c for c in inits if c.get("name") not in NAMES] + [install, probe]},
        ]
    patch: list[dict[str, Any]] = []
    if spec.get("volumes"):
        patch.append({"op": "add", "path": "/spec/volumes/-", "value": PROBE_VOLUME})
    else:
        patch.append({"op": "add", "path": "/spec/volumes", "value": [PROBE_VOLUME]})
    if spec.get("initContainers"):
        patch += [
            {"op": "add", "path": "/spec/initContainers/-", "value": install},
            {"op": "add", "path": "/spec/initContainers/-", "value": probe},
        ]
    else:
        patch.append({"op": "add", "path": "/spec/initContainers", "value": [install, probe]})
    return patch


def has_probe_names(spec: dict[str, Any]) -> bool:
    inits = spec.get("initContainers") or []
    volumes = spec.get("volumes") or []
    return any(isinstance(c, dict) and c.get("name") in NAMES for c in inits) or any(
        isinstance(v, dict) and v.get("name") == A.PROBE_VOLUME for v in volumes
    )


def foreign_probe_volume_users(spec: dict[str, Any]) -> list[str]:
    """Containers other than tfguard's own that mount the probe volume: they could rewrite probe.py
    (a native sidecar keeps running while later init containers start)."""
    users = []
    for section in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(section) or []:
            if not isinstance(c, dict) or (section == "initContainers" and c.get("name") in NAMES):
                continue
            for m in c.get("volumeMounts") or []:
                if isinstance(m, dict) and m.get("name") == A.PROBE_VOLUME:
                    users.append(str(c.get("name"))[:63])
    return users


def injection_problem(
    spec: dict[str, Any], serving: Optional[dict[str, Any]], probe_image: str, install_command: tuple[str, ...] | list[str]
) -> Optional[str]:
    """Why this Pod's probe containers are not exactly what tfguard injects (None when they are).

    The values of the probe's flags (mode, expected producer) depend on what the webhook knew at
    admission; everything that decides which code runs is checked: the images, the commands, and
    the script's volume (an emptyDir only tfguard's two containers mount, at /tfguard, with nothing
    mounted at, under or above it). Other mounts and env are not: the API server's ServiceAccount
    plugin and other webhooks add theirs to every container, and the serving container's are the
    tenant's to choose anyway (docs/threat-model.md).
    """
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    by_name = {c.get("name"): (i, c) for i, c in enumerate(inits)}
    if A.PROBE_INSTALL_CONTAINER not in by_name or A.PROBE_CONTAINER not in by_name:
        return "tfguard's two probe init containers are not both there"
    (i_install, install), (i_probe, probe) = by_name[A.PROBE_INSTALL_CONTAINER], by_name[A.PROBE_CONTAINER]
    if sum(1 for c in inits if c.get("name") in NAMES) != 2 or i_install > i_probe:
        return "the probe init containers are not in the order tfguard injects them"
    if install.get("image") != probe_image:
        return f"the install container runs image {str(install.get('image'))[:120]!r}, not tfguard's probe image"
    if list(install.get("command") or []) != list(install_command) or install.get("args"):
        return "the install container does not run tfguard's copy command"
    problem = _script_mount_problem(install, read_only=False)
    if problem:
        return f"the install container {problem}"
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("name") == A.PROBE_VOLUME]
    if len(volumes) != 1 or set(volumes[0]) != {"name", "emptyDir"}:
        return "the probe volume is not an emptyDir"
    if foreign_probe_volume_users(spec):
        return f"other containers mount the probe volume: {', '.join(foreign_probe_volume_users(spec)[:5])}"
    if serving is None:
        return "the Pod has no serving container"
    if probe.get("image") != serving.get("image"):
        return "the probe does not run the serving container's image"
    if probe.get("args") or probe.get("workingDir") or probe.get("lifecycle"):
        return "the probe container sets args, workingDir or lifecycle hooks tfguard never sets"
    problem = _command_problem(probe.get("command"))
    if problem:
        return problem
    problem = _script_mount_problem(probe, read_only=True)
    return f"the probe container {problem}" if problem else None


def _script_mount_problem(container: dict[str, Any], read_only: bool) -> Optional[str]:
    """Whether /tfguard is the probe volume, whole, and nothing else hides or replaces part of it."""
    mounts = [m for m in container.get("volumeMounts") or [] if isinstance(m, dict)]
    ours = [m for m in mounts if m.get("name") == A.PROBE_VOLUME]
    if len(ours) != 1 or ours[0].get("mountPath") != A.PROBE_MOUNT_PATH or ours[0].get("subPath") or ours[0].get("subPathExpr"):
        return f"does not mount the probe volume, whole, at {A.PROBE_MOUNT_PATH}"
    if read_only and not ours[0].get("readOnly"):
        return "mounts the probe volume writable"
    if any(_overlaps_probe(m.get("mountPath")) for m in mounts if m is not ours[0]):
        return f"mounts something else at, under or above {A.PROBE_MOUNT_PATH}"
    return None


def _command_problem(command: Any) -> Optional[str]:
    if not isinstance(command, list) or command[:2] != ["python3", PROBE_SCRIPT]:
        return f"the probe container does not run `python3 {PROBE_SCRIPT}`"
    rest, i = command[2:], 0
    while i < len(rest):
        flag = rest[i]
        if flag not in PROBE_FLAGS:
            return f"the probe is run with a flag tfguard never passes: {str(flag)[:60]!r}"
        i += 2 if PROBE_FLAGS[flag] else 1
    return None if i == len(rest) else "the probe's command line is cut short"
