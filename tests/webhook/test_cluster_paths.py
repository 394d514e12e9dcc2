"""Every path to a Pod is judged, through the chart's own webhook configuration on the real API server.

The chart's rules and CEL matchConditions decide what the API server sends at all; these tests use
them as rendered by the real helm (`chart_webhook`), so a path the chart forgot fails here.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
import yaml

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import image_stack_resource, model_profile_resource

from conftest import wait_until_injecting
from webhook_documents import deployment_yaml

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


def validating_creates(control_plane) -> float:
    """How many CREATEs the API server has sent to tfguard's validating webhooks (its own metrics)."""
    with urllib.request.urlopen(control_plane.server + "/metrics", context=control_plane.ssl_context(), timeout=60) as r:
        text = r.read().decode()
    return sum(float(value) for labels, value in re.findall(
        r'^apiserver_admission_webhook_admission_duration_seconds_count\{([^}]*)\} (\S+)$', text, re.M)
        if re.search(r'name="[a-z]+\.validate\.tfguard\.io"', labels) and 'operation="CREATE"' in labels)


def test_the_pods_a_controller_makes_cost_no_validating_call(control_plane, enforcing):
    namespace = enforcing
    before = validating_creates(control_plane)
    manifest = yaml.safe_load(
        deployment_yaml(namespace, "three", {A.MODEL_PATH: "/models/x"}, image="registry.example/ml/unknown:3"))
    manifest["spec"]["replicas"] = 3
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(manifest))  # unknown image: a warning, admitted

    def pods():
        listed = json.loads(control_plane.kubectl("get", "pods", "-n", namespace, "-l", "app=three", "-o", "json").stdout)
        return len(listed["items"]) == 3

    control_plane.wait_for(pods, timeout=90, what="three Pods from the ReplicaSet controller")
    assert validating_creates(control_plane) - before == 2  # the Deployment and its ReplicaSet, not the Pods
