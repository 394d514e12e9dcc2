"""AdmissionReview v1 documents the way the API server sends them."""

from __future__ import annotations

import copy
import uuid
from typing import Any, Optional

import yaml

from tfguard import annotations as A


def pod_spec(image: str = "tensorflow/tensorflow:2.15.1", **container) -> dict[str, Any]:
    return {
        "containers": [
            {
                "name": "server",
                "image": image,
                "volumeMounts": [{"name": "models", "mountPath": "/models"}],
                "env": [{"name": "MODEL_NAME", "value": "resnet"}],
                **container,
            }
        ],
        "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}],
    }


def deployment(
    name: str = "resnet",
    annotations: Optional[dict[str, str]] = None,
    template_annotations: Optional[dict[str, str]] = None,
    spec: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "serving", "annotations": dict(annotations or {})},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": dict(template_annotations or {})},
                "spec": spec or pod_spec(),
            },
        },
    }


def pod(annotations: Optional[dict[str, str]] = None, spec: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "resnet-", "namespace": "serving", "annotations": dict(annotations or {})},
        "spec": spec or pod_spec(),
    }


GROUPS = {"Deployment": ("apps", "deployments"), "StatefulSet": ("apps", "statefulsets"),
          "DaemonSet": ("apps", "daemonsets"), "ReplicaSet": ("apps", "replicasets"),
          "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs"), "Pod": ("", "pods"),
          "ConfigMap": ("", "configmaps"), "ReplicationController": ("", "replicationcontrollers")}


def admission_review(obj: dict[str, Any], operation: str = "CREATE", old: Optional[dict] = None,
                     uid: Optional[str] = None, dry_run: bool = False) -> dict[str, Any]:
    kind = obj["kind"]
    group, resource = GROUPS[kind]
    meta = obj.get("metadata", {})
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
            "requestKind": {"group": group, "version": "v1", "kind": kind},
            "requestResource": {"group": group, "version": "v1", "resource": resource},
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", "serving"),
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": copy.deepcopy(obj),
            "oldObject": copy.deepcopy(old),
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


MODEL = {A.MODEL_PATH: "/models/resnet/1", A.MODEL_PRODUCER_VERSION: "2.15.1"}


def deployment_yaml(namespace: str, name: str, annotations: dict[str, str], image: str = "registry.example/ml/tf-server:2.15") -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [{"name": "server", "image": image,
                                         "volumeMounts": [{"name": "models", "mountPath": "/models"}]}],
                         "volumes": [{"name": "models", "emptyDir": {}}]},
            },
        },
    })
