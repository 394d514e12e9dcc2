"""The kubeconfigs cloud clusters hand out work against a real API server: exec plugins (a real
script, run by the kubernetes library's loader), an oidc auth-provider user, several files in
$KUBECONFIG, and contexts. Who the API server took us for is asked with a SelfSubjectReview."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import sys

import pytest
import yaml

from tfguard.errors import ConfigError
from tfguard.kube import KubeClient, load_config

REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


def who(config) -> str:
    async def ask():
        async with KubeClient(config) as kube:
            review = await kube.create("/apis/authentication.k8s.io/v1/selfsubjectreviews", REVIEW)
            return review["status"]["userInfo"]["username"]

    return asyncio.run(ask())


@pytest.fixture
def account(control_plane, namespace):
    """A service account, and a short-lived token for it (a JWT the API server accepts)."""
    control_plane.kubectl("create", "serviceaccount", "ci-bot", "-n", namespace)
    token = control_plane.kubectl("create", "token", "ci-bot", "-n", namespace, "--duration=10m").stdout.strip()
    return f"system:serviceaccount:{namespace}:ci-bot", token


def cluster_entry(control_plane) -> dict:
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())
    return admin["clusters"][0]["cluster"]


def write_kubeconfig(path, control_plane, user: dict, context="ctx", namespace=None, current=True):
    context_body = {"cluster": "local", "user": f"user-{context}", **({"namespace": namespace} if namespace else {})}
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster_entry(control_plane)}],
        "users": [{"name": f"user-{context}", "user": user}],
        "contexts": [{"name": context, "context": context_body}],
    }
    if current:
        doc["current-context"] = context
    path.write_text(yaml.safe_dump(doc))
    return path


def exec_plugin(tmp_path, credential_status: dict, name="cloud-login") -> tuple[str, object]:
    """A real exec plugin: a script that prints an ExecCredential and counts its runs in a file."""
    calls = tmp_path / f"{name}.calls"
    script = tmp_path / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(calls)!r}, 'a').write('x')\n"
        "assert json.loads(os.environ['KUBERNETES_EXEC_INFO'])['kind'] == 'ExecCredential'\n"
        f"print(json.dumps({{'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
        f"'status': {credential_status!r}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), calls


def exec_user(command: str) -> dict:
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": command,
                     "interactiveMode": "Never", "provideClusterInfo": True}}


def test_an_exec_plugin_token_authenticates_and_is_fetched_again_once_expired(control_plane, account, tmp_path):
    user, token = account
    command, calls = exec_plugin(tmp_path, {"token": token, "expirationTimestamp": "2000-01-01T00:00:00Z"})
    config = load_config(str(write_kubeconfig(tmp_path / "config", control_plane, exec_user(command))))
    assert who(config) == user
    runs = len(calls.read_text())
    assert who(config) == user
    assert len(calls.read_text()) > runs  # an expired token is never sent again without asking the plugin


def test_an_exec_plugin_that_hands_out_a_client_certificate(control_plane, tmp_path):
    admin = yaml.safe_load(control_plane.kubeconfig.read_text())["users"][0]["user"]
    status = {"clientCertificateData": base64.b64decode(admin["client-certificate-data"]).decode(),
              "clientKeyData": base64.b64decode(admin["client-key-data"]).decode()}
    command, _ = exec_plugin(tmp_path, status)
    config = load_config(str(write_kubeconfig(tmp_path / "config", control_plane, exec_user(command))))
    expected = who(load_config(str(control_plane.kubeconfig)))
    assert who(config) == expected


def test_a_failing_exec_plugin_is_a_clear_error(control_plane, tmp_path):
    script = tmp_path / "broken-login"
    script.write_text("#!/bin/sh\necho 'error: you must log in first' >&2\nexit 3\n")
    script.chmod(0o755)
    path = write_kubeconfig(tmp_path / "config", control_plane, exec_user(str(script)))
    with pytest.raises(ConfigError, match="exec plugin"):
        load_config(str(path))


def test_an_oidc_auth_provider_user(control_plane, account, tmp_path):
    user, token = account  # the service account's token is a JWT with an expiry, as an id-token is
    oidc = {"auth-provider": {"name": "oidc", "config": {
        "client-id": "tfguard", "idp-issuer-url": "https://issuer.invalid", "id-token": token}}}
    config = load_config(str(write_kubeconfig(tmp_path / "config", control_plane, oidc)))
    assert who(config) == user


def test_several_files_in_kubeconfig_and_contexts(control_plane, account, tmp_path, monkeypatch):
    user, token = account
    first = write_kubeconfig(tmp_path / "team", control_plane, {"token": token}, context="team", namespace="ml")
    admin_doc = yaml.safe_load(control_plane.kubeconfig.read_text())
    admin_doc["contexts"][0]["name"] = "admin"
    admin_doc["current-context"] = "admin"
    second = tmp_path / "admin"
    second.write_text(yaml.safe_dump(admin_doc))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(tmp_path / "absent"), str(second)]))
    config = load_config()  # current-context from the first file that sets it, as kubectl does
    assert who(config) == user and config.namespace == "ml"
    other = load_config(context="admin")
    assert who(other) == who(load_config(str(control_plane.kubeconfig)))
    with pytest.raises(ConfigError, match="no context named 'nope'"):
        load_config(context="nope")


def test_the_operator_runs_with_an_exec_plugin_kubeconfig(control_plane, namespace, tmp_path):
    """`tfguard operator run` outside the cluster, with a kubeconfig whose user is an exec plugin: it
    logs in and does its work (here: issuing the webhook's certificate Secret)."""
    import subprocess

    admin = yaml.safe_load(control_plane.kubeconfig.read_text())["users"][0]["user"]
    status = {"clientCertificateData": base64.b64decode(admin["client-certificate-data"]).decode(),
              "clientKeyData": base64.b64decode(admin["client-key-data"]).decode()}
    command, calls = exec_plugin(tmp_path, status)
    path = write_kubeconfig(tmp_path / "config", control_plane, exec_user(command))
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    log = open(tmp_path / "operator.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfguard.cli", "operator", "run", "--kubeconfig", str(path), "--standalone",
         "--namespace", namespace, "--webhook-cert-dir", str(tmp_path / "certs")],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        control_plane.wait_for(
            lambda: proc.poll() is not None or control_plane.kubectl(
                "get", "secret", "tfguard-webhook-tls", "-n", namespace, check=False).returncode == 0,
            timeout=90, what="the operator's certificate Secret",
        )
        log.seek(0)
        assert proc.poll() is None, log.read()[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert len(calls.read_text()) >= 2  # the command's config check, then the operator itself
