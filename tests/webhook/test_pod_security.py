"""On the real API server: injecting the probe never lowers a Pod's Pod Security level.

PodSecurity admission runs in the API server when a Pod is created, after the mutating webhooks: the
ReplicaSet controller (kube-controller-manager) creates the Pods, and a Pod the namespace's level
refuses is never created (the Deployment is admitted all the same, and nothing tells its owner).
These tests run the chart's own webhook configurations against the real webhook, in namespaces that
enforce each level. No kubelet is needed: that a Pod exists, with the probe, is the property.
(tests/e2e runs the same Pods on a real node once it has one.)
"""

from __future__ import annotations

import json
import uuid

import pytest
import yaml

from tfguard import annotations as A
from tfguard.workload import pod_security

from conftest import wait_until_injecting

IMAGE = "tensorflow/tensorflow:2.15.1"  # in the catalog: a Python TF stack, so the probe is injected
MODEL = {A.MODEL_PATH: "/models/resnet/1", A.MODEL_PRODUCER_VERSION: "2.15.1"}
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def restricted_pod_spec() -> dict:
    """Meets `restricted` with the settings at the pod level where the pod level can hold them."""
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "server", "image": IMAGE,
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "models", "mountPath": "/models"}]}],
        "volumes": [{"name": "models", "emptyDir": {}}],
    }


def baseline_pod_spec() -> dict:
    """Meets `baseline` (nothing privileged) but not `restricted` (no security context at all)."""
    return {"containers": [{"name": "server", "image": IMAGE}]}


def deployment(namespace: str, name: str, spec: dict) -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": MODEL}, "spec": spec}},
    })


def label(cp, namespace: str, **labels: str) -> None:
    cp.kubectl("label", "namespace", namespace, "--overwrite", *(f"{k}={v}" for k, v in labels.items()))


def pod_of(cp, namespace: str, app: str) -> dict:
    def first():
        pods = json.loads(cp.kubectl("get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "json").stdout)["items"]
        return pods[0] if pods else None

    def why_not() -> str:
        rs = json.loads(cp.kubectl("get", "replicasets", "-n", namespace, "-o", "json").stdout)["items"]
        return "; ".join(c.get("message", "") for r in rs for c in (r.get("status") or {}).get("conditions") or [])

    try:
        return cp.wait_for(first, timeout=90, what=f"a Pod of {app} from the ReplicaSet controller")
    except TimeoutError as exc:
        raise AssertionError(f"no Pod was created: {why_not()}") from exc


def init_containers(pod: dict) -> dict:
    return {c["name"]: c for c in pod["spec"].get("initContainers") or []}


@pytest.mark.parametrize("level", ["privileged", "baseline", "restricted"])
def test_a_restricted_pod_gets_the_probe_and_is_created_at_every_level(control_plane, namespace, chart_webhook, level):
    chart_webhook()
    label(control_plane, namespace, **{"tfguard.io/mode": "warn", "pod-security.kubernetes.io/enforce": level})
    wait_until_injecting(control_plane, namespace)
    control_plane.kubectl("apply", "-f", "-", input=deployment(namespace, "psa", restricted_pod_spec()))

    pod = pod_of(control_plane, namespace, "psa")
    inits = init_containers(pod)
    assert list(inits) == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]
    assert pod_security.level(pod["spec"], pod["metadata"].get("annotations")) == "restricted"
    install = inits[A.PROBE_INSTALL_CONTAINER]["securityContext"]
    assert install["allowPrivilegeEscalation"] is False and install["capabilities"] == {"drop": ["ALL"]}
    assert install["runAsUser"] == 1000  # the Pod's own user, not one the namespace's policy never expected


def test_a_baseline_pod_gets_the_probe_in_a_baseline_namespace(control_plane, namespace, chart_webhook):
    chart_webhook()
    label(control_plane, namespace, **{"tfguard.io/mode": "warn", "pod-security.kubernetes.io/enforce": "baseline"})
    wait_until_injecting(control_plane, namespace)
    control_plane.kubectl("apply", "-f", "-", input=deployment(namespace, "plain", baseline_pod_spec()))

    pod = pod_of(control_plane, namespace, "plain")
    assert list(init_containers(pod)) == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]


def test_the_probe_copies_the_serving_containers_security_context(control_plane, namespace, chart_webhook):
    chart_webhook()
    label(control_plane, namespace, **{"tfguard.io/mode": "enforce", "pod-security.kubernetes.io/enforce": "restricted"})
    wait_until_injecting(control_plane, namespace)
    spec = {"containers": [{"name": "server", "image": IMAGE, "securityContext": RESTRICTED_CONTAINER}]}
    control_plane.kubectl("apply", "-f", "-", input=deployment(namespace, "own-context", spec))

    pod = pod_of(control_plane, namespace, "own-context")
    probe = init_containers(pod)[A.PROBE_CONTAINER]
    assert probe["securityContext"] == pod["spec"]["containers"][0]["securityContext"]
    assert probe["image"] == IMAGE


def test_a_pod_that_cannot_take_the_probe_is_created_without_it_and_says_why(control_plane, namespace, chart_webhook):
    chart_webhook()
    label(control_plane, namespace, **{"tfguard.io/mode": "warn"})
    wait_until_injecting(control_plane, namespace)
    windows = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "on-windows", "namespace": namespace, "annotations": MODEL},
        "spec": {"os": {"name": "windows"}, "containers": [{"name": "server", "image": IMAGE}]},
    }
    result = control_plane.kubectl("apply", "-f", "-", input=json.dumps(windows))
    assert "ADMISSION_PROBE_NOT_INJECTED" in result.stderr, result.stderr  # a Warning: line for whoever applied it
    pod = control_plane.get("pod", "on-windows", namespace)
    assert not pod["spec"].get("initContainers")
    assert "Windows" in pod["metadata"]["annotations"][A.PROBE_SKIPPED]


SPECS = {
    "restricted at the pod level": restricted_pod_spec(),
    "restricted per container": {"containers": [{"name": "c", "image": IMAGE, "securityContext": RESTRICTED_CONTAINER}]},
    "no security context": baseline_pod_spec(),
    "runs as root": {"securityContext": {"runAsUser": 0},
                     "containers": [{"name": "c", "image": IMAGE, "securityContext": RESTRICTED_CONTAINER | {"runAsUser": 0}}]},
    "privileged": {"containers": [{"name": "c", "image": IMAGE, "securityContext": {"privileged": True}}]},
    "adds SYS_ADMIN": {"containers": [{"name": "c", "image": IMAGE, "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]},
    "adds NET_RAW": {"containers": [{"name": "c", "image": IMAGE, "securityContext": {"capabilities": {"add": ["NET_RAW"]}}}]},
    "host network": {"hostNetwork": True, "containers": [{"name": "c", "image": IMAGE}]},
    "hostPath volume": {"containers": [{"name": "c", "image": IMAGE}], "volumes": [{"name": "h", "hostPath": {"path": "/data"}}]},
    "host port": {"containers": [{"name": "c", "image": IMAGE, "ports": [{"containerPort": 80, "hostPort": 8080}]}]},
    "unconfined seccomp": {"securityContext": {"seccompProfile": {"type": "Unconfined"}},
                           "containers": [{"name": "c", "image": IMAGE}]},
    "restricted but a privileged init container": {
        **restricted_pod_spec(),
        "initContainers": [{"name": "setup", "image": "busybox", "securityContext": {"privileged": True}}],
    },
}


def test_tfguards_pod_security_levels_are_the_api_servers(control_plane):
    """tfguard.workload.pod_security (what the webhook checks an injected Pod with) against PodSecurity
    admission itself: each spec, dry-run created in namespaces that enforce each level."""
    levels = ("privileged", "baseline", "restricted")
    namespaces = {}
    for level in levels:
        name = f"psa-{level}-{uuid.uuid4().hex[:6]}"
        control_plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}})
        namespaces[level] = name
    try:
        control_plane.wait_for(lambda: all(control_plane.kubectl("get", "serviceaccount", "default", "-n", ns,
                                                                  check=False).returncode == 0 for ns in namespaces.values()),
                               what="service accounts")
        disagreements = []
        for case, spec in SPECS.items():
            admitted = []
            for level in levels:
                pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check", "namespace": namespaces[level]},
                       "spec": spec}
                done = control_plane.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
                if done.returncode == 0:
                    admitted.append(level)
                else:
                    assert "PodSecurity" in done.stderr, done.stderr
            api_server = admitted[-1]
            if pod_security.level(spec) != api_server:
                disagreements.append((case, pod_security.level(spec), api_server))
        assert not disagreements, disagreements
    finally:
        for name in namespaces.values():
            control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)
