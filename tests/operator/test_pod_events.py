"""On the real control plane: the operator's Events never contradict what happened to the workload.

A Deployment admitted into a namespace that enforces the Pod Security level `restricted`, whose
template does not meet it, gets no Pod: the ReplicaSet controller is refused on every try. The
operator then says so (TFGuardPodsRejected, with the API server's reason) and never records that
the model is compatible. And a Pod the webhook admitted without its probe (it could not be injected
safely) becomes an Event on its Deployment. The operator runs as `tfguard operator run`.
"""

from __future__ import annotations

import pytest

from tfguard import annotations as A

from operator_helpers import annotations_of, tfguard_events, wait_for_pod

pytestmark = pytest.mark.cluster

IMAGE = "tensorflow/tensorflow:2.15.1"  # the catalog knows it: with a 2.15.1 model, the verdict is compatible
MODEL = {A.MODEL_PATH: "/models/m", A.MODEL_PRODUCER_VERSION: "2.15.1"}


def deployment(namespace: str, name: str, template_annotations: dict[str, str]) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": MODEL},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": template_annotations},
                              "spec": {"containers": [{"name": "server", "image": IMAGE}]}}},
    }


def test_no_compatible_event_while_the_pods_are_refused(operator, namespace, crds):
    cp = crds
    cp.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    op = operator("--standalone")
    cp.apply(deployment(namespace, "refused", {}))  # no securityContext: not `restricted`

    events = cp.wait_for(lambda: tfguard_events(cp, namespace, "refused"), timeout=90, what="the operator's Event")
    assert [e["reason"] for e in events] == ["TFGuardPodsRejected"], [(e["reason"], e["message"]) for e in events]
    assert events[0]["type"] == "Warning"
    assert "PodSecurity" in events[0]["message"] and "OPERATOR_PODS_REJECTED" in events[0]["message"]
    notes = annotations_of(cp, namespace, "deployment", "refused")
    assert notes[A.REASON].startswith("pods rejected:")

    # Once the namespace lets the Pods in, the verdict on the model is the news.
    cp.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce-", "--overwrite")
    cp.kubectl("rollout", "restart", "deployment/refused", "-n", namespace)
    wait_for_pod(cp, namespace, "refused", timeout=120)
    cp.wait_for(lambda: "TFGuardCompatible" in [e["reason"] for e in tfguard_events(cp, namespace, "refused")],
                timeout=120, what="the compatible Event once Pods exist")
    op.assert_running()


def test_a_pod_admitted_without_its_probe_is_an_event_on_its_deployment(operator, namespace, crds):
    cp = crds
    op = operator("--standalone")
    why = "the Pod runs on Windows and the probe image is a Linux image"
    # What the webhook writes on a Pod it could not inject: here the template carries it, so the Pod does.
    cp.apply(deployment(namespace, "skipped", {**MODEL, A.PROBE_SKIPPED: why}))
    wait_for_pod(cp, namespace, "skipped")
    events = cp.wait_for(
        lambda: [e for e in tfguard_events(cp, namespace, "skipped") if e["reason"] == "TFGuardProbeNotInjected"],
        timeout=60, what="the Event on the Deployment")
    assert why in events[0]["message"] and events[0]["involvedObject"]["kind"] == "Deployment"
    op.assert_running()
