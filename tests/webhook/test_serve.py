"""`tfguard webhook serve` as a process: health, readiness, metrics, JSON logs with the request uid."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
import pytest

from conftest import free_port
from tfguard import annotations as A

from webhook_documents import MODEL, admission_review, deployment, pod, pod_spec


@pytest.fixture
def served(serving_pair, tls_ca, tmp_path):
    port = free_port()
    log_path = tmp_path / "webhook.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_WEBHOOK_") and k != "KUBECONFIG"}
    env["TFGUARD_WEBHOOK_DEFAULT_MODE"] = "enforce"
    env["TFGUARD_WEBHOOK_HEADER_TIMEOUT"] = "1"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tfguard.cli", "webhook", "serve", "--cert", str(serving_pair.cert_path),
             "--key", str(serving_pair.key_path), "--host", "127.0.0.1", "--port", str(port), "--no-watch"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    client = httpx.Client(base_url=f"https://127.0.0.1:{port}", timeout=10,
                          verify=ssl.create_default_context(cafile=str(tls_ca.pair.cert_path)))
    deadline = time.monotonic() + 30
    while True:
        try:
            client.get("/healthz")
            break
        except httpx.HTTPError:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
    yield client, log_path
    client.close()
    process.terminate()
    process.wait(15)


def test_health_readiness_and_metrics(served):
    client, _ = served
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and "without caches" in ready.text
    assert client.post("/mutate", json=admission_review(pod(MODEL))).status_code == 200
    scraped = client.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped.text) for s in family.samples}
    outcome = {"webhook": "mutate", "kind": "Pod", "operation": "CREATE", "mode": "enforce",
               "verdict": "injected", "allowed": "true"}
    assert samples[("tfguard_admission_requests_total", tuple(sorted(outcome.items())))] == 1
    assert samples[("tfguard_admission_review_duration_seconds_bucket",
                    tuple(sorted({**outcome, "le": "+Inf"}.items())))] == 1
    assert samples[("tfguard_cache_objects", (("resource", "imagestacks"),))] == 0
    assert samples[("tfguard_webhook_ready", ())] == 1


def test_logs_are_json_lines_carrying_the_request_uid(served):
    client, log_path = served
    review = admission_review(deployment(annotations=MODEL, spec=pod_spec("registry.example/in-house/server:7")))
    assert client.post("/validate", json=review).json()["response"]["warnings"]
    client.post("/mutate", content=b"nonsense", headers={"Content-Type": "application/json"})
    client.get("/healthz")
    deadline = time.monotonic() + 10  # log lines are written in batches, every half second
    while True:
        lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
        admission = [l for l in lines if l.get("message") == "admission"]
        if admission or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert admission and admission[-1]["uid"] == review["request"]["uid"]
    assert admission[-1]["verdict"] == "unknown" and admission[-1]["level"] == "info"
    assert admission[-1]["codes"] and admission[-1]["kind"] == "Deployment"
    assert any(l.get("message") == "rejected request" and l["status"] == 400 for l in lines)


def test_the_process_answers_hostile_requests_clearly(served, tls_ca):
    """The same cases tests/webhook/test_bad_input.py and test_hostile_clients.py run in-process,
    against `tfguard webhook serve` itself."""
    import socket

    client, _ = served
    review = admission_review(deployment(annotations=MODEL))
    assert client.post("/validate", content=json.dumps(review), headers={"Content-Type": "text/notjson"}).status_code == 415
    assert client.post("/validate", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    broken = admission_review(deployment(annotations=MODEL))
    broken["request"]["object"]["metadata"]["annotations"] = ["tfguard.io/model-path=/m"]
    answer = client.post("/validate", json=broken).json()["response"]
    assert answer["allowed"] is False and answer["status"]["code"] == 400  # enforce: denied, the field named
    assert "metadata.annotations" in answer["status"]["message"]

    port = int(str(client.base_url).rsplit(":", 1)[1].strip("/"))
    context = ssl.create_default_context(cafile=str(tls_ca.pair.cert_path))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="127.0.0.1") as slow:
        slow.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\n")
        assert slow.recv(1024).startswith(b"HTTP/1.1 408")  # the header deadline (1 s here) cut it off
    assert client.get("/healthz").status_code == 200


def test_serve_without_certificates_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "tfguard.cli", "webhook", "serve"], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_WEBHOOK_")})
    assert result.returncode == 2 and "HTTPS only" in result.stderr


def test_readiness_waits_for_the_caches_then_gives_up_and_serves_without_them(start_webhook, tmp_path):
    import yaml

    unreachable = tmp_path / "kubeconfig"
    unreachable.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": f"https://127.0.0.1:{free_port()}", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
    }))
    hook = start_webhook(watch=True, kubeconfig=str(unreachable), cache_sync_timeout=2)
    with hook.client() as client:
        assert client.get("/readyz").status_code == 503
        # admissions are answered all the same, from annotations and the catalog
        assert client.post("/mutate", json=admission_review(pod(MODEL))).json()["response"]["allowed"] is True
        deadline = time.monotonic() + 20
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "without caches" in client.get("/readyz").text
