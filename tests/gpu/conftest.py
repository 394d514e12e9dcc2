"""The webhook in this process, watching the real control plane's Nodes, registered for one namespace."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tfguard.webhook.app import create_app
from tfguard.webhook.serve import build_server
from tfguard.webhook.settings import WebhookSettings
from tfguard.workload.store import FactStore

CRDS = ("imagestacks.yaml", "modelprofiles.yaml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def node_webhook(control_plane, namespace):
    """An enforcing webhook for `namespace` that watches Nodes; yields its app state (store, nodes)."""
    from pathlib import Path

    crds = Path(__file__).resolve().parents[2] / "charts" / "tfguard" / "crds"
    for crd in CRDS:
        control_plane.kubectl("apply", "-f", str(crds / crd))
    pair = control_plane.issue_certificate(f"webhook-{namespace}", hosts=["127.0.0.1"])
    settings = WebhookSettings(cert_file=str(pair.cert_path), key_file=str(pair.key_path), host="127.0.0.1",
                               port=_free_port(), kubeconfig=str(control_plane.kubeconfig), cache_sync_timeout=30)
    app = create_app(settings, FactStore())
    server = build_server(settings, app=app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "webhook server did not start"
        time.sleep(0.05)
    url = f"https://127.0.0.1:{settings.port}/validate/enforce"
    name = f"tfguard-gpu-{namespace}"
    control_plane.apply({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "validate.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "timeoutSeconds": 5,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "clientConfig": {"url": url, "caBundle": control_plane.ca_bundle},
            "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["deployments"]}],
        }],
    })
    yield app.state
    control_plane.kubectl("delete", "validatingwebhookconfiguration", name, "--ignore-not-found", check=False)
    server.should_exit = True
    thread.join(10)
