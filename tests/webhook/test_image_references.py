"""An ImageStack recorded under the reference the kubelet reports is found by the reference a Pod
spec uses: containerd reports `docker.io/acme/model-server:3.2` for `acme/model-server:3.2`
(found on the real node, tests/e2e/test_node_pods.py)."""

from tfguard.workload.images import image_keys
from tfguard.workload.store import FactStore


def image_stack(image: str) -> dict:
    return {
        "apiVersion": "tfguard.io/v1alpha1", "kind": "ImageStack",
        "metadata": {"name": "sha256-abc", "uid": "u1"},
        "spec": {"image": image, "imageDigest": "sha256:" + "a" * 64, "references": [image],
                 "stack": {"tensorflowVersion": "2.15.1", "importOk": True}},
    }


def test_the_kubelets_reference_and_the_pod_specs_share_a_key():
    for reported, written in [("docker.io/acme/model-server:3.2", "acme/model-server:3.2"),
                              ("docker.io/library/python:3.11", "python:3.11"),
                              ("docker.io/tensorflow/tensorflow:latest", "tensorflow/tensorflow")]:
        assert set(image_keys(reported)) & set(image_keys(written)), (reported, written)


def test_another_registry_is_another_image():
    assert not set(image_keys("registry.example:5000/acme/model-server:3.2")) & set(image_keys("acme/model-server:3.2"))


def test_the_store_finds_a_stack_by_the_pod_specs_reference():
    store = FactStore()
    store.put_stack(image_stack("docker.io/acme/model-server:3.2"))
    found = store.stack_for("acme/model-server:3.2", "ml")
    assert found is not None and found.tensorflow_version == "2.15.1"
