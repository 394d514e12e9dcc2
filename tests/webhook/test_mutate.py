"""POST /mutate injects the probe into annotated Pods; the JSONPatch applies to the Pod as sent."""

from __future__ import annotations

import base64
import json

import jsonpatch

from tfguard import annotations as A
from tfguard.workload.injection import PROBE_SCRIPT

from webhook_documents import MODEL, admission_review, pod, pod_spec


def patched(webhook, obj):
    response = webhook.review(admission_review(obj), "/mutate")
    assert response["allowed"] is True
    if "patch" not in response:
        return response, obj
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    return response, jsonpatch.apply_patch(obj, patch)


def init_containers(obj):
    return {c["name"]: c for c in obj["spec"].get("initContainers", [])}


def test_annotated_pod_gets_the_install_and_probe_init_containers(webhook):
    obj = pod({**MODEL, A.MODEL_LOADER: "saved_model"})
    response, result = patched(webhook, obj)
    inits = init_containers(result)
    assert list(inits) == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]

    install = inits[A.PROBE_INSTALL_CONTAINER]
    assert install["image"] == webhook.settings.probe_image
    assert {"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH} in install["volumeMounts"]

    probe = inits[A.PROBE_CONTAINER]
    server = result["spec"]["containers"][0]
    assert probe["image"] == server["image"]
    assert probe["command"][:2] == ["python3", PROBE_SCRIPT]
    args = probe["command"]
    assert args[args.index("--model") + 1] == "/models/resnet/1"
    assert args[args.index("--expected-producer") + 1] == "2.15.1"
    assert args[args.index("--loader") + 1] == "saved_model"
    assert args[args.index("--gpu") + 1] == "none"
    assert "--json" in args
    assert probe["env"] == server["env"]
    assert probe["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in probe["volumeMounts"]
    assert {"name": A.PROBE_VOLUME, "mountPath": A.PROBE_MOUNT_PATH, "readOnly": True} in probe["volumeMounts"]
    assert any(v["name"] == A.PROBE_VOLUME and "emptyDir" in v for v in result["spec"]["volumes"])
    assert response["auditAnnotations"]["inject"] == "injected"


def test_the_probe_imports_what_the_server_imports_before_it_loads(webhook):
    _, result = patched(webhook, pod({**MODEL, A.MODEL_IMPORTS: "tensorflow_text, my_models.layers"}))
    args = init_containers(result)[A.PROBE_CONTAINER]["command"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--import"] == ["tensorflow_text", "my_models.layers"]


def test_patch_applies_when_the_pod_has_no_volumes_and_no_init_containers(webhook):
    spec = {"containers": [{"name": "server", "image": "tensorflow/tensorflow:2.15.1"}]}
    _, result = patched(webhook, pod(MODEL, spec))
    assert [v["name"] for v in result["spec"]["volumes"]] == [A.PROBE_VOLUME]
    assert list(init_containers(result)) == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]


def test_probe_runs_after_the_pods_own_init_containers(webhook):
    spec = pod_spec(initContainers=None)
    spec["initContainers"] = [{"name": "fetch-model", "image": "busybox", "command": ["true"]}]
    _, result = patched(webhook, pod(MODEL, spec))
    assert list(init_containers(result)) == ["fetch-model", A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]


def test_probe_gets_the_serving_containers_gpus(webhook):
    spec = pod_spec(resources={"limits": {"nvidia.com/gpu": "1", "memory": "8Gi"}})
    _, result = patched(webhook, pod(MODEL, spec))
    probe = init_containers(result)[A.PROBE_CONTAINER]
    assert probe["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert probe["command"][probe["command"].index("--gpu") + 1] == "required"


def test_named_container_is_the_one_probed(webhook):
    spec = pod_spec()
    spec["containers"].insert(0, {"name": "proxy", "image": "envoyproxy/envoy:v1.30"})
    _, result = patched(webhook, pod({**MODEL, A.CONTAINER: "server"}, spec))
    assert init_containers(result)[A.PROBE_CONTAINER]["image"] == "tensorflow/tensorflow:2.15.1"


def test_injection_is_idempotent(webhook):
    _, once = patched(webhook, pod(MODEL))
    response, twice = patched(webhook, once)
    assert "patch" not in response
    assert twice == once


def test_pods_without_tfguard_annotations_are_left_alone(webhook):
    response, result = patched(webhook, pod({"prometheus.io/scrape": "true"}))
    assert "patch" not in response and "initContainers" not in result["spec"]


def test_opt_out_is_respected(webhook):
    response, _ = patched(webhook, pod({**MODEL, A.INJECT: "false"}))
    assert "patch" not in response
    assert response["auditAnnotations"]["inject"] == "opted-out"


def test_pods_in_excluded_namespaces_are_left_alone(webhook):
    obj = pod(MODEL)
    obj["metadata"]["namespace"] = "kube-system"
    response, _ = patched(webhook, obj)
    assert "patch" not in response


def test_probe_mode_follows_the_namespace_mode(webhook):
    _, result = patched_with_mode(webhook, pod(MODEL), "enforce")
    args = init_containers(result)[A.PROBE_CONTAINER]["command"]
    assert args[args.index("--mode") + 1] == "enforce"


def patched_with_mode(webhook, obj, mode):
    with webhook.client() as client:
        response = client.post(f"/mutate/{mode}", json=admission_review(obj)).json()["response"]
    return response, jsonpatch.apply_patch(obj, json.loads(base64.b64decode(response["patch"])))


def test_images_without_python_get_no_probe(webhook):
    # TF Serving is a C++ server: no python3 to run the probe with, and an init container that cannot
    # start would keep the Pod from running at all.
    response, result = patched(webhook, pod(MODEL, pod_spec("tensorflow/serving:2.15.0")))
    assert "patch" not in response and "initContainers" not in result["spec"]
    assert response["auditAnnotations"]["inject"] == "no-python-in-image"


# --- injection is never the reason a Pod cannot be created or started ---


def test_the_install_container_meets_the_restricted_pod_security_level_by_itself(webhook):
    from tfguard.workload import pod_security

    _, result = patched(webhook, pod(MODEL, pod_spec(securityContext={
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"}})))
    install = init_containers(result)[A.PROBE_INSTALL_CONTAINER]
    assert pod_security.container_level(install, result["spec"]) == "restricted"
    assert pod_security.level(result["spec"]) == "restricted"


def test_a_windows_pod_gets_no_probe_and_an_annotation_that_says_why(webhook):
    spec = pod_spec()
    spec["os"] = {"name": "windows"}
    response, result = patched(webhook, pod(MODEL, spec))
    assert "initContainers" not in result["spec"]
    assert "Windows" in result["metadata"]["annotations"][A.PROBE_SKIPPED]
    assert response["auditAnnotations"]["inject"] == "windows-pod"
    assert any("ADMISSION_PROBE_NOT_INJECTED" in w for w in response["warnings"])


def test_a_sidecar_that_mounts_the_probe_volume_means_no_probe(webhook):
    spec = pod_spec()
    spec["initContainers"] = [{"name": "agent", "image": "busybox", "restartPolicy": "Always",
                               "volumeMounts": [{"name": A.PROBE_VOLUME, "mountPath": "/shared"}]}]
    spec["volumes"].append({"name": A.PROBE_VOLUME, "emptyDir": {}})
    response, result = patched(webhook, pod(MODEL, spec))
    assert [c["name"] for c in result["spec"]["initContainers"]] == ["agent"]
    assert response["auditAnnotations"]["inject"] == "probe-volume-in-use"


def test_a_mount_over_the_probe_script_is_not_carried_into_the_probe(webhook):
    spec = pod_spec()
    spec["containers"][0]["volumeMounts"].append({"name": "models", "mountPath": "/tfguard/probe.py", "subPath": "fake.py"})
    _, result = patched(webhook, pod(MODEL, spec))
    mounts = init_containers(result)[A.PROBE_CONTAINER]["volumeMounts"]
    assert [m["mountPath"] for m in mounts if m["mountPath"].startswith("/tfguard")] == ["/tfguard"]


# --- a Pod that looks injected but was not ---


def test_hand_made_probe_containers_are_replaced_with_tfguards_own(webhook):
    spec = pod_spec()
    spec["initContainers"] = [
        {"name": "fetch-model", "image": "busybox"},
        {"name": A.PROBE_CONTAINER, "image": "tensorflow/tensorflow:2.15.1", "command": ["sh", "-c", "echo forged"]},
    ]
    spec["volumes"].append({"name": A.PROBE_VOLUME, "hostPath": {"path": "/"}})
    response, result = patched(webhook, pod(MODEL, spec))
    inits = init_containers(result)
    assert list(inits) == ["fetch-model", A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]
    assert inits[A.PROBE_CONTAINER]["command"][:2] == ["python3", PROBE_SCRIPT]
    assert [v for v in result["spec"]["volumes"] if v["name"] == A.PROBE_VOLUME] == [
        {"name": A.PROBE_VOLUME, "emptyDir": {"sizeLimit": "16Mi"}}]
    assert "ADMISSION_PROBE_LOOKALIKE" in response["auditAnnotations"]["codes"]


def test_a_reinvocation_after_another_webhook_defaulted_our_containers_changes_nothing(webhook):
    _, once = patched(webhook, pod(MODEL))
    for container in once["spec"]["initContainers"]:  # what the API server adds between two webhooks
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("imagePullPolicy", "IfNotPresent")
    response, twice = patched(webhook, once)
    assert "patch" not in response and response["auditAnnotations"]["inject"] == "already-injected"
