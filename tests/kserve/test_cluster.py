"""InferenceServices on the real API server with KServe's CRDs (tests/kserve/crds) and tfguard's
webhook over TLS; no KServe controller or webhook runs, so tfguard is seen working on its own:
`kubectl apply -f isvc.yaml` is denied (enforce) or warned about (warn), naming the runtime and the
image, and the probe goes after KServe's storage-initializer in the predictor's Pods."""

from __future__ import annotations

import json

import yaml

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts
from tfguard.compat.resources import model_profile_resource

from .documents import TF_SERVING_RUNTIME, TRITON_RUNTIME, isvc_model, isvc_tensorflow

NEW_OP_MODEL = ModelFacts(path="/mnt/models", format="saved_model", tensorflow_version="2.20.0", graph_producer=2000,
                          ops=["Const", "DatasetFingerprint", "Identity", "MatMul"], source="inspect")


def kubectl_apply(cp, obj):
    return cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj), check=False)


def setup(cp, namespace, register, mode):
    cp.apply([TF_SERVING_RUNTIME, TRITON_RUNTIME])
    cp.kubectl("apply", "-n", namespace, "-f", "-", check=True,
               input=json.dumps(model_profile_resource(NEW_OP_MODEL, "flowers", namespace=namespace)))
    hook = register(mode)
    cp.wait_for(lambda: hook.store.profile(namespace, "flowers") is not None
                and hook.store.runtimes.named(namespace, "kserve-tensorflow-serving") is not None,
                what="profile and runtime in the webhook's stores")
    return hook


def test_kubectl_apply_of_an_isvc_that_cannot_load_its_model_is_denied_naming_runtime_and_image(
        kserve_webhook, control_plane, namespace):
    setup(control_plane, namespace, kserve_webhook, "enforce")
    done = kubectl_apply(control_plane, isvc_tensorflow(namespace=namespace, runtime_version="2.6.2"))
    assert done.returncode != 0
    assert "tfguard denied InferenceService flowers" in done.stderr
    assert "ClusterServingRuntime kserve-tensorflow-serving" in done.stderr
    assert "tensorflow/serving:2.6.2" in done.stderr and "OP_NOT_REGISTERED" in done.stderr
    # The newer shape, auto-selected runtime: the same answer.
    done = kubectl_apply(control_plane, isvc_model(name="flowers2", namespace=namespace, version="2",
                                                   annotations={A.MODEL_PROFILE: "flowers"}))
    assert done.returncode != 0 and "kserve-tensorflow-serving" in done.stderr


def test_warn_mode_admits_with_warning_lines(kserve_webhook, control_plane, namespace):
    setup(control_plane, namespace, kserve_webhook, "warn")
    done = kubectl_apply(control_plane, isvc_model(namespace=namespace, version="2"))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning: tfguard")]
    assert warnings and "InferenceService flowers predictor on ClusterServingRuntime kserve-tensorflow-serving" in warnings[0]
    # A runtime version whose TF registers every op the model uses: admitted without warnings.
    done = kubectl_apply(control_plane, isvc_model(name="newer", namespace=namespace, version="2",
                                                   runtime_version="2.20.0"))
    assert done.returncode == 0 and "Warning: tfguard" not in done.stderr, done.stderr


def predictor_pod(namespace: str, init: list[dict]) -> dict:
    """A predictor Pod as KServe makes it (raw deployment mode): storage-initializer downloads the
    model into the kserve-provision-location emptyDir, which kserve-container reads at /mnt/models."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "flowers-predictor-", "namespace": namespace,
                     "labels": {"serving.kserve.io/inferenceservice": "flowers", "component": "predictor"},
                     "annotations": {A.MODEL_PRODUCER_VERSION: "2.15.1"}},
        "spec": {
            "initContainers": init,
            "containers": [{"name": "kserve-container", "image": "tensorflow/tensorflow:2.15.1",
                            "command": ["python3", "-m", "my_server"], "args": ["--model_base_path=/mnt/models"],
                            "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt/models",
                                              "readOnly": True}]}],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
        },
    }


def test_the_probe_runs_after_kserves_storage_initializer(kserve_webhook, control_plane, namespace):
    kserve_webhook("enforce")
    storage = {"name": "storage-initializer", "image": "kserve/storage-initializer:v0.14.1",
               "args": ["gs://models/flowers", "/mnt/models"],
               "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt/models"}]}
    created = control_plane.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(predictor_pod(namespace, [storage])))
    pod = json.loads(created.stdout)
    names = [c["name"] for c in pod["spec"]["initContainers"]]
    assert names == ["storage-initializer", A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]
    probe = pod["spec"]["initContainers"][-1]
    assert probe["image"] == "tensorflow/tensorflow:2.15.1"
    assert {"name": "kserve-provision-location", "mountPath": "/mnt/models", "readOnly": True} in probe["volumeMounts"]
    # the model path comes from the serving container's --model_base_path: the probe picks the newest version there
    assert probe["command"][probe["command"].index("--model") + 1] == "/mnt/models"
