"""Helpers of the operator's tests: images, Deployments with the probe init container, and what a
kubelet would write into a Pod's status."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def image_for(tf_version: str) -> tuple[str, str]:
    """An image reference and the digest a kubelet would report for it (no registry here: a stable fake)."""
    image = f"tensorflow/tensorflow:{tf_version}"
    return image, "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def injected_pod_spec(image: str, model_path: str = "/models/model") -> dict:
    """A pod spec with the probe exactly as tfguard's mutating webhook injects it (the operator takes
    reports from no other), for tests that run without the webhook."""
    from tfguard.settings import Injection
    from tfguard.workload.injection import PROBE_VOLUME, install_container, probe_container

    serving = {"name": "serve", "image": image}
    defaults = Injection()
    spec = {"containers": [serving]}
    return {
        **spec,
        "initContainers": [
            install_container(defaults.probe_image, defaults.probe_install_command, spec),
            probe_container(serving, model_path, None, "auto", "none", "warn"),
        ],
        "volumes": [PROBE_VOLUME],
    }


def serving_deployment(name: str, namespace: str, image: str, annotations: dict[str, str] | None = None,
                       pod_spec: dict | None = None) -> dict:
    """A Deployment whose Pods carry the probe init containers, as tfguard's mutating webhook injects them."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": {
            "tfguard.io/model-path": "/models/model", **(annotations or {})}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": pod_spec or injected_pod_spec(image),
            },
        },
    }


def wait_for_pod(cp, namespace: str, app: str, timeout: float = 60) -> str:
    def pod():
        pods = cp.get("pods", namespace=namespace).get("items", [])
        names = [p["metadata"]["name"] for p in pods if p["metadata"].get("labels", {}).get("app") == app]
        return names[0] if names else None

    return cp.wait_for(pod, timeout=timeout, what=f"a Pod of {app}")


def write_probe_status(cp, namespace: str, pod: str, image: str, digest: str, message: str, exit_code: int) -> None:
    """What the kubelet reports when the probe init container has terminated."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cp.set_pod_status(namespace, pod, {
        "phase": "Pending",
        "initContainerStatuses": [{
            "name": "tfguard-probe",
            "image": image,
            "imageID": f"docker.io/{image.split(':')[0]}@{digest}",
            "ready": exit_code == 0,
            "restartCount": 0,
            "started": False,
            "state": {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                                     "message": message, "startedAt": now, "finishedAt": now}},
        }],
    })


def annotations_of(cp, namespace: str, kind: str, name: str) -> dict[str, str]:
    return cp.get(kind, name, namespace).get("metadata", {}).get("annotations") or {}


def tfguard_events(cp, namespace: str, name: str) -> list[dict]:
    events = cp.get("events", namespace=namespace).get("items", [])
    return [e for e in events if e.get("involvedObject", {}).get("name") == name
            and (e.get("reason") or "").startswith("TFGuard")]
