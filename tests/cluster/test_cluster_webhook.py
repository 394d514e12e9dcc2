"""The local API server calls a validating webhook at https://127.0.0.1:PORT with the harness CA in
caBundle, and honours its denial: the webhook's message reaches kubectl's stderr."""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class DenyForbiddenConfigMaps(BaseHTTPRequestHandler):
    """Denies ConfigMaps whose name starts with `forbidden-`; records every review it gets."""

    reviews: list

    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = review["request"]
        self.server.reviews.append(request)
        name = request["object"]["metadata"].get("name", "")
        response = {"uid": request["uid"], "allowed": not name.startswith("forbidden-")}
        if not response["allowed"]:
            response["status"] = {"code": 403, "message": f"tfguard test webhook says no to {name}"}
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_server(control_plane):
    pair = control_plane.issue_certificate("test-webhook", hosts=["127.0.0.1"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), DenyForbiddenConfigMaps)
    server.reviews = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pair.cert_path, pair.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def registered_webhook(control_plane, namespace, webhook_server):
    port = webhook_server.server_address[1]
    name = f"deny-forbidden-{namespace}"
    control_plane.apply({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "deny-forbidden.tfguard.test",
            "clientConfig": {"url": f"https://127.0.0.1:{port}/validate", "caBundle": control_plane.ca_bundle},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}],
            # Only this test's namespace: other tests share the session's API server.
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5,
        }],
    })
    # The API server picks up a new webhook configuration asynchronously: create harmless
    # ConfigMaps until the webhook has seen one.
    attempt = iter(range(1_000_000))
    control_plane.wait_for(
        lambda: control_plane.kubectl("create", "configmap", f"allowed-{next(attempt)}", "-n", namespace)
        and webhook_server.reviews,
        what="the webhook to receive its first review",
    )
    yield webhook_server
    control_plane.kubectl("delete", "validatingwebhookconfiguration", name, "--ignore-not-found")


def test_api_server_calls_the_webhook_and_honours_its_denial(control_plane, namespace, registered_webhook):
    cp = control_plane
    seen = registered_webhook.reviews[-1]
    assert seen["namespace"] == namespace and seen["name"].startswith("allowed-")
    assert seen["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}

    denied = cp.kubectl("create", "configmap", "forbidden-model", "-n", namespace, check=False)

    assert denied.returncode != 0
    assert 'admission webhook "deny-forbidden.tfguard.test" denied the request' in denied.stderr
    assert "tfguard test webhook says no to forbidden-model" in denied.stderr
    assert cp.kubectl("get", "configmap", "forbidden-model", "-n", namespace, check=False).returncode != 0


def test_webhook_only_sees_its_own_namespace(control_plane, registered_webhook):
    reviews_before = len(registered_webhook.reviews)
    other = control_plane.kubectl("create", "configmap", "forbidden-elsewhere", "-n", "default", check=False)
    try:
        assert other.returncode == 0, other.stderr
        assert len(registered_webhook.reviews) == reviews_before
    finally:
        control_plane.kubectl("delete", "configmap", "forbidden-elsewhere", "-n", "default", "--ignore-not-found")
