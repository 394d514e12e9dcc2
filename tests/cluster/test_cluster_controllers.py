"""The local control plane runs the real controllers: Deployments become ReplicaSets and Pods,
garbage collection follows owner references, and deleting a namespace empties and removes it."""

import json
import uuid

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "tensorflow/serving:2.15.0"}]},
        },
    },
}


def items(cp, kind, namespace):
    return json.loads(cp.kubectl("get", kind, "-n", namespace, "-o", "json").stdout)["items"]


def test_deployment_gets_replicaset_and_pods_and_namespace_deletes_cleanly(control_plane):
    cp = control_plane
    ns = f"controllers-{uuid.uuid4().hex[:6]}"
    cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cp.wait_for(lambda: cp.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
                what="default service account")

    cp.apply(DEPLOYMENT, "-n", ns)

    replicasets = cp.wait_for(lambda: items(cp, "replicasets", ns), what="a ReplicaSet")
    assert replicasets[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = cp.wait_for(lambda: len(items(cp, "pods", ns)) == 2 and items(cp, "pods", ns), what="two Pods")
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in pods} == {replicasets[0]["metadata"]["name"]}
    # No scheduler and no kubelet: pods are created but never run.
    assert {p["status"].get("phase") for p in pods} == {"Pending"}

    cp.kubectl("delete", "namespace", ns, "--wait=false")
    cp.wait_for(
        lambda: cp.kubectl("get", "namespace", ns, check=False).returncode != 0,
        timeout=120, what=f"namespace {ns} to be deleted",
    )


def test_garbage_collector_removes_what_a_deleted_deployment_owned(control_plane, namespace):
    cp = control_plane
    cp.apply(DEPLOYMENT, "-n", namespace)
    cp.wait_for(lambda: items(cp, "pods", namespace), what="Pods")

    cp.kubectl("delete", "deployment", "web", "-n", namespace, "--cascade=background")

    cp.wait_for(lambda: not items(cp, "replicasets", namespace), what="ReplicaSets to be collected")
    cp.wait_for(lambda: not items(cp, "pods", namespace), what="Pods to be collected")


def test_set_pod_status_writes_what_a_kubelet_would(control_plane, namespace):
    cp = control_plane
    cp.apply({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
        "spec": {
            "initContainers": [{"name": "tfguard-probe", "image": "tensorflow/tensorflow:2.15.0"}],
            "containers": [{"name": "main", "image": "tensorflow/tensorflow:2.15.0"}],
        },
    }, "-n", namespace)

    cp.set_pod_status(namespace, "probe", {
        "initContainerStatuses": [{
            "name": "tfguard-probe", "image": "tensorflow/tensorflow:2.15.0", "imageID": "", "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "message": '{"tf": "2.15.0"}'}},
        }],
    })

    status = cp.get("pod", "probe", namespace)["status"]
    assert status["initContainerStatuses"][0]["state"]["terminated"]["message"] == '{"tf": "2.15.0"}'
