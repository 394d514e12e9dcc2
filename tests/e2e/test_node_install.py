"""`helm install tfguard` for real on the node: the webhook and the operator run as the chart's Pods
from the local tfguard image, the API server calls the webhook through its Service, the operator
issues and rotates the certificate the webhook Pods mount, and the chart's probes, PDB and RBAC are
exercised. What the API server does when things go wrong, and what uninstall leaves."""

from __future__ import annotations

import base64
import json
import time
import urllib.error

import pytest
from cryptography import x509

from harness import images
from harness.node import NODE_NAME

# Admission only (replicas 0): no Pod is made, so these tests need no TensorFlow. The image is
# examples/unknown-image's, which nothing runs: its verdict stays `unknown` (a warning, never a denial).
UNKNOWN_IMAGE = "acme/model-server:3.2"


def deployment(name: str, annotated: bool = True) -> str:
    meta = {"tfguard.io/model-producer-version": "2.15.1"} if annotated else {}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": meta},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": meta},
                              "spec": {"containers": [{"name": "server", "image": UNKNOWN_IMAGE}]}}},
    })


def admit(cp, ns: str, name: str, annotated: bool = True, dry_run: bool = False):
    args = ["apply", "-n", ns, "-f", "-"] + (["--dry-run=server"] if dry_run else [])
    return cp.kubectl(*args, input=deployment(name, annotated), check=False)


def test_the_webhook_and_operator_run_as_the_charts_pods(node_tfguard, node):
    version = images.tfguard_version()
    webhooks, operators = node_tfguard.pods("webhook"), node_tfguard.pods("operator")
    assert len(webhooks) == 2 and len(operators) == 1
    for pod in webhooks + operators:
        assert pod["spec"]["nodeName"] == NODE_NAME  # placed by the scheduler, run by the kubelet
        assert pod["status"]["phase"] == "Running"
        (container,) = pod["status"]["containerStatuses"]
        assert container["ready"] and container["image"].endswith(f"tfguard/tfguard:{version}")
        assert container["imageID"].endswith("@" + node.image_digests[f"tfguard/tfguard:{version}"])
        # Liveness never failed, nor did the process exit (lastState says why if it did).
        assert container["restartCount"] == 0, (pod["metadata"]["name"], container.get("lastState"))


def test_the_api_server_reaches_the_webhook_through_its_service(node_tfguard, node):
    for config in node_tfguard.configurations():
        for hook in config["webhooks"]:
            service = hook["clientConfig"]["service"]
            assert service["name"] == node_tfguard.webhook_deployment and service["namespace"] == node_tfguard.namespace
            assert hook["clientConfig"]["caBundle"]  # injected by the operator
    ns = node_tfguard.make_namespace("enforce", stem="service")
    done = admit(node.cp, ns, "through-the-service")
    assert done.returncode == 0, done.stderr
    assert "Warning: tfguard" in done.stderr and "STACK_UNKNOWN" in done.stderr


def test_an_unlabelled_namespace_gets_the_default_mode(node_tfguard, node):
    ns = node_tfguard.make_namespace(None)
    done = admit(node.cp, ns, "default-mode")
    assert done.returncode == 0 and "Warning: tfguard" in done.stderr  # default mode: warn


def test_no_tfguard_pod_is_refused_a_call_it_makes(node_tfguard):
    """The chart's RBAC, for real: the Pods run under their service accounts."""
    for component in ("webhook", "operator"):
        text = node_tfguard.log_tail(component, lines=400).lower()
        assert "forbidden" not in text and " 403" not in text, text[-2000:]


def test_the_pdb_lets_one_webhook_pod_go_at_a_time(node_tfguard, node):
    cp = node.cp
    name = node_tfguard.webhook_deployment
    cp.wait_for(lambda: cp.get("pdb", name, node_tfguard.namespace).get("status", {}).get("disruptionsAllowed") == 1,
                timeout=60, what="the disruption controller to allow one disruption")
    first, second = (p["metadata"]["name"] for p in node_tfguard.pods("webhook"))

    def evict(pod: str):
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": node_tfguard.namespace}}
        return cp.request("POST", f"/api/v1/namespaces/{node_tfguard.namespace}/pods/{pod}/eviction", body)

    evict(first)
    with pytest.raises(urllib.error.HTTPError) as refused:
        evict(second)
    assert refused.value.code == 429  # the budget is spent until the replacement is ready
    ns = node_tfguard.make_namespace("warn", stem="pdb")
    done = admit(cp, ns, "during-a-disruption", dry_run=True)
    assert "Warning: tfguard" in done.stderr, done.stderr  # the other Pod answers meanwhile
    node_tfguard.wait_for_webhook_endpoints(count=2)


def test_admission_fails_open_while_the_webhook_is_down_until_fail_is_chosen(node_release, node):
    cp = node.cp
    ns = node_release.make_namespace("enforce")
    node_release.stop_webhook()
    down = admit(cp, ns, "while-down")
    assert down.returncode == 0, down.stderr  # failurePolicy: Ignore

    node_release.upgrade("webhook.failurePolicy=Fail")  # the chart's replicas are back
    node_release.wait_for_webhook_endpoints(count=2)
    node_release.stop_webhook()
    denied = admit(cp, ns, "fail-closed")
    assert denied.returncode != 0
    assert "failed calling webhook" in denied.stderr and "validate.tfguard.io" in denied.stderr

    # Even fail-closed, what tfguard does not look at never waits for it:
    plain = admit(cp, ns, "not-annotated", annotated=False)
    assert plain.returncode == 0, plain.stderr  # matchConditions: no tfguard.io/ annotation
    own = admit(cp, node_release.namespace, "in-tfguards-namespace")
    assert own.returncode == 0, own.stderr  # the release namespace is excluded
    system = admit(cp, "kube-system", "in-kube-system", dry_run=True)
    assert system.returncode == 0, system.stderr


# Lifetimes short enough to see renewals and a CA rotation within minutes, long enough for the
# kubelet to bring a renewed Secret into the webhook Pods' volume before the old certificate expires.
ROTATION = ["--ca-validity=150", "--cert-validity=60", "--renew-fraction=0.5", "--bundle-propagation=20",
            "--cert-check-interval=2"]


def test_certificates_rotate_through_the_pods_volume_without_failing_an_admission(node):
    from harness.localinstall import ClusterTfguard

    cp = node.cp
    sets = ["webhook.failurePolicy=Fail", "operator.extraArgs={" + ",".join(ROTATION) + "}"]
    with ClusterTfguard(cp, namespace="tfguard-rot-{id}", release="tfguard-{id}", isolated=True, sets=sets) as rel:
        ns = rel.make_namespace("warn", stem="rotation")
        secret = f"{rel.fullname}-webhook-tls"

        def certificates():
            data = cp.get("secret", secret, rel.namespace)["data"]
            serving = x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))
            return serving.serial_number, serving.issuer.rfc4514_string()

        seen_serials, seen_issuers, answered = set(), set(), 0
        deadline = time.monotonic() + 240
        while (len(seen_serials) < 3 or len(seen_issuers) < 2) and time.monotonic() < deadline:
            serial, issuer = certificates()
            seen_serials.add(serial)
            seen_issuers.add(issuer)
            done = admit(cp, ns, f"during-rotation-{answered}", dry_run=True)
            # failurePolicy Fail: a webhook Pod presenting a certificate the API server does not
            # trust would fail this admission.
            assert done.returncode == 0 and "Warning: tfguard" in done.stderr, (done.stderr, rel.log_tail("webhook"))
            answered += 1
            time.sleep(2)
        assert len(seen_serials) >= 3, f"only {len(seen_serials)} serving certificates in 240 s"
        assert len(seen_issuers) >= 2, "the CA did not rotate in 240 s"
        assert all(p["status"]["containerStatuses"][0]["restartCount"] == 0 for p in rel.pods("webhook"))


def test_uninstall_removes_the_release_and_keeps_the_crds(node_release, node):
    cp = node.cp
    assert len(node_release.configurations()) == 2
    node_release.uninstall()
    assert node_release.configurations() == []
    cp.wait_for(lambda: not node_release.pods("webhook") and not node_release.pods("operator"), timeout=120,
                what="the release's Pods to go")
    crds = {c["metadata"]["name"] for c in cp.get("customresourcedefinitions")["items"]}
    assert {"imagestacks.tfguard.io", "modelprofiles.tfguard.io"} <= crds
    # Nothing left to call: an annotated Deployment in a namespace it covered goes straight through.
    ns = node_release.make_namespace("enforce")
    done = admit(cp, ns, "after-uninstall")
    assert done.returncode == 0 and "tfguard" not in done.stderr
