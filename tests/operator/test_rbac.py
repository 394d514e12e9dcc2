"""The operator's RBAC, rendered from the chart by the real helm and applied to the real API server,
allows what the operator does and nothing more (checked with `kubectl auth can-i --as`)."""

from __future__ import annotations

import re
import uuid

import pytest

from operator_helpers import REPO

pytestmark = pytest.mark.cluster


@pytest.fixture
def operator_account(crds, tfguard_namespace):
    cp = crds
    release = f"r{uuid.uuid4().hex[:6]}"
    rendered = cp.helm(
        "template", release, str(REPO / "charts" / "tfguard"), "--namespace", tfguard_namespace,
        "--show-only", "templates/operator-rbac.yaml",
    ).stdout
    cp.kubectl("apply", "-n", tfguard_namespace, "-f", "-", input=rendered)
    yield cp, release, tfguard_namespace, f"system:serviceaccount:{tfguard_namespace}:{release}-tfguard-operator"
    cp.kubectl("delete", "-n", tfguard_namespace, "-f", "-", "--ignore-not-found", input=rendered, check=False)


def can(cp, user, verb, resource, namespace=None, name=None, subresource=None) -> bool:
    args = ["auth", "can-i", verb, resource + (f"/{name}" if name else ""), "--as", user]
    args += ["-n", namespace] if namespace else ["--all-namespaces"]
    if subresource:
        args += ["--subresource", subresource]
    result = cp.kubectl(*args, check=False)
    assert result.stdout.strip() in ("yes", "no"), result.stderr
    return result.stdout.strip() == "yes"


def test_the_operator_may_do_its_job(operator_account, namespace):
    cp, release, own, user = operator_account
    secret, lease, webhooks = f"{release}-tfguard-webhook-tls", f"{release}-tfguard-operator", f"{release}-tfguard"
    allowed = [
        ("watch", "pods", None, None, None),
        ("list", "replicasets.apps", None, None, None),
        ("watch", "deployments.apps", None, None, None),
        ("patch", "deployments.apps", namespace, None, None),
        ("patch", "statefulsets.apps", namespace, None, None),
        ("patch", "daemonsets.apps", namespace, None, None),
        ("create", "events", namespace, None, None),
        ("create", "imagestacks.tfguard.io", None, None, None),
        ("patch", "imagestacks.tfguard.io", None, None, "status"),
        ("create", "modelprofiles.tfguard.io", namespace, None, None),
        ("update", "modelprofiles.tfguard.io", namespace, None, None),
        ("list", "validatingwebhookconfigurations.admissionregistration.k8s.io", None, None, None),
        ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io", None, webhooks, None),
        ("patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io", None, webhooks, None),
        ("get", "secrets", own, secret, None),
        ("update", "secrets", own, secret, None),
        ("get", "secrets", own, f"{secret}-ca", None),
        ("patch", "secrets", own, f"{secret}-ca", None),
        ("create", "secrets", own, None, None),
        ("get", "leases.coordination.k8s.io", own, lease, None),
        ("update", "leases.coordination.k8s.io", own, lease, None),
    ]
    refused = [args for args in allowed if not can(cp, user, *args)]
    assert not refused, f"the operator lacks: {refused}"


def test_the_operator_may_do_nothing_else(operator_account, namespace):
    cp, release, own, user = operator_account
    denied = [
        # no Secret outside its namespace, no other Secret in it, no listing Secrets
        ("get", "secrets", namespace, None, None),
        ("list", "secrets", None, None, None),
        ("get", "secrets", "kube-system", None, None),
        ("get", "secrets", own, "some-other-secret", None),
        ("list", "secrets", own, None, None),
        ("delete", "secrets", own, f"{release}-tfguard-webhook-tls", None),
        # workloads: annotations by patch only; never create, replace, delete
        ("create", "deployments.apps", namespace, None, None),
        ("update", "deployments.apps", namespace, None, None),
        ("delete", "deployments.apps", namespace, None, None),
        ("patch", "replicasets.apps", namespace, None, None),
        ("create", "pods", namespace, None, None),
        ("patch", "pods", namespace, None, None),
        ("delete", "pods", namespace, None, None),
        ("patch", "pods", namespace, None, "status"),
        ("create", "pods", namespace, None, "exec"),
        # its own resources: no deleting facts
        ("delete", "imagestacks.tfguard.io", None, None, None),
        ("delete", "modelprofiles.tfguard.io", namespace, None, None),
        # webhook configurations: only its own, only patch
        ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io", None, None, None),
        ("delete", "validatingwebhookconfigurations.admissionregistration.k8s.io", None, f"{release}-tfguard", None),
        ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io", None, "someone-elses", None),
        # Nodes: read for their GPU/CPU labels, never written
        ("patch", "nodes", None, None, None),
        ("delete", "nodes", None, None, None),
        ("update", "nodes", None, None, "status"),
        # nothing cluster-wide beyond that
        ("create", "customresourcedefinitions.apiextensions.k8s.io", None, None, None),
        ("create", "clusterroles.rbac.authorization.k8s.io", None, None, None),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", None, None, None),
        ("patch", "namespaces", None, None, None),
        ("patch", "nodes", None, None, None),
        ("create", "serviceaccounts", own, None, None, ),
        ("create", "serviceaccounts", own, None, "token"),
        ("impersonate", "users", None, None, None),
        ("update", "leases.coordination.k8s.io", own, "another-lease", None),
        ("update", "leases.coordination.k8s.io", "kube-system", "kube-controller-manager", None),
        ("update", "configmaps", own, None, None),
        ("*", "*", None, None, None),
    ]
    granted = [args for args in denied if can(cp, user, *args)]
    assert not granted, f"the operator may do more than it needs: {granted}"


@pytest.mark.tf
def test_the_operator_works_with_exactly_this_rbac(operator_account, operator, namespace, probe_reports, tmp_path):
    """Run the operator with the service account's own token: everything it does succeeds."""
    import json

    from operator_helpers import annotations_of, image_for, serving_deployment, wait_for_pod, write_probe_status

    cp, release, own, user = operator_account
    sa = user.rsplit(":", 1)[1]
    token = cp.kubectl("create", "token", sa, "-n", own, "--duration", "1h").stdout.strip()
    kubeconfig = tmp_path / "operator.kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "op",
        "clusters": [{"name": "c", "cluster": {"server": cp.server, "certificate-authority": str(cp.ca_path)}}],
        "users": [{"name": "op", "user": {"token": token}}],
        "contexts": [{"name": "op", "context": {"cluster": "c", "user": "op"}}],
    }))
    webhooks = f"{release}-tfguard"
    cp.apply({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": webhooks, "labels": {"tfguard.io/webhook-configuration": webhooks}},
        "webhooks": [{
            "name": "validate.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "clientConfig": {"url": "https://127.0.0.1:1/validate"},
            "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                       "operations": ["CREATE"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nothing-here"}},
        }],
    })
    try:
        op = operator(
            "--lease-name", f"{release}-tfguard-operator", "--cert-secret", f"{release}-tfguard-webhook-tls",
            "--webhook-selector", f"tfguard.io/webhook-configuration={webhooks}", kubeconfig=str(kubeconfig),
        )
        tf_version, report = probe_reports["verified"]
        image, digest = image_for(tf_version)
        cp.apply(serving_deployment("rbac-check", namespace, image))
        write_probe_status(cp, namespace, wait_for_pod(cp, namespace, "rbac-check"), image, digest, report, 0)
        notes = cp.wait_for(lambda: annotations_of(cp, namespace, "deployment", "rbac-check").get("tfguard.io/verdict"),
                            timeout=60, what="the verdict annotation")
        assert notes == "compatible"
        serving = cp.get("secret", f"{release}-tfguard-webhook-tls", own)
        assert serving["type"] == "kubernetes.io/tls" and set(serving["data"]) == {"tls.crt", "tls.key", "ca.crt"}
        assert set(cp.get("secret", f"{release}-tfguard-webhook-tls-ca", own)["data"]) == {"ca-signing.crt", "ca-signing.key"}
        assert cp.get("validatingwebhookconfiguration", webhooks)["webhooks"][0]["clientConfig"].get("caBundle")
        assert cp.get("lease", f"{release}-tfguard-operator", own)["spec"]["holderIdentity"]
        op.assert_running()
        # A refused call logs "<METHOD> <path>: 403 Forbidden: ..."; a bare "403" could be part of a
        # digest or a generated Pod name in the log.
        assert not re.search(r"\b403 Forbidden\b|forbidden", op.output(), re.IGNORECASE), op.output()
    finally:
        cp.kubectl("delete", "validatingwebhookconfiguration", webhooks, "--ignore-not-found", check=False)
