"""tfguard.kube reads kubeconfigs (inline data or files, certs or tokens) and in-cluster credentials."""

from __future__ import annotations

import base64
import ssl

import pytest
import yaml

from tfguard.kube import ConfigError, KubeClient, load_config, load_incluster, load_kubeconfig, resource_path
from harness.controlplane import CertificateAuthority


@pytest.fixture
def ca(tmp_path):
    return CertificateAuthority(tmp_path)


def write_kubeconfig(path, cluster, user, namespace=None):
    context = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443/", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": context}],
    }))
    return path


def test_inline_certificate_data(ca, tmp_path):
    client = ca.issue("client", "alice", server=False, client=True)
    b64 = lambda p: base64.b64encode(p.read_bytes()).decode()  # noqa: E731
    path = write_kubeconfig(
        tmp_path / "config",
        {"certificate-authority-data": b64(ca.pair.cert_path)},
        {"client-certificate-data": b64(client.cert_path), "client-key-data": b64(client.key_path)},
        namespace="team-a",
    )
    config = load_kubeconfig(path)
    assert config.server == "https://127.0.0.1:6443"
    assert config.namespace == "team-a"
    assert isinstance(config.ssl_context(), ssl.SSLContext)


def test_certificate_files_relative_to_the_kubeconfig(ca, tmp_path):
    client = ca.issue("client", "alice", server=False, client=True)
    path = write_kubeconfig(
        tmp_path / "config",
        {"certificate-authority": ca.pair.cert_path.name},
        {"client-certificate": client.cert_path.name, "client-key": str(client.key_path)},
    )
    config = load_kubeconfig(path)
    assert config.client_cert_data == client.cert_path.read_bytes()
    config.ssl_context()


def test_bearer_token_and_token_file(tmp_path):
    path = write_kubeconfig(tmp_path / "config", {"insecure-skip-tls-verify": True}, {"token": "abc"})
    assert load_kubeconfig(path).bearer_token() == "abc"
    (tmp_path / "token").write_text("from-file\n")
    path = write_kubeconfig(tmp_path / "config2", {"insecure-skip-tls-verify": True}, {"tokenFile": "token"})
    config = load_kubeconfig(path)
    assert config.bearer_token() == "from-file"
    assert KubeClient(config)._headers()["Authorization"] == "Bearer from-file"


def test_in_cluster_service_account(ca, tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    (sa / "ca.crt").write_bytes(ca.pair.cert_path.read_bytes())
    (sa / "namespace").write_text("tfguard")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    config = load_incluster(sa)
    assert config.server == "https://10.96.0.1:443"
    assert config.namespace == "tfguard" and config.bearer_token() == "sa-token"
    config.ssl_context()


def test_no_configuration_at_all_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="no kubeconfig"):
        load_config()


def test_a_kubeconfig_naming_a_missing_context_is_a_clear_error(tmp_path):
    path = write_kubeconfig(tmp_path / "config", {}, {"token": "x"})
    with pytest.raises(ConfigError, match="no context named 'other'"):
        load_kubeconfig(path, context="other")


def test_resource_paths():
    assert resource_path("", "v1", "pods", "ns", "web-0", "status") == "/api/v1/namespaces/ns/pods/web-0/status"
    assert resource_path("apps", "v1", "deployments", "ns") == "/apis/apps/v1/namespaces/ns/deployments"
    assert resource_path("tfguard.io", "v1alpha1", "imagestacks", name="sha256-ab") == "/apis/tfguard.io/v1alpha1/imagestacks/sha256-ab"


def test_a_refusal_in_a_terminating_namespace_is_recognised():
    from tfguard.errors import ApiError, Forbidden

    status = {
        "kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'events "x" is forbidden: unable to create new content in namespace ns because it is being terminated',
        "details": {"name": "x", "kind": "events", "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace"}]},
    }
    refused = ApiError.from_response(403, status)
    assert isinstance(refused, Forbidden) and refused.namespace_terminating
    assert not ApiError.from_response(403, {"reason": "Forbidden", "message": "RBAC: access denied"}).namespace_terminating


def test_api_errors_are_raised_as_the_subclass_of_their_status():
    from tfguard import errors

    for status, cls in ((400, errors.BadRequest), (404, errors.NotFound), (409, errors.Conflict),
                        (410, errors.Gone), (422, errors.Invalid), (503, errors.ServerError), (418, errors.ApiError)):
        raised = errors.ApiError.from_response(status, {"message": "m"}, "GET", "/x")
        assert type(raised) is cls and raised.status == status and isinstance(raised, errors.TfguardError)
