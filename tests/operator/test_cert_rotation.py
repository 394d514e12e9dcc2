"""A CA rotation and several serving-certificate renewals while the API server keeps calling the
real webhook (`tfguard webhook serve`, failurePolicy Fail): not one admission fails."""

from __future__ import annotations

import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import uuid

import pytest

from tfguard.operator.certs import load_certs
from harness.controlplane import free_port

pytestmark = pytest.mark.cluster
ROTATION = (
    "--ca-validity", "40", "--cert-validity", "12", "--renew-fraction", "0.5",
    "--bundle-propagation", "2", "--cert-check-interval", "1",
)


def served_certificate(port: int, ca_file: str) -> bytes:
    ctx = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def admission_probe(namespace: str) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"generateName": "probe-", "namespace": namespace,
                     "annotations": {"tfguard.io/model-producer-version": "2.15.1"}},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}},
                              "spec": {"containers": [{"name": "serve", "image": "tensorflow/serving:2.15.0"}]}}},
    }


def test_no_admission_fails_while_certificates_rotate(operator, namespace, crds, tmp_path):
    cp = crds
    config_name = f"tfguard-rotation-{uuid.uuid4().hex[:6]}"
    op = operator("--standalone", "--webhook-selector", f"tfguard.io/webhook-configuration={config_name}", *ROTATION)
    cert_dir = op.cert_dir
    cp.wait_for(lambda: (cert_dir / "tls.crt").exists() and (cert_dir / "tls.key").exists(), timeout=60,
                what="the operator's certificate files")

    port = free_port()
    log = open(tmp_path / "webhook.log", "wb")
    webhook = subprocess.Popen(
        [sys.executable, "-m", "tfguard.cli", "webhook", "serve", "--cert", str(cert_dir / "tls.crt"),
         "--key", str(cert_dir / "tls.key"), "--host", "127.0.0.1", "--port", str(port), "--no-watch",
         "--default-mode", "warn", "--namespace", op.namespace],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        cp.wait_for(lambda: _healthy(port, str(cert_dir / "ca.crt")), timeout=60, what="the webhook")
        cp.apply({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": config_name, "labels": {"tfguard.io/webhook-configuration": config_name}},
            "webhooks": [{
                "name": "validate.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                "failurePolicy": "Fail",  # a TLS failure would fail the admission: nothing hides it
                "timeoutSeconds": 5,
                "clientConfig": {"url": f"https://127.0.0.1:{port}/validate"},
                "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                           "operations": ["CREATE"]}],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            }],
        })
        cp.wait_for(
            lambda: cp.get("validatingwebhookconfiguration", config_name)["webhooks"][0]["clientConfig"].get("caBundle"),
            timeout=30, what="the injected caBundle",
        )
        time.sleep(1)  # the API server picks the new configuration up through its own watch

        admitted, failures, served, bundles = 0, [], set(), set()
        deadline = time.monotonic() + 50  # longer than the 20 s CA renewal point, with renewals every ~6 s
        while time.monotonic() < deadline:
            try:
                reply = cp.request("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments?dryRun=All",
                                   admission_probe(namespace))
                assert reply["kind"] == "Deployment"
                admitted += 1
            except urllib.error.HTTPError as exc:
                failures.append(f"{exc.code}: {exc.read()[:300]!r}")
            if admitted % 10 == 0:
                served.add(served_certificate(port, str(cert_dir / "ca.crt")))
                bundle = cp.get("validatingwebhookconfiguration", config_name)["webhooks"][0]["clientConfig"]["caBundle"]
                bundles.add(bundle)
        cas = {c.serial_number for b in bundles for c in load_certs(base64.b64decode(b))}
        print(f"admitted {admitted}, failed {len(failures)}, serving certificates seen {len(served)}, "
              f"CAs seen {len(cas)}, bundles seen {len(bundles)}")
        assert not failures, failures[:5]
        assert admitted > 100
        assert len(cas) >= 2, "the CA never rotated during the test"
        assert len(served) >= 3, "the serving certificate was not renewed during the test"
        op.assert_running()
    finally:
        os.killpg(webhook.pid, signal.SIGTERM)
        webhook.wait(timeout=15)
        log.close()
        cp.kubectl("delete", "validatingwebhookconfiguration", config_name, "--ignore-not-found", check=False)


def _healthy(port: int, ca_file: str) -> bool:
    try:
        ctx = ssl.create_default_context(cafile=ca_file)
        import urllib.request

        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ctx, timeout=2) as resp:
            return resp.status == 200
    except (OSError, ssl.SSLError):
        return False


def test_a_user_supplied_certificate_is_never_overwritten_but_its_ca_is_injected(operator, crds, tfguard_namespace):
    import datetime as dt

    from tfguard.operator.certs import CertState, plan
    from tfguard.operator.settings import OperatorSettings

    cp = crds
    config_name = f"tfguard-user-cert-{uuid.uuid4().hex[:6]}"
    # The user's own certificate and CA (made with the same library here; any CA would do).
    theirs, _ = plan(CertState(), OperatorSettings(), dt.datetime.now(dt.timezone.utc))
    cp.apply({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "tfguard-webhook-tls", "namespace": tfguard_namespace},
        "data": {k: base64.b64encode(theirs.data[k]).decode() for k in ("tls.crt", "tls.key", "ca.crt")},
    })
    before = cp.get("secret", "tfguard-webhook-tls", tfguard_namespace)
    cp.apply({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": config_name, "labels": {"tfguard.io/webhook-configuration": config_name}},
        "webhooks": [{
            "name": "mutate.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "clientConfig": {"url": "https://127.0.0.1:1/mutate"},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "operations": ["CREATE"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nothing-here"}},
        }],
    })
    try:
        op = operator("--standalone", "--webhook-selector", f"tfguard.io/webhook-configuration={config_name}",
                      "--cert-check-interval", "1")
        expected = base64.b64encode(theirs.data["ca.crt"]).decode()
        cp.wait_for(
            lambda: cp.get("mutatingwebhookconfiguration", config_name)["webhooks"][0]["clientConfig"].get("caBundle")
            == expected,
            timeout=30, what="the user's CA injected",
        )
        time.sleep(3)  # a few more certificate passes
        after = cp.get("secret", "tfguard-webhook-tls", tfguard_namespace)
        assert after["data"] == before["data"]
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert (op.cert_dir / "tls.crt").read_bytes() == theirs.data["tls.crt"]
        op.assert_running()
    finally:
        cp.kubectl("delete", "mutatingwebhookconfiguration", config_name, "--ignore-not-found", check=False)
