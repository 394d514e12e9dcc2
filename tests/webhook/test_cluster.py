"""The real API server calls the webhook: kubectl sees denials, warnings and injected probes.

The webhook runs in the test process (TLS, cert from the control plane's CA), watches ImageStacks and
ModelProfiles through tfguard.kube, and is registered at https://127.0.0.1:PORT for this test's
namespace only, so other tests sharing the control plane never reach it.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import image_stack_resource, model_profile_resource

from webhook_documents import deployment_yaml

IMAGE = "registry.example/ml/tf-server:2.15"


@pytest.fixture
def facts_in_api(control_plane, namespace, cluster_webhook):
    """A probed ImageStack (TF 2.15.1) and a ModelProfile no runtime loads, created in the API and seen by the webhook."""
    stack = image_stack_resource(
        StackFacts(image=IMAGE, image_digest="sha256:" + "cd" * 32, source="probe", tensorflow_version="2.15.1",
                   tf_keras_major=2, import_ok=True), references=[IMAGE])
    future = model_profile_resource(
        ModelFacts(path="/models/future/1", format="saved_model", tensorflow_version="2.15.1",
                   graph_producer=1645, graph_min_consumer=10**6, ops=["Const", "Identity"]),
        "future", namespace=namespace)
    control_plane.apply([stack, future])
    yield stack
    control_plane.kubectl("delete", "imagestack", stack["metadata"]["name"], "--ignore-not-found", check=False)


def seen_by_webhook(hook, namespace):
    return hook.store.profile(namespace, "future") is not None and hook.store.stack_for(IMAGE, namespace) is not None


def test_enforce_mode_denies_an_incompatible_deployment_with_the_message_on_stderr(control_plane, namespace, cluster_webhook, facts_in_api):
    hook = cluster_webhook("enforce")
    control_plane.wait_for(lambda: seen_by_webhook(hook, namespace), what="ImageStack and ModelProfile cached")
    manifest = deployment_yaml(namespace, "future", {A.MODEL_PROFILE: "future"})
    # the API server picks up new webhook configurations asynchronously: a server-side dry run shows when
    control_plane.wait_for(
        lambda: control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest, check=False).returncode != 0,
        what="webhook registered",
    )
    result = control_plane.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert "denied the request" in result.stderr
    assert "tfguard denied Deployment future" in result.stderr
    assert "[GRAPH_MIN_CONSUMER]" in result.stderr and "Fix:" in result.stderr
    assert control_plane.kubectl("get", "deployment", "future", "-n", namespace, check=False).returncode != 0


def test_warn_mode_admits_with_warning_lines(control_plane, namespace, cluster_webhook, facts_in_api):
    hook = cluster_webhook("warn")
    control_plane.wait_for(lambda: seen_by_webhook(hook, namespace), what="ImageStack and ModelProfile cached")
    manifest = deployment_yaml(namespace, "future", {A.MODEL_PROFILE: "future"})
    control_plane.wait_for(
        lambda: "Warning: tfguard" in control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest).stderr,
        what="webhook registered",
    )
    result = control_plane.kubectl("apply", "-f", "-", input=manifest)
    assert "Warning: tfguard: incompatible" in result.stderr
    assert "GRAPH_MIN_CONSUMER" in result.stderr


def wait_until_injecting(control_plane, namespace) -> None:
    """Until the API server calls the mutating webhook just registered (a server-side dry run)."""
    control_plane.wait_for(
        lambda: A.PROBE_CONTAINER in control_plane.kubectl(
            "run", "registration-check", "-n", namespace, "--image", IMAGE, "--dry-run=server", "-o", "json",
            "--annotations", f"{A.MODEL_PATH}=/models/x",
        ).stdout,
        what="mutating webhook registered",
    )


def test_a_pod_created_by_the_controller_gets_the_probe_init_containers(control_plane, namespace, cluster_webhook):
    cluster_webhook("warn")
    annotations = {A.MODEL_PATH: "/models/resnet/1", A.MODEL_PRODUCER_VERSION: "2.15.1"}
    wait_until_injecting(control_plane, namespace)
    control_plane.kubectl("apply", "-f", "-", input=deployment_yaml(namespace, "resnet", annotations))

    def pod():
        pods = json.loads(control_plane.kubectl("get", "pods", "-n", namespace, "-l", "app=resnet", "-o", "json").stdout)
        return pods["items"][0] if pods["items"] else None

    created = control_plane.wait_for(pod, timeout=90, what="a Pod from the ReplicaSet controller")
    inits = {c["name"]: c for c in created["spec"].get("initContainers", [])}
    assert list(inits) == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]
    probe = inits[A.PROBE_CONTAINER]
    assert probe["image"] == IMAGE
    assert "/models/resnet/1" in probe["command"]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in probe["volumeMounts"]
    assert any(v["name"] == A.PROBE_VOLUME for v in created["spec"]["volumes"])


def mutating_calls(control_plane) -> float:
    """How many times the API server has called mutate.tfguard.io (its own admission metrics)."""
    with urllib.request.urlopen(control_plane.server + "/metrics", context=control_plane.ssl_context(), timeout=60) as r:
        text = r.read().decode()
    return sum(float(value) for labels, value in re.findall(
        r'^apiserver_admission_webhook_admission_duration_seconds_count\{([^}]*)\} (\S+)$', text, re.M)
        if 'name="mutate.tfguard.io"' in labels)


def test_injection_costs_one_call_of_the_mutating_webhook_per_pod(control_plane, namespace, cluster_webhook):
    """The install container carries the API token mount its Pod's containers have: without it the
    ServiceAccount plugin adds one when the API server re-runs the in-tree plugins after tfguard's
    change, and reinvocationPolicy IfNeeded then calls tfguard again for every Pod."""
    cluster_webhook("warn")
    wait_until_injecting(control_plane, namespace)
    control_plane.wait_for(
        lambda: control_plane.kubectl("get", "serviceaccount", "default", "-n", namespace, check=False).returncode == 0,
        timeout=60, what="the namespace's default service account")
    before = mutating_calls(control_plane)
    created = json.loads(control_plane.kubectl(
        "run", "one-call", "-n", namespace, "--image", IMAGE, "-o", "json", "--annotations", f"{A.MODEL_PATH}=/models/x",
    ).stdout)
    assert mutating_calls(control_plane) - before == 1
    install = next(c for c in created["spec"]["initContainers"] if c["name"] == A.PROBE_INSTALL_CONTAINER)
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in [m["mountPath"] for m in install["volumeMounts"]]
