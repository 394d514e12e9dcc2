"""The operator's RBAC, rendered from the chart by the real helm and applied to the real API server,
allows what the operator does and nothing more (checked with `kubectl auth can-i --as`), and the
chart's ValidatingAdmissionPolicies narrow its patches further than RBAC can (checked with real
requests made as the operator's service account, which the API server refuses)."""

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
        "--show-only", "templates/operator-rbac.yaml", "--show-only", "templates/operator-secrets.yaml",
        "--show-only", "templates/operator-vap.yaml",
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
        ("create", "secrets", own, None, None),  # the chart creates both Secrets the operator fills
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
    # The chart's own webhook configurations (selecting no namespace here, so they route nothing):
    # the operator must inject the CA into all eight webhooks under the write policy.
    configurations = cp.helm(
        "template", release, str(REPO / "charts" / "tfguard"), "--namespace", own,
        "--show-only", "templates/webhook-configurations.yaml",
        "--set", "webhook.namespaceSelector.matchLabels.tfguard-test=selects-nothing",
    ).stdout
    cp.kubectl("apply", "-f", "-", input=configurations)
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
        assert set(serving["data"]) == {"tls.crt", "tls.key", "ca.crt"}  # in the Secret the chart made
        assert set(cp.get("secret", f"{release}-tfguard-webhook-tls-ca", own)["data"]) == {"ca-signing.crt", "ca-signing.key"}
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            injected = lambda: all(w["clientConfig"].get("caBundle") for w in cp.get(kind, webhooks)["webhooks"])  # noqa: E731
            cp.wait_for(injected, timeout=60, what=f"the CA bundle in every webhook of the {kind}")
        assert cp.get("lease", f"{release}-tfguard-operator", own)["spec"]["holderIdentity"]
        op.assert_running()
        # A refused call logs "<METHOD> <path>: 403 Forbidden: ..."; a bare "403" could be part of a
        # digest or a generated Pod name in the log.
        assert not re.search(r"\b403 Forbidden\b|forbidden", op.output(), re.IGNORECASE), op.output()
    finally:
        cp.kubectl("delete", "-f", "-", "--ignore-not-found", input=configurations, check=False)


def as_operator(cp, user, *args, input=None):
    return cp.kubectl(*args, "--as", user, input=input, check=False)


class Refused(Exception):
    pass


def operator_client(cp, user, own):
    """PATCH requests with the operator service account's own token, as the operator makes them
    (kubectl patch would first GET the object, which the operator never needs to)."""
    import json
    import ssl
    import urllib.error
    import urllib.request

    token = cp.kubectl("create", "token", user.rsplit(":", 1)[1], "-n", own, "--duration", "1h").stdout.strip()
    context = ssl.create_default_context(cafile=str(cp.ca_path))

    def patch(path: str, body, patch_type: str = "merge", dry_run: bool = False) -> dict:
        kind = {"merge": "application/merge-patch+json", "json": "application/json-patch+json"}[patch_type]
        url = cp.server + path + ("?dryRun=All" if dry_run else "")
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PATCH",
                                         headers={"Content-Type": kind, "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise Refused(exc.read().decode(errors="replace")) from None

    return patch


def test_the_operator_may_change_only_its_own_annotations_and_the_ca_bundle(operator_account, namespace):
    cp, release, own, user = operator_account
    cp.apply({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "guarded", "namespace": namespace, "labels": {"team": "ml"},
                     "annotations": {"tfguard.io/model-path": "/models/m", "team.example/owner": "ml"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "guarded"}},
                 "template": {"metadata": {"labels": {"app": "guarded"}},
                              "spec": {"containers": [{"name": "c", "image": "tensorflow/tensorflow:2.15.1"}]}}},
    })

    send = operator_client(cp, user, own)
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/guarded"

    def patch(body, dry_run=False):
        try:
            send(path, body, dry_run=dry_run)
            return None
        except Refused as refusal:
            return str(refusal)

    # The policy takes a moment to reach the API server's admission chain.
    cp.wait_for(lambda: patch({"spec": {"replicas": 3}}, dry_run=True), what="the operator's ValidatingAdmissionPolicy in force")
    refused = {
        "spec": {"spec": {"replicas": 3}},
        "labels": {"metadata": {"labels": {"team": "other"}}},
        "someone else's annotation": {"metadata": {"annotations": {"team.example/owner": "attacker"}}},
        "a user's tfguard annotation": {"metadata": {"annotations": {"tfguard.io/mode": "audit"}}},
        "removing a user's tfguard annotation": {"metadata": {"annotations": {"tfguard.io/model-path": None}}},
        "the pod template": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "evil:1"}]}}}},
    }
    for what, body in refused.items():
        refusal = patch(body)
        assert refusal is not None and "ValidatingAdmissionPolicy" in refusal, (what, refusal)
    written = {"tfguard.io/verdict": "compatible", "tfguard.io/reason": "ok", "tfguard.io/checked-at": "2026-01-01T00:00:00Z"}
    assert patch({"metadata": {"annotations": written}}) is None
    assert patch({"metadata": {"annotations": {"tfguard.io/reason": None}}}) is None
    after = cp.get("deployment", "guarded", namespace)
    assert after["spec"]["replicas"] == 1 and after["metadata"]["labels"] == {"team": "ml"}
    assert after["metadata"]["annotations"]["team.example/owner"] == "ml"

    webhooks = f"{release}-tfguard"
    cp.apply({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": webhooks, "labels": {"tfguard.io/webhook-configuration": webhooks}},
        "webhooks": [{
            "name": "validate.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "clientConfig": {"url": "https://127.0.0.1:1/validate"},
            "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "operations": ["CREATE"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nothing-here"}},
        }],
    })
    try:
        def patch_webhooks(ops):
            try:
                send(f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{webhooks}", ops, "json")
                return None
            except Refused as refusal:
                return str(refusal)

        for what, ops in {
            "failurePolicy": [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Fail"}],
            "the URL": [{"op": "replace", "path": "/webhooks/0/clientConfig/url", "value": "https://evil:1/"}],
            "the selector": [{"op": "replace", "path": "/webhooks/0/namespaceSelector", "value": {}}],
            "a webhook removed": [{"op": "remove", "path": "/webhooks/0"}],
            "labels": [{"op": "add", "path": "/metadata/labels/extra", "value": "x"}],
        }.items():
            refusal = patch_webhooks(ops)
            assert refusal is not None and "ValidatingAdmissionPolicy" in refusal, (what, refusal)
        assert patch_webhooks([{"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": cp.ca_bundle}]) is None
    finally:
        cp.kubectl("delete", "validatingwebhookconfiguration", webhooks, "--ignore-not-found", check=False)

    # Secrets: the two the chart made, by name; no new ones.
    created = as_operator(cp, user, "create", "secret", "generic", "stolen", "-n", own, "--from-literal=k=v")
    assert created.returncode != 0 and "forbidden" in created.stderr.lower()
    send(f"/api/v1/namespaces/{own}/secrets/{release}-tfguard-webhook-tls", {"data": {"tls.crt": "Zm9v"}})
