"""The chart's `webhook.external.url` option on a bare API server (no node): the webhook
configurations point at a URL, and the webhook and the operator run outside the cluster. What the API
server does with tfguard's webhook configurations when things go wrong, without any Pod running;
test_node_install.py does the same with the chart's own Pods on the node."""

from __future__ import annotations

import json

import pytest

from harness import gallery

pytestmark = pytest.mark.cluster

# Needs no model: the image is unknown, so the verdict is `unknown` (a warning, never a denial).
ANNOTATED = gallery.BY_NAME["unknown-image"].manifest


def deployment(name: str, annotated: bool) -> str:
    meta = {"tfguard.io/model-producer-version": "2.15.1"} if annotated else {}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": meta},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": meta},
                              "spec": {"containers": [{"name": "server", "image": "acme/model-server:3.2"}]}}},
    })


def test_install_registers_both_webhooks_with_the_operators_ca(external_release):
    configs = external_release.configurations()
    assert sorted(c["kind"] for c in configs) == ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
    for config in configs:
        for hook in config["webhooks"]:
            assert hook["clientConfig"]["url"].startswith(external_release.url)
            assert hook["clientConfig"]["caBundle"]
            assert hook["failurePolicy"] == "Ignore"


def test_an_unknown_image_is_admitted_with_a_warning_even_in_enforce_mode(external_release, control_plane):
    ns = external_release.make_namespace("enforce")
    done = control_plane.kubectl("apply", "-n", ns, "-f", str(ANNOTATED), check=False)
    assert done.returncode == 0, done.stderr
    assert "Warning: tfguard" in done.stderr and "STACK_UNKNOWN" in done.stderr


def test_an_unlabelled_namespace_gets_the_default_mode(external_release, control_plane):
    ns = external_release.make_namespace(None)
    done = control_plane.kubectl("apply", "-n", ns, "-f", str(ANNOTATED), check=False)
    assert done.returncode == 0 and "Warning: tfguard" in done.stderr  # default mode: warn


def test_admission_fails_open_while_the_webhook_is_down_until_fail_is_chosen(external_release, control_plane):
    ns = external_release.make_namespace("enforce")
    external_release.stop_webhook()

    down = control_plane.kubectl("apply", "-n", ns, "-f", "-", input=deployment("while-down", True), check=False)
    assert down.returncode == 0, down.stderr  # failurePolicy: Ignore

    external_release.upgrade("webhook.failurePolicy=Fail")
    denied = control_plane.kubectl("apply", "-n", ns, "-f", "-", input=deployment("fail-closed", True), check=False)
    assert denied.returncode != 0
    assert "failed calling webhook" in denied.stderr and "validate.tfguard.io" in denied.stderr

    # Even fail-closed, what tfguard does not look at never waits for it:
    plain = control_plane.kubectl("apply", "-n", ns, "-f", "-", input=deployment("not-annotated", False), check=False)
    assert plain.returncode == 0, plain.stderr  # matchConditions: no tfguard.io/ annotation
    own = control_plane.kubectl("apply", "-n", external_release.namespace, "-f", "-",
                                input=deployment("in-tfguards-namespace", True), check=False)
    assert own.returncode == 0, own.stderr  # the release namespace is excluded
    system = control_plane.kubectl("apply", "-n", "kube-system", "--dry-run=server", "-f", "-",
                                   input=deployment("in-kube-system", True), check=False)
    assert system.returncode == 0, system.stderr


def test_uninstall_removes_the_webhook_configurations_and_keeps_the_crds(external_release, control_plane):
    assert len(external_release.configurations()) == 2
    external_release.uninstall()
    assert external_release.configurations() == []
    crds = {c["metadata"]["name"] for c in control_plane.get("customresourcedefinitions")["items"]}
    assert {"imagestacks.tfguard.io", "modelprofiles.tfguard.io"} <= crds
    # Nothing left to call: even an annotated Deployment in a covered namespace goes straight through.
    ns = external_release.make_namespace("enforce")
    done = control_plane.kubectl("apply", "-n", ns, "-f", str(ANNOTATED), check=False)
    assert done.returncode == 0 and "tfguard" not in done.stderr
