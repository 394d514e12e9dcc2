"""The Pod Security Standards level a pod spec meets: `restricted`, `baseline` or `privileged`.

The API server's PodSecurity admission enforces a namespace's level when a Pod is created, after
the mutating webhooks ran. tfguard never looks namespaces up, so it cannot know the namespace's
level; what it can promise is that injection never lowers the level the Pod meets on its own
(`tfguard.workload.injection` builds containers that keep it, and the webhook checks the result
here before it answers). The checks are those of the Pod Security Standards ("latest"), Linux
Pods; tests/webhook/test_pod_security.py checks them against the real API server.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

LEVELS = ("privileged", "baseline", "restricted")  # least to most strict

_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
}
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret", "image"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _containers(spec: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for section in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(section) or []:
            if isinstance(c, dict):
                yield c


def container_level(container: dict[str, Any], spec: dict[str, Any], annotations: Optional[dict[str, Any]] = None) -> str:
    """The strictest level this container meets inside this pod spec (pod-level settings it inherits
    count, pod-level checks that concern no container do not)."""
    sc = _dict(container.get("securityContext"))
    pod = _dict(spec.get("securityContext"))
    baseline = _container_baseline(container, sc, annotations or {})
    if not baseline:
        return "privileged"
    return "restricted" if _container_restricted(sc, pod) else "baseline"


def level(spec: dict[str, Any], annotations: Optional[dict[str, Any]] = None) -> str:
    """The strictest level the whole pod spec meets."""
    annotations = annotations if isinstance(annotations, dict) else {}
    found = _pod_level(spec, annotations)
    for container in _containers(spec):
        found = min(found, container_level(container, spec, annotations), key=LEVELS.index)
        if found == "privileged":
            break
    return found


def _container_baseline(container: dict[str, Any], sc: dict[str, Any], annotations: dict[str, Any]) -> bool:
    if _dict(sc.get("windowsOptions")).get("hostProcess"):
        return False
    if sc.get("privileged"):
        return False
    added = _dict(sc.get("capabilities")).get("add") or []
    if not isinstance(added, list) or not set(map(str, added)) <= _BASELINE_CAPABILITIES:
        return False
    for port in container.get("ports") or []:
        if isinstance(port, dict) and port.get("hostPort") not in (None, 0):
            return False
    if not _selinux_ok(sc.get("seLinuxOptions")):
        return False
    if sc.get("procMount") not in (None, "Default"):
        return False
    if _dict(sc.get("seccompProfile")).get("type") == "Unconfined":
        return False
    if _dict(sc.get("appArmorProfile")).get("type") == "Unconfined":
        return False
    apparmor = annotations.get(APPARMOR_ANNOTATION + str(container.get("name")))
    if apparmor is not None and apparmor != "runtime/default" and not str(apparmor).startswith("localhost/"):
        return False
    return True


def _container_restricted(sc: dict[str, Any], pod: dict[str, Any]) -> bool:
    if sc.get("allowPrivilegeEscalation") is not False:
        return False
    non_root = sc.get("runAsNonRoot") if "runAsNonRoot" in sc else pod.get("runAsNonRoot")
    if non_root is not True:
        return False
    if sc.get("runAsUser") == 0:
        return False
    seccomp = _dict(sc.get("seccompProfile")).get("type") or _dict(pod.get("seccompProfile")).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        return False
    capabilities = _dict(sc.get("capabilities"))
    dropped = capabilities.get("drop") or []
    if not isinstance(dropped, list) or "ALL" not in dropped:
        return False
    added = capabilities.get("add") or []
    return isinstance(added, list) and set(map(str, added)) <= {"NET_BIND_SERVICE"}


def _selinux_ok(options: Any) -> bool:
    options = _dict(options)
    return options.get("type", "") in _SELINUX_TYPES and not options.get("user") and not options.get("role")


def _pod_level(spec: dict[str, Any], annotations: dict[str, Any]) -> str:
    pod = _dict(spec.get("securityContext"))
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        return "privileged"
    if _dict(pod.get("windowsOptions")).get("hostProcess"):
        return "privileged"
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    if any("hostPath" in v for v in volumes):
        return "privileged"
    if not _selinux_ok(pod.get("seLinuxOptions")):
        return "privileged"
    if _dict(pod.get("seccompProfile")).get("type") == "Unconfined":
        return "privileged"
    if _dict(pod.get("appArmorProfile")).get("type") == "Unconfined":
        return "privileged"
    if any(str(k).startswith(APPARMOR_ANNOTATION) and v != "runtime/default" and not str(v).startswith("localhost/")
           for k, v in annotations.items()):
        return "privileged"
    sysctls = pod.get("sysctls") or []
    if any(not isinstance(s, dict) or s.get("name") not in _SAFE_SYSCTLS for s in sysctls):
        return "privileged"
    if pod.get("runAsUser") == 0 or pod.get("runAsNonRoot") is False:
        return "baseline"
    for v in volumes:
        kinds = set(v) - {"name"}
        if not kinds <= _RESTRICTED_VOLUMES:
            return "baseline"
    return "restricted"
