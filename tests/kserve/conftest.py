"""The real control plane with KServe's CRDs (tests/kserve/crds: minimal structural ones, no KServe
controller or webhook), and tfguard's webhook registered for InferenceServices and Pods."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tfguard.webhook.app import create_app
from tfguard.webhook.serve import build_server
from tfguard.webhook.settings import WebhookSettings
from tfguard.workload.store import FactStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KSERVE_CRDS = ("inferenceservices", "servingruntimes", "clusterservingruntimes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    def __init__(self, settings: WebhookSettings):
        self.settings = settings
        self.store = FactStore()
        self.server = build_server(settings, app=create_app(settings, self.store))
        self.url = f"https://127.0.0.1:{settings.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "Webhook":
        self.thread.start()
        deadline = time.monotonic() + 180  # loading the release knowledge is slow on a busy machine
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("webhook server did not start" + ("" if self.thread.is_alive() else " (its thread ended)"))
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def kserve_crds(control_plane):
    for name in KSERVE_CRDS:
        control_plane.kubectl("apply", "-f", str(HERE / "crds" / f"{name}.yaml"))
    for name in ("imagestacks", "modelprofiles"):
        control_plane.kubectl("apply", "-f", str(REPO / "charts" / "tfguard" / "crds" / f"{name}.yaml"))
    for crd in [f"{n}.serving.kserve.io" for n in KSERVE_CRDS] + ["imagestacks.tfguard.io", "modelprofiles.tfguard.io"]:
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    return control_plane


@pytest.fixture
def kserve_webhook(kserve_crds, namespace):
    """tfguard's webhook (watching the API server) registered in `mode` for this namespace's
    InferenceServices (validate) and Pods (mutate, reinvocationPolicy IfNeeded)."""
    cp = kserve_crds
    pair = cp.issue_certificate(f"webhook-{namespace}", hosts=["127.0.0.1"])
    settings = WebhookSettings(cert_file=str(pair.cert_path), key_file=str(pair.key_path), host="127.0.0.1",
                               port=free_port(), kubeconfig=str(cp.kubeconfig), cache_sync_timeout=30,
                               probe_image="tfguard/probe:test")
    hook = Webhook(settings).start()
    names: list[tuple[str, str]] = []

    def register(mode: str) -> Webhook:
        common = {"admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Ignore",
                  "timeoutSeconds": 5,
                  "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
        cp.apply([
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
             "metadata": {"name": f"tfguard-{namespace}"},
             "webhooks": [{"name": "validate.tfguard.io",
                           "clientConfig": {"url": f"{hook.url}/validate/{mode}", "caBundle": cp.ca_bundle},
                           "rules": [{"apiGroups": ["serving.kserve.io"], "apiVersions": ["v1beta1"],
                                      "operations": ["CREATE", "UPDATE"], "resources": ["inferenceservices"]}],
                           **common}]},
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
             "metadata": {"name": f"a-tfguard-{namespace}"},
             "webhooks": [{"name": "mutate.tfguard.io",
                           "clientConfig": {"url": f"{hook.url}/mutate/{mode}", "caBundle": cp.ca_bundle},
                           "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                      "resources": ["pods"]}],
                           "reinvocationPolicy": "IfNeeded", **common}]},
        ])
        names.extend([("validatingwebhookconfiguration", f"tfguard-{namespace}"),
                      ("mutatingwebhookconfiguration", f"a-tfguard-{namespace}")])
        return hook

    cp.wait_for(lambda: hook.store.synced and hook.store.runtimes.synced, timeout=60,
                what="webhook fact and runtime stores synced")
    yield register
    for kind, name in names:
        cp.kubectl("delete", kind, name, "--ignore-not-found", check=False)
    hook.stop()


class Operator:
    """`tfguard operator run --standalone` as a child process against the control plane; its log in a file."""

    def __init__(self, cp, namespace: str, log_path: Path, args: list[str]):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("KUBECONFIG", None)
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tfguard.cli", "operator", "run", "--kubeconfig", str(cp.kubeconfig),
             "--namespace", namespace, "--standalone", "--no-certificates", "--recheck-debounce", "0.5", *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def assert_running(self) -> None:
        assert self.process.poll() is None, f"operator exited:\n{self.output()}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@pytest.fixture
def kserve_operator(kserve_crds, tmp_path):
    """operator(*args): the tfguard operator watching the cluster (its own namespace made here)."""
    cp = kserve_crds
    home = f"tfguard-op-{uuid.uuid4().hex[:6]}"
    cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": home}})
    started: list[Operator] = []

    def start(*args: str) -> Operator:
        started.append(Operator(cp, home, tmp_path / f"operator-{len(started)}.log", list(args)))
        return started[-1]

    yield start
    for op in started:
        op.stop()
    cp.kubectl("delete", "namespace", home, "--wait=false", "--ignore-not-found", check=False)
