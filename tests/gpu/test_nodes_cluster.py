"""Every node rule end to end: real Node objects with GFD/NFD labels in the real API server, the
webhook watching them, Deployments sent through `kubectl apply`.

There is no kubelet, so these Nodes are API objects only (as the scheduler and tfguard see them);
the node lifecycle controller marks them not-ready, so the test Deployments tolerate that, and a
taint of this test's own keeps every other test's workloads off them.
"""

from __future__ import annotations

import json

import pytest
import yaml

from gfd import CPUID_NO_AVX, gpu_node, nfd_labels, node

from tfguard import annotations as A

pytestmark = pytest.mark.cluster
GPU_IMAGE = "tensorflow/tensorflow:2.15.0-gpu"  # the catalog: TF 2.15, CUDA build (SASS sm_50..80, PTX compute_80)
CPU_IMAGE = "tensorflow/tensorflow:2.15.0"


@pytest.fixture
def pool(control_plane, namespace, node_webhook):
    """Nodes of this test: tainted with its namespace, deleted after."""
    taint = {"key": "tfguard.io/test-nodes", "value": namespace, "effect": "NoSchedule"}
    made: list[str] = []

    def make(*bodies):
        short = {}
        for body in bodies:
            short[body["metadata"]["name"]] = full = f"{namespace[:30]}-{body['metadata']['name']}"
            body["metadata"]["name"] = full
            body["metadata"]["labels"]["kubernetes.io/hostname"] = body["metadata"]["name"]
            body["spec"]["taints"] = [*body["spec"].get("taints", []), taint]
            made.append(body["metadata"]["name"])
        control_plane.apply(list(bodies))
        for body in bodies:  # the status (allocatable nvidia.com/gpu) is the kubelet's to write: written here
            control_plane.kubectl("patch", "node", body["metadata"]["name"], "--subresource=status", "--type=merge",
                                  "-p", json.dumps({"status": body["status"]}))
        gpus = {b["metadata"]["name"]: "nvidia.com/gpu" in b["status"]["allocatable"] for b in bodies}
        store = node_webhook.nodes

        def seen() -> bool:  # every node there, its allocatable GPUs (the status patch) too
            return all(n in store._pool_of and ("nvidia.com/gpu" in store._pools[store._pool_of[n]].resources) == g
                       for n, g in gpus.items())

        control_plane.wait_for(seen, what="the webhook's node store has the test nodes")
        return short

    yield make
    for name in made:
        control_plane.kubectl("delete", "node", name, "--ignore-not-found", check=False)


def deployment(namespace, name, image=GPU_IMAGE, gpus=1, selector=None):
    container = {"name": "serve", "image": image}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    spec = {
        "containers": [container],
        "tolerations": [{"key": "tfguard.io/test-nodes", "operator": "Exists"},
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists"},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists"}],
    }
    if selector:
        spec["nodeSelector"] = selector
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace,
                     "annotations": {A.MODEL_PRODUCER_VERSION: "2.15.1"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    })


def apply(control_plane, manifest):
    return control_plane.kubectl("apply", "-f", "-", input=manifest, check=False)


def wait_denied(control_plane, manifest):
    return control_plane.wait_for(
        lambda: (lambda r: r if r.returncode != 0 else None)(apply(control_plane, manifest)), what="denied")


def test_every_node_rule_through_kubectl_apply(control_plane, namespace, node_webhook, pool):
    names = pool(
        gpu_node("r470-1", driver="470.82.01", cuda="11.4"),
        gpu_node("r470-2", driver="470.82.01", cuda="11.4"),
        gpu_node("a100", driver="535.104.05", cuda="12.2"),
        gpu_node("h100-r525", compute="9.0", product="NVIDIA-H100-80GB-HBM3", family="hopper",
                 driver="525.60.13", cuda="12.0"),
        gpu_node("h100-r550", compute="9.0", product="NVIDIA-H100-80GB-HBM3", family="hopper",
                 driver="550.54.15", cuda="12.4"),
        gpu_node("k80", compute="3.7", product="Tesla-K80", family="kepler", driver="470.82.01", cuda="11.4"),
        node("atom", nfd_labels(CPUID_NO_AVX)),
    )
    host = lambda short: {"kubernetes.io/hostname": names[short]}  # noqa: E731

    # A driver below CUDA 12's floor on every candidate: denied, each node named.
    old = deployment(namespace, "old-driver", selector={"nvidia.com/cuda.driver-version.major": "470",
                                                         "nvidia.com/gpu.family": "ampere"})
    denied = wait_denied(control_plane, old)
    assert "[NODES_NONE_CAN_RUN]" in denied.stderr and names["r470-1"] in denied.stderr
    assert "[CUDA_DRIVER_TOO_OLD]" in denied.stderr and "525.60.13" in denied.stderr

    # Compute capability 3.7 is below 2.15's lowest target (sm_50): TF ignores the GPU.
    denied = apply(control_plane, deployment(namespace, "k80", selector=host("k80")))
    assert denied.returncode != 0 and "[GPU_COMPUTE_CAPABILITY_UNSUPPORTED]" in denied.stderr

    # Hopper has no SASS in 2.15: its PTX (ISA 8.1) needs driver 530.30.02 to JIT; 525.60.13 cannot.
    denied = apply(control_plane, deployment(namespace, "h100-old", selector=host("h100-r525")))
    assert denied.returncode != 0 and "[GPU_PTX_TOO_NEW_FOR_DRIVER]" in denied.stderr and "530.30.02" in denied.stderr

    # ... with a newer driver it JIT-compiles at startup: admitted with a warning.
    jit = apply(control_plane, deployment(namespace, "h100-new", selector=host("h100-r550")))
    assert jit.returncode == 0 and "[GPU_PTX_JIT]" in jit.stderr

    # The A100 runs the sm_80 SASS: admitted, silent.
    fine = apply(control_plane, deployment(namespace, "a100", selector=host("a100")))
    assert fine.returncode == 0 and "tfguard" not in fine.stderr

    # No selector: some of the candidates cannot run it: admitted, the others named in a warning.
    mixed = apply(control_plane, deployment(namespace, "anywhere"))
    assert mixed.returncode == 0 and "[NODES_SOME_CANNOT_RUN]" in mixed.stderr

    # A CPU without AVX: TensorFlow's import dies of SIGILL, GPU or not.
    denied = apply(control_plane, deployment(namespace, "atom", image=CPU_IMAGE, gpus=0, selector=host("atom")))
    assert denied.returncode != 0 and "[CPU_INSTRUCTIONS_MISSING]" in denied.stderr

    # A driver upgrade on the old pool (GFD relabels the nodes): the same Deployment is admitted.
    for short in ("r470-1", "r470-2"):
        control_plane.kubectl("label", "node", names[short], "--overwrite",
                              "nvidia.com/cuda.driver-version.full=550.54.15",
                              "nvidia.com/cuda.driver-version.minor=54", "nvidia.com/cuda.driver-version.revision=15")
    for short in ("r470-1", "r470-2"):
        control_plane.kubectl("label", "node", names[short], "--overwrite", "nvidia.com/cuda.driver-version.major=550")
    upgraded = deployment(namespace, "old-driver", selector={"nvidia.com/cuda.driver-version.major": "550",
                                                              "nvidia.com/gpu.family": "ampere"})
    control_plane.wait_for(lambda: apply(control_plane, upgraded).returncode == 0, what="admitted after the upgrade")
