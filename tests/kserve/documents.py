"""KServe objects as users and KServe's installation write them: InferenceServices of every shape
tfguard reads, and the serving runtimes KServe installs (their manifests, as in KServe's
config/runtimes, with the images KServe's kustomization sets)."""

from __future__ import annotations

import copy
from typing import Any, Optional

from tfguard import annotations as A

TF_SERVING_RUNTIME = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "ClusterServingRuntime",
    "metadata": {"name": "kserve-tensorflow-serving"},
    "spec": {
        "annotations": {"prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics"},
        "supportedModelFormats": [
            {"name": "tensorflow", "version": "1", "autoSelect": True, "priority": 2},
            {"name": "tensorflow", "version": "2", "autoSelect": True, "priority": 2},
        ],
        "protocolVersions": ["v1", "grpc-v1"],
        "containers": [{
            "name": "kserve-container",
            "image": "tensorflow/serving:2.6.2",
            "command": ["/usr/bin/tensorflow_model_server"],
            "args": ["--model_name={{.Name}}", "--port=9000", "--rest_api_port=8080",
                     "--model_base_path=/mnt/models", "--rest_api_timeout_in_ms=60000"],
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        }],
    },
}

TRITON_RUNTIME = {
    "apiVersion": "serving.kserve.io/v1alpha1",
    "kind": "ClusterServingRuntime",
    "metadata": {"name": "kserve-tritonserver"},
    "spec": {
        "supportedModelFormats": [
            {"name": "tensorrt", "version": "8", "autoSelect": True, "priority": 1},
            {"name": "tensorflow", "version": "1", "autoSelect": True, "priority": 1},
            {"name": "tensorflow", "version": "2", "autoSelect": True, "priority": 1},
            {"name": "onnx", "version": "1", "autoSelect": True, "priority": 1},
        ],
        "protocolVersions": ["v2", "grpc-v2"],
        "containers": [{
            "name": "kserve-container",
            "image": "nvcr.io/nvidia/tritonserver:23.05-py3",
            "args": ["tritonserver", "--model-store=/mnt/models", "--grpc-port=9000", "--http-port=8080"],
        }],
    },
}


def serving_runtime(name: str, namespace: str, image: str, priority: Optional[int] = None,
                    auto_select: bool = True, version: Optional[str] = "2", **spec: Any) -> dict[str, Any]:
    """A namespace's own ServingRuntime for TensorFlow models."""
    fmt: dict[str, Any] = {"name": "tensorflow", "autoSelect": auto_select}
    if version:
        fmt["version"] = version
    if priority is not None:
        fmt["priority"] = priority
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "supportedModelFormats": [fmt],
            "protocolVersions": ["v1"],
            "containers": [{"name": "kserve-container", "image": image,
                            "args": ["--model_name={{.Name}}", "--model_base_path=/mnt/models"]}],
            **spec,
        },
    }


def isvc_tensorflow(name: str = "flowers", namespace: str = "serving", runtime_version: Optional[str] = "2.6.2",
                    annotations: Optional[dict[str, str]] = None, **predictor: Any) -> dict[str, Any]:
    """The older shape: spec.predictor.tensorflow (KServe's defaulting webhook rewrites it, when it runs)."""
    tensorflow: dict[str, Any] = {"storageUri": "gs://kfserving-examples/models/tensorflow/flowers", **predictor}
    if runtime_version:
        tensorflow["runtimeVersion"] = runtime_version
    return _isvc(name, namespace, annotations, {"tensorflow": tensorflow})


def isvc_model(name: str = "flowers", namespace: str = "serving", version: Optional[str] = "2",
               runtime: Optional[str] = None, runtime_version: Optional[str] = None,
               annotations: Optional[dict[str, str]] = None, format_name: str = "tensorflow",
               **container: Any) -> dict[str, Any]:
    """The newer shape: spec.predictor.model with a modelFormat and an optional runtime."""
    model: dict[str, Any] = {"modelFormat": {"name": format_name}, "storageUri": "s3://models/flowers", **container}
    if version:
        model["modelFormat"]["version"] = version
    if runtime:
        model["runtime"] = runtime
    if runtime_version:
        model["runtimeVersion"] = runtime_version
    return _isvc(name, namespace, annotations, {"model": model})


def isvc_containers(name: str, namespace: str, image: str, annotations: Optional[dict[str, str]] = None) -> dict:
    return _isvc(name, namespace, annotations, {"containers": [{"name": "kserve-container", "image": image}]})


def _isvc(name, namespace, annotations, predictor) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace,
                     "annotations": dict(annotations if annotations is not None else {A.MODEL_PROFILE: "flowers"})},
        "spec": {"predictor": copy.deepcopy(predictor)},
    }


def isvc_review(obj: dict[str, Any], operation: str = "CREATE", old: Optional[dict] = None) -> dict[str, Any]:
    import uuid

    meta = obj.get("metadata", {})
    gvk = {"group": "serving.kserve.io", "version": "v1beta1", "kind": "InferenceService"}
    gvr = {"group": "serving.kserve.io", "version": "v1beta1", "resource": "inferenceservices"}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": meta.get("name", ""), "namespace": meta.get("namespace", "serving"), "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": copy.deepcopy(obj), "oldObject": copy.deepcopy(old), "dryRun": False,
        },
    }
