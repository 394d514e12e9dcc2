"""What the kubelet reports as a probe container's image is the name containerd gives the image,
which need not be the reference the Pod spec used (found on the real node: `docker.io/...`, or
another tag of the same image): the probe result is the Pod spec's reference, which the webhook
looks up, with the digest the kubelet reports."""

import json

from tfguard.workload.probe_pods import read_pod_probe

REPORT = {"probe": "tfguard", "summary": 1, "status": "pass", "mode": "warn", "failed": [], "warnings": [],
          "stack": {"tensorflow_version": "2.15.1", "import_ok": True}}


def pod(spec_image: str, reported_image: str) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {"initContainers": [{"name": "tfguard-probe", "image": spec_image}], "containers": []},
        "status": {"initContainerStatuses": [{
            "name": "tfguard-probe", "image": reported_image,
            "imageID": "docker.io/acme/tf-serving@sha256:" + "a" * 64,
            "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-12-01T00:00:00Z",
                                     "message": json.dumps(REPORT)}},
        }]},
    }


def test_the_pod_specs_reference_is_recorded_not_the_one_the_kubelet_reports():
    probe = read_pod_probe(pod("acme/tf-serving:5.1", "docker.io/acme/tf-serving:latest"))
    assert probe.image == "acme/tf-serving:5.1"
    assert probe.image_digest == "sha256:" + "a" * 64
