"""On the real control plane: a user who can create Pods in namespace A cannot change a verdict in B.

Anyone who can create Pods can give an init container the probe's name and make its termination
message say anything. The operator takes a report only from the probe the webhook injects, and
what it learns from a Pod in A (an ImageStack with `observedIn: A`) counts in A alone, unless the
admin trusts A. Both halves run against the real webhook process (`tfguard webhook serve`, TLS,
registered with the API server for A and B) and the real operator process.

There is no kubelet here: the test writes the probe's termination message into the Pod status as
a kubelet would (`write_probe_status`), the report a real probe wrote in a real TF release. On a
real node (tests/e2e) the kubelet writes it and the same assertions hold.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import uuid

import httpx
import pytest

from harness.controlplane import free_port
from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts
from tfguard.compat.resources import model_profile_resource

from operator_helpers import REPO, annotations_of, tfguard_events, wait_for_pod, write_probe_status

pytestmark = [pytest.mark.cluster, pytest.mark.tf]

IMAGE = "registry.example/team/tf-server:7"  # not in the catalog: only a probe can say what it holds
DIGEST = "sha256:" + "7e" * 32
UNLOADABLE = ModelFacts(path="/models/future/1", format="saved_model", tensorflow_version="2.15.1",
                        graph_producer=1645, graph_min_consumer=10**6, ops=["Const", "Identity"])


class WebhookProcess:
    """`tfguard webhook serve` as a child process, watching the control plane."""

    def __init__(self, cp, tfguard_namespace: str, tmp_path, **env: str):
        self.cp = cp
        pair = cp.issue_certificate(f"webhook-{uuid.uuid4().hex[:6]}", hosts=["127.0.0.1"])
        self.port = free_port()
        self.log_path = tmp_path / f"webhook-{self.port}.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_") and k != "KUBECONFIG"}
        environ.update({"TFGUARD_NAMESPACE": tfguard_namespace, **env})
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tfguard.cli", "webhook", "serve", "--cert", str(pair.cert_path), "--key",
             str(pair.key_path), "--host", "127.0.0.1", "--port", str(self.port), "--kubeconfig", str(cp.kubeconfig)],
            stdout=self.log, stderr=subprocess.STDOUT, env=environ, cwd=REPO,
        )
        self.client = httpx.Client(base_url=f"https://127.0.0.1:{self.port}", timeout=10,
                                   verify=ssl.create_default_context(cafile=str(cp.ca_path)))
        cp.wait_for(self._synced, timeout=60, what="the webhook's fact store synced")

    def _synced(self) -> bool:
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]
        try:
            return "synced" in self.client.get("/readyz").text and "without" not in self.client.get("/readyz").text
        except httpx.HTTPError:
            return False

    def review(self, review: dict, path: str) -> dict:
        return self.client.post(path, json=review).json()["response"]

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def register(cp, webhook: WebhookProcess, modes: dict[str, str]) -> list[str]:
    """Validating and mutating entries for each namespace, in its mode; returns what to delete."""
    name = f"tenancy-{uuid.uuid4().hex[:6]}"
    url = f"https://127.0.0.1:{webhook.port}"

    def entries(endpoint: str, rules: list[dict]) -> list[dict]:
        return [{
            "name": f"{mode}-{namespace}.{endpoint}.tfguard.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Ignore", "timeoutSeconds": 5,
            "clientConfig": {"url": f"{url}/{endpoint}/{mode}", "caBundle": cp.ca_bundle},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "rules": rules, **({"reinvocationPolicy": "IfNeeded"} if endpoint == "mutate" else {}),
        } for namespace, mode in modes.items()]

    cp.apply([
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": name}, "webhooks": entries("validate", [
             {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]},
             {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}])},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": name}, "webhooks": entries("mutate", [
             {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}])},
    ])
    return [f"validatingwebhookconfiguration/{name}", f"mutatingwebhookconfiguration/{name}"]


def deployment(namespace: str, name: str, annotations: dict[str, str]) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                              "spec": {"containers": [{"name": "server", "image": IMAGE}]}}},
    }


def applied(cp, manifest: dict, *args: str):
    return cp.kubectl("apply", *args, "-f", "-", input=json.dumps(manifest), check=False)


def review_of(manifest: dict) -> dict:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "namespace": manifest["metadata"]["namespace"], "name": manifest["metadata"]["name"],
        "operation": "CREATE", "object": manifest}}


@pytest.fixture
def tenants(crds, tfguard_namespace):
    cp = crds
    made = []
    for label in ("tenant-a", "tenant-b"):
        name = f"{label}-{uuid.uuid4().hex[:6]}"
        cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        cp.apply(model_profile_resource(UNLOADABLE, "future", namespace=name))
        made.append(name)
    cp.wait_for(lambda: all(cp.kubectl("get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0
                            for ns in made), what="service accounts")
    yield made
    for name in made:
        cp.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_a_tenant_cannot_change_a_verdict_in_another_namespace(crds, operator, tfguard_namespace, tenants, probe_reports, tmp_path):
    cp = crds
    a, b = tenants
    _, report = probe_reports["verified"]  # what a real probe wrote: copied by the tenant, or written by the probe
    op = operator("--standalone", "--recheck-debounce", "0.5")
    hook = WebhookProcess(cp, tfguard_namespace, tmp_path)
    registered = register(cp, hook, {a: "warn", b: "enforce"})
    try:
        victim = deployment(b, "victim", {A.MODEL_PROFILE: "future"})
        cp.wait_for(lambda: "Warning: tfguard" in applied(cp, victim, "--dry-run=server").stderr, what="webhook registered")
        first = applied(cp, victim)
        assert first.returncode == 0 and "tfguard: unknown" in first.stderr, first.stderr  # nothing known about IMAGE

        # 1. A forged report: a hand-made `tfguard-probe` container in A, kept out of injection.
        forger = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "forger", "namespace": a, "annotations": {A.INJECT: "false", A.MODEL_PATH: "/models/m"}},
            "spec": {"initContainers": [{"name": A.PROBE_CONTAINER, "image": IMAGE, "command": ["sh", "-c", "cat /report"]}],
                     "containers": [{"name": "server", "image": IMAGE}]},
        }
        assert applied(cp, forger).returncode == 0
        write_probe_status(cp, a, "forger", IMAGE, DIGEST, report, 0)
        refused = cp.wait_for(lambda: [e for e in tfguard_events(cp, a, "forger") if e["reason"] == "TFGuardProbeNotTrusted"],
                              timeout=60, what="the operator's refusal of the forged report")
        assert "OPERATOR_PROBE_NOT_TRUSTED" in refused[0]["message"]

        # 2. The probe the webhook really injected, in A: its facts count, in A.
        cp.apply(deployment(a, "tenant", {A.MODEL_PATH: "/models/m"}))
        pod = wait_for_pod(cp, a, "tenant")
        inits = [c["name"] for c in cp.get("pod", pod, a)["spec"]["initContainers"]]
        assert inits == [A.PROBE_INSTALL_CONTAINER, A.PROBE_CONTAINER]
        write_probe_status(cp, a, pod, IMAGE, DIGEST, report, 0)
        def learned():
            return [s for s in cp.get("imagestacks")["items"] if s["spec"].get("imageDigest") == DIGEST]

        stacks = cp.wait_for(learned, timeout=60, what="an ImageStack from A's probe")
        assert [s["spec"].get("observedIn") for s in stacks] == [a]  # one, from A; the forged report made none

        in_a = deployment(a, "future-a", {A.MODEL_PROFILE: "future"})
        cp.wait_for(lambda: "tfguard: incompatible" in applied(cp, in_a, "--dry-run=server").stderr,
                    timeout=60, what="the webhook judging A's workloads with A's facts")
        # ... and at the same moment, B is judged as before: the facts from A do not apply there.
        in_b = deployment(b, "victim-2", {A.MODEL_PROFILE: "future"})
        result = applied(cp, in_b, "--dry-run=server")
        assert result.returncode == 0, result.stderr
        assert "incompatible" not in result.stderr and "tfguard: unknown" in result.stderr

        # The operator, likewise: A's workload gets the verdict from A's facts; B's do not.
        assert applied(cp, in_a).returncode == 0
        cp.wait_for(lambda: annotations_of(cp, a, "deployment", "future-a").get(A.VERDICT) == "incompatible",
                    timeout=60, what="A's verdict from A's facts")
        assert applied(cp, in_b).returncode == 0
        verdict = cp.wait_for(lambda: annotations_of(cp, b, "deployment", "victim-2").get(A.VERDICT),
                              timeout=60, what="B's verdict")
        assert verdict == "unknown"
        assert annotations_of(cp, b, "deployment", "victim").get(A.VERDICT) == "unknown"

        # 3. Only an admin's choice makes A's facts count everywhere.
        trusting = WebhookProcess(cp, tfguard_namespace, tmp_path, TFGUARD_TRUSTED_NAMESPACES=a)
        try:
            answer = trusting.review(review_of(in_b), "/validate/enforce")
            assert answer["allowed"] is False and "GRAPH_MIN_CONSUMER" in answer["status"]["message"]
        finally:
            trusting.stop()
        op.assert_running()
    finally:
        for name in registered:
            cp.kubectl("delete", name, "--ignore-not-found", check=False)
        hook.stop()
        for stack in cp.get("imagestacks")["items"]:
            if stack["spec"].get("imageDigest") == DIGEST:
                cp.kubectl("delete", "imagestack", stack["metadata"]["name"], "--ignore-not-found", check=False)
