"""A real webhook server over TLS on a free port, and AdmissionReview documents to send it."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import httpx
import pytest

from harness.controlplane import CertificateAuthority
from tfguard.webhook.app import create_app
from tfguard.webhook.serve import build_server
from tfguard.webhook.settings import WebhookSettings
from tfguard.workload.store import FactStore


class RunningWebhook:
    """uvicorn serving the webhook app in a thread of the test process, over HTTPS."""

    def __init__(self, settings: WebhookSettings, store: FactStore, ca_path: Path):
        self.settings, self.store, self.ca_path = settings, store, ca_path
        self.app = create_app(settings, store)
        self.server = build_server(settings, app=self.app)
        self.url = f"https://127.0.0.1:{settings.port}"
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "RunningWebhook":
        self._thread.start()
        deadline = time.monotonic() + 90  # a loaded machine: the engine and its knowledge load first
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("webhook server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=str(self.ca_path)), timeout=10, **kwargs)

    def review(self, review: dict[str, Any], path: str = "/validate") -> dict[str, Any]:
        with self.client() as client:
            resp = client.post(path, json=review)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
        return body["response"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("webhook-ca"))


@pytest.fixture
def serving_pair(tls_ca, tmp_path):
    pair = tls_ca.issue(f"webhook-{uuid.uuid4().hex[:6]}", "tfguard-webhook", hosts=["127.0.0.1", "localhost"])
    return pair


@pytest.fixture
def start_webhook(tls_ca, serving_pair):
    """start_webhook(store=..., **settings) -> RunningWebhook (stopped after the test)."""
    running: list[RunningWebhook] = []

    def start(store: Optional[FactStore] = None, **overrides) -> RunningWebhook:
        settings = WebhookSettings(**{
            "cert_file": str(serving_pair.cert_path),
            "key_file": str(serving_pair.key_path),
            "host": "127.0.0.1",
            "port": free_port(),
            "watch": False,
            **overrides,
        })
        hook = RunningWebhook(settings, store or FactStore(), tls_ca.pair.cert_path).start()
        running.append(hook)
        return hook

    yield start
    for hook in running:
        hook.stop()


@pytest.fixture
def webhook(start_webhook) -> RunningWebhook:
    return start_webhook()


CHART = Path(__file__).resolve().parents[2] / "charts" / "tfguard"
CRDS = CHART / "crds"


def install_crds(control_plane) -> None:
    for crd in ("imagestacks.yaml", "modelprofiles.yaml"):
        control_plane.kubectl("apply", "-f", str(CRDS / crd))
    for crd in ("imagestacks.tfguard.io", "modelprofiles.tfguard.io"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")


def watching_webhook(control_plane, name: str, **overrides) -> RunningWebhook:
    """The webhook in this process, serving TLS with a certificate of the control plane's CA and
    keeping its fact store from watches on the control plane."""
    pair = control_plane.issue_certificate(f"webhook-{name}", hosts=["127.0.0.1"])
    settings = WebhookSettings(**{
        "cert_file": str(pair.cert_path), "key_file": str(pair.key_path), "host": "127.0.0.1",
        "port": free_port(), "kubeconfig": str(control_plane.kubeconfig), "cache_sync_timeout": 30, **overrides,
    })
    hook = RunningWebhook(settings, FactStore(), control_plane.ca_path).start()
    control_plane.wait_for(lambda: hook.store.synced, timeout=60, what="webhook fact store synced")
    return hook


@pytest.fixture
def chart_webhook(control_plane, tmp_path):
    """chart_webhook(**settings) -> RunningWebhook: the chart's own webhook configurations (its rules,
    matchConditions and namespace selectors, rendered by the real helm) pointed at a webhook served
    by this test. They cover every namespace but kube-system and the release's while the test runs;
    label a namespace tfguard.io/mode=MODE to pick its entry. Removed afterwards."""
    install_crds(control_plane)
    started: list[tuple[RunningWebhook, str]] = []

    def start(**overrides) -> RunningWebhook:
        release = f"t{uuid.uuid4().hex[:6]}"
        hook = watching_webhook(control_plane, release, **overrides)
        rendered = control_plane.helm(
            "template", release, str(CHART), "--namespace", f"{release}-system",
            "--show-only", "templates/webhook-configurations.yaml",
            "--set", f"webhook.external.url={hook.url}", "--set", f"webhook.external.caBundle={control_plane.ca_bundle}",
            "--set", "operator.enabled=false",
        ).stdout
        control_plane.kubectl("apply", "-f", "-", input=rendered)
        started.append((hook, rendered))
        return hook

    yield start
    for hook, rendered in started:
        control_plane.kubectl("delete", "-f", "-", "--ignore-not-found", input=rendered, check=False)
        hook.stop()


def wait_until_injecting(control_plane, namespace: str) -> None:
    """The API server picks up new webhook configurations asynchronously: a server-side dry run of an
    annotated Pod (one every Pod Security level admits) shows when the mutating webhook is called."""
    import json

    check = json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "registration-check", "namespace": namespace,
                     "annotations": {"tfguard.io/model-path": "/models/x"}},
        "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [{"name": "c", "image": "tensorflow/tensorflow:2.15.1", "securityContext": {
                     "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]},
    })
    control_plane.wait_for(
        lambda: "tfguard-probe" in control_plane.kubectl(
            "create", "--dry-run=server", "-o", "json", "-f", "-", input=check, check=False).stdout,
        what="mutating webhook registered",
    )


@pytest.fixture
def cluster_webhook(control_plane, namespace, tmp_path):
    install_crds(control_plane)
    hook = watching_webhook(control_plane, namespace)
    settings = hook.settings
    registered: list[tuple[str, str]] = []

    def register(mode: str) -> RunningWebhook:
        common = {
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Ignore",
            "timeoutSeconds": 5,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        }
        url = f"https://127.0.0.1:{settings.port}"
        validating = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": f"tfguard-{namespace}"},
            "webhooks": [{
                "name": "validate.tfguard.io",
                "clientConfig": {"url": f"{url}/validate/{mode}", "caBundle": control_plane.ca_bundle},
                "rules": [
                    {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                     "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"]},
                    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                     "resources": ["jobs", "cronjobs"]},
                ],
                **common,
            }],
        }
        mutating = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": f"tfguard-{namespace}"},
            "webhooks": [{
                "name": "mutate.tfguard.io",
                "clientConfig": {"url": f"{url}/mutate/{mode}", "caBundle": control_plane.ca_bundle},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
                "reinvocationPolicy": "IfNeeded",
                **common,
            }],
        }
        control_plane.apply([validating, mutating])
        registered.append(("validatingwebhookconfiguration", f"tfguard-{namespace}"))
        registered.append(("mutatingwebhookconfiguration", f"tfguard-{namespace}"))
        return hook

    yield register
    for kind, name in registered:
        control_plane.kubectl("delete", kind, name, "--ignore-not-found", check=False)
    hook.stop()
