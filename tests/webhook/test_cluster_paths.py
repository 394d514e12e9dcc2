"""Every path to a Pod is judged, through the chart's own webhook configuration on the real API server.

The chart's rules and CEL matchConditions decide what the API server sends at all; these tests use
them as rendered by the real helm (`chart_webhook`), so a path the chart forgot fails here.
"""

from __future__ import annotations

import json

import pytest

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import image_stack_resource, model_profile_resource

from conftest import wait_until_injecting

IMAGE = "registry.example/ml/tf-server:paths"
UNLOADABLE = ModelFacts(path="/models/future/1", format="saved_model", tensorflow_version="2.15.1",
                        graph_producer=1645, graph_min_consumer=10**6, ops=["Const", "Identity"])


@pytest.fixture
def enforcing(control_plane, namespace, chart_webhook):
    """An enforce namespace, an ImageStack an admin declared for IMAGE, and a ModelProfile no TF loads."""
    hook = chart_webhook()
    stack = image_stack_resource(StackFacts(image=IMAGE, image_digest="sha256:" + "5a" * 32, source="probe",
                                            tensorflow_version="2.15.1", import_ok=True), references=[IMAGE])
    control_plane.apply([stack, model_profile_resource(UNLOADABLE, "future", namespace=namespace)])
    control_plane.kubectl("label", "namespace", namespace, "tfguard.io/mode=enforce")
    control_plane.wait_for(lambda: hook.store.stack_for(IMAGE, namespace) and hook.store.profile(namespace, "future"),
                           what="facts cached by the webhook")
    wait_until_injecting(control_plane, namespace)
    yield namespace
    control_plane.kubectl("delete", "imagestack", stack["metadata"]["name"], "--ignore-not-found", check=False)


def test_a_cronjob_update_that_only_annotates_its_job_template_gets_a_verdict(control_plane, enforcing):
    namespace = enforcing
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": namespace},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "score", "image": IMAGE}]}}}}},
    }
    control_plane.apply(cronjob)  # no tfguard annotation yet: not sent, created
    patch = {"spec": {"jobTemplate": {"metadata": {"annotations": {A.MODEL_PROFILE: "future"}}}}}
    result = control_plane.kubectl("patch", "cronjob", "nightly", "-n", namespace, "--type", "merge",
                                   "-p", json.dumps(patch), check=False)
    assert result.returncode != 0, result.stdout
    assert "tfguard denied CronJob nightly" in result.stderr and "[GRAPH_MIN_CONSUMER]" in result.stderr
    stored = control_plane.get("cronjob", "nightly", namespace)
    assert not (stored["spec"]["jobTemplate"].get("metadata") or {}).get("annotations")


def test_an_incompatible_bare_pod_is_denied(control_plane, enforcing):
    namespace = enforcing
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "bare", "namespace": namespace, "annotations": {A.MODEL_PROFILE: "future"}},
           "spec": {"containers": [{"name": "server", "image": IMAGE}]}}
    result = control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod), check=False)
    assert result.returncode != 0
    assert "tfguard denied Pod bare" in result.stderr and "[GRAPH_MIN_CONSUMER]" in result.stderr
    assert control_plane.kubectl("get", "pod", "bare", "-n", namespace, check=False).returncode != 0


def test_a_pods_image_changed_in_place_is_judged(control_plane, enforcing):
    namespace = enforcing
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "in-place", "namespace": namespace, "annotations": {A.MODEL_PROFILE: "future"}},
           "spec": {"containers": [{"name": "server", "image": "registry.example/ml/unknown:1"}]}}
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(pod))  # unknown image: a warning, admitted
    result = control_plane.kubectl("set", "image", "pod/in-place", f"server={IMAGE}", "-n", namespace, check=False)
    assert result.returncode != 0 and "tfguard denied Pod in-place" in result.stderr
