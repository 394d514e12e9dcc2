"""Admission webhook: throughput and latency against bare endpoints, measured side by side.

The floor is `bare`: a raw ASGI endpoint that parses the review and answers `allowed` with its uid.
Beside it: `bare-echo` (parses the review and echoes the same JSON back), `fastapi` (a plain FastAPI
endpoint doing what `bare` does), the webhook, the webhook with metrics recording off (what
prometheus_client costs the whole server) and the webhook with its verdict memo off. All servers run
as their own processes under uvicorn with TLS from the same throwaway CA. The load comes from two
tools, each its own process, run on the same servers in the same rounds: wrk (the Debian package;
C, epoll, OpenSSL) and bench/loadgen.py (Python, uvloop), so each validates the other. The request is
a Deployment AdmissionReview with tfguard annotations, so the webhook runs its whole path (parse,
resolve, verdict, answer): TFGUARD_BENCH_REVIEW=compact (default, 3.3 KB: the object without
managedFields and last-applied) or kubectl (5.7 KB, as `kubectl apply` makes it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GOALS = {"p99_ms_at_500": 5.0, "throughput_ratio": 0.8, "rss_mb": 120.0}
DURATION = float(os.environ.get("TFGUARD_BENCH_SECONDS", "3"))
REVIEW = os.environ.get("TFGUARD_BENCH_REVIEW", "compact")
ROUNDS = int(os.environ.get("TFGUARD_BENCH_ROUNDS", "3"))
# wrk opens its connections inside its timed window (64 TLS handshakes), loadgen before it: at 3 s
# that alone made wrk report 0.06-0.38x loadgen's req/s on the same servers; 10 s amortises it.
WRK_SECONDS = float(os.environ.get("TFGUARD_BENCH_WRK_SECONDS", "10"))
RATE = float(os.environ.get("TFGUARD_BENCH_RATE", "500"))  # the open loop's requests/s; 0 leaves it out


def deployment_review(shape: str = "kubectl") -> dict:
    """What the API server sends for a typical `kubectl apply` of a model server (5.7 KB); `compact`
    leaves out managedFields and the last-applied annotation (3.3 KB)."""
    name = "resnet-serving"
    env = [{"name": f"SETTING_{i}", "value": f"value-{i}"} for i in range(12)]
    container = {
        "name": "server",
        "image": "tensorflow/serving:2.15.0",
        "args": ["--model_name=resnet", "--model_base_path=/models/resnet", "--rest_api_port=8501"],
        "ports": [{"containerPort": 8500, "name": "grpc", "protocol": "TCP"},
                  {"containerPort": 8501, "name": "http", "protocol": "TCP"}],
        "env": env,
        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}},
        "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True},
                         {"name": "config", "mountPath": "/etc/serving"}],
        "readinessProbe": {"httpGet": {"path": "/v1/models/resnet", "port": 8501}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": 8500}, "initialDelaySeconds": 30},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    sidecar = {"name": "metrics-proxy", "image": "example/metrics-proxy:1.4.2", "ports": [{"containerPort": 9102}],
               "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}
    annotations = {
        "tfguard.io/model-producer-version": "2.15.1",
        "tfguard.io/model-path": "/models/resnet/1",
        "tfguard.io/model-loader": "saved_model",
        "tfguard.io/container": "server",
        "kubectl.kubernetes.io/last-applied-configuration": "{" + '"x":1,' * 200 + '"y":2}',
    }
    managed = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                "time": "2026-11-25T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {f"f:{k}": {} for k in annotations}},
                             "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"server"}': {
                                 f"f:{k}": {} for k in container}}}}}}}]
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "serving", "uid": str(uuid.uuid4()), "generation": 1,
                     "labels": {"app": name, "team": "vision", "tier": "inference"},
                     "annotations": annotations, "managedFields": managed,
                     "creationTimestamp": None},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name, "team": "vision"}},
                "spec": {
                    "containers": [container, sidecar],
                    "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}},
                                {"name": "config", "configMap": {"name": "serving-config"}}],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                    "schedulerName": "default-scheduler",
                },
            },
        },
        "status": {},
    }
    if shape == "compact":
        del obj["metadata"]["managedFields"], annotations["kubectl.kubernetes.io/last-applied-configuration"]
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "requestResource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": name,
            "namespace": "serving",
            "operation": "CREATE",
            "userInfo": {"username": "alice@example.com", "groups": ["developers", "system:authenticated"]},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions", "fieldManager": "kubectl-client-side-apply"},
        },
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    """The server's port accepts connections (six servers starting at once on a loaded 2-core machine
    take a while)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start listening in {timeout:.0f}s")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()


def rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def not_run(errors: int = 0) -> dict:
    nan = float("nan")
    return {"requests": 0, "throughput": nan, "p50_ms": nan, "p99_ms": nan, "errors": errors, "cpu_us_per_request": nan}


def load(kind: str, url: str, body: Path, ca: Path, pid: int, **options) -> dict:
    """One run of the load generator; adds the server's CPU time per answered request."""
    argv = [sys.executable, "-m", "bench.loadgen", kind, "--url", url, "--body", str(body), "--ca", str(ca),
            "--duration", str(DURATION)]
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    before = cpu_seconds(pid)
    out = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    if out.returncode != 0:  # a failed run is reported and counted, and the rounds go on
        print(f"loadgen {kind} against {url} failed ({out.returncode}): {out.stderr[-1500:]}", flush=True)
        return not_run(errors=1)
    result = json.loads(out.stdout)
    # warm-up requests are served too, so this slightly over-counts; equally for every server
    result["cpu_us_per_request"] = round((cpu_seconds(pid) - before) * 1e6 / max(result["requests"], 1), 1)
    return result


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("TFGUARD_BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
"""
_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_load(wrk: Path, url: str, body: Path, pid: int, connections: int = 64) -> dict:
    """One wrk run (2 threads, `connections` keep-alive TLS connections) against `url`."""
    script = body.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    before = cpu_seconds(pid)
    out = subprocess.run([str(wrk), "-t2", f"-c{connections}", f"-d{WRK_SECONDS:g}s", "--timeout", "10s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True, env={**os.environ, "TFGUARD_BENCH_BODY": str(body)}).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result = {"requests": requests, "throughput": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for q in ("50", "99"):
        found = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:  # no request completed: wrk prints no distribution
            print(f"wrk against {url}: no latency distribution:\n{out[-1500:]}", flush=True)
        result[f"p{q}_ms"] = float(found.group(1)) * _WRK_UNITS[found.group(2)] if found else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(bad.group(1)) if bad else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    result["cpu_us_per_request"] = round((cpu_seconds(pid) - before) * 1e6 / max(requests, 1), 1)
    return result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def start_webhook(pair, port: int, log: Path, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_server", "--cert", str(pair.cert_path), "--key", str(pair.key_path),
         "--host", "127.0.0.1", "--port", str(port), "--no-watch", "--default-mode", "warn", *extra],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).parent.parent,
    )


def in_process_costs(body: bytes, n: int = 3000) -> dict[str, float]:
    """CPU microseconds per request of the application work alone (no TLS, no HTTP), in this process:
    a figure the other processes on a shared machine disturb far less than wall-clock throughput."""
    import logging

    from tfguard.workload.store import FactStore
    from tfguard.webhook.models import parse_review, review_response
    from tfguard.webhook.serve import _JsonFormatter
    from tfguard.webhook.validate import VerdictMemo, validate

    from tfguard.webhook.metrics import Metrics

    store, memo, cold = FactStore(), VerdictMemo(), VerdictMemo(0)
    metrics = Metrics(store, memo)
    handler = logging.StreamHandler(open(os.devnull, "w"))
    handler.setFormatter(_JsonFormatter())
    logger = logging.getLogger("tfguard.bench.sink")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)

    def bare():
        review = json.loads(body)
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "response": {"uid": review["request"]["uid"], "allowed": True}}, separators=(",", ":")).encode()

    def webhook(memo):
        def run():
            req = parse_review(body).request
            outcome = validate(req, "warn", store, memo)
            json.dumps(review_response(outcome.response(req.uid)), separators=(",", ":")).encode()
            metrics.observe("validate", req.kind.kind, req.operation, outcome.mode, outcome.verdict, outcome.allowed, 4e-5)
            if outcome.allowed and not outcome.warnings:
                return  # the webhook logs quiet admissions at DEBUG only
            logger.info("admission", extra={"uid": req.uid, "kind": req.kind.kind, "namespace": req.namespace,
                                            "object": req.name, "verdict": outcome.verdict, "mode": outcome.mode,
                                            "allowed": outcome.allowed, "codes": [f.code for f in outcome.findings]})
        return run

    def observe():
        metrics.observe("validate", "Deployment", "CREATE", "warn", "compatible", True, 4e-5)

    costs = {}
    for name, fn in (("bare", bare), ("webhook", webhook(memo)), ("webhook-cold", webhook(cold)), ("metrics", observe)):
        fn()
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(n):
                fn()
            best = min(best, (time.process_time() - start) / n * 1e6)
        costs[name] = round(best, 1)
    return costs


NAMES = ("bare", "bare-echo", "fastapi", "webhook", "webhook-nometrics", "webhook-cold")


def main() -> int:
    from bench.tools import wrk as find_wrk
    from harness.controlplane import CertificateAuthority

    wrk = find_wrk()
    load_before = os.getloadavg()

    work = Path(tempfile.mkdtemp(prefix="tfguard-webhook-bench-"))
    ca = CertificateAuthority(work)
    pair = ca.issue("server", "bench", hosts=["127.0.0.1"])
    body = work / "review.json"
    body.write_text(json.dumps(deployment_review(REVIEW)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_WEBHOOK_") and k != "KUBECONFIG"}
    repo = Path(__file__).parent.parent

    ports = {name: free_port() for name in NAMES}
    logs = {name: work / f"{name}.log" for name in ports}

    def start_bare(name: str, app: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
             str(ports[name]), "--ssl-certfile", str(pair.cert_path), "--ssl-keyfile", str(pair.key_path),
             "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "60"],
            stdout=open(logs[name], "wb"), stderr=subprocess.STDOUT, env=env, cwd=repo,
        )

    def modules_env(name: str, **extra: str) -> dict:
        return {**env, "TFGUARD_BENCH_MODULES_REPORT": str(work / f"modules-{name}.json"), **extra}

    servers = {
        "bare": start_bare("bare", "bench.bare_echo:app"),
        "bare-echo": start_bare("bare-echo", "bench.bare_echo:echo_app"),
        "fastapi": start_bare("fastapi", "bench.bare_echo:fastapi_app"),
        "webhook": start_webhook(pair, ports["webhook"], logs["webhook"], modules_env("webhook")),
        "webhook-nometrics": start_webhook(pair, ports["webhook-nometrics"], logs["webhook-nometrics"],
                                           modules_env("webhook-nometrics", TFGUARD_BENCH_NO_METRICS="1")),
        # the same webhook with no verdict memo: every request resolves and evaluates from scratch
        "webhook-cold": start_webhook(pair, ports["webhook-cold"], logs["webhook-cold"], modules_env("webhook-cold"),
                                      "--verdict-cache-bytes", "0"),
    }
    urls = {name: f"https://127.0.0.1:{ports[name]}/" + ("validate/warn" if name.startswith("webhook") else "")
            for name in NAMES}
    closed: dict[str, list[dict]] = {name: [] for name in servers}
    by_wrk: dict[str, list[dict]] = {name: [] for name in servers}
    rate: dict[str, list[dict]] = {name: [] for name in servers}
    try:
        for name, process in servers.items():
            wait_listening(ports[name], process, logs[name])
        import httpx

        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca.pair.cert_path))) as client:
            answer = client.post(urls["webhook"], content=body.read_bytes(),
                                 headers={"Content-Type": "application/json"}).json()["response"]
        verdict = answer["auditAnnotations"]["verdict"]
        assert verdict not in ("error", "skipped"), f"the webhook did not judge the request: {answer}"
        # Interleaved rounds: the machine is shared, so each comparison is between runs seconds apart;
        # the order of the servers turns round each round, so none always runs first.
        for n in range(ROUNDS):
            order = list(servers)[n % len(servers):] + list(servers)[: n % len(servers)]
            for name in order:
                by_wrk[name].append(wrk_load(wrk, urls[name], body, servers[name].pid))
                closed[name].append(load("closed", urls[name], body, ca.pair.cert_path, servers[name].pid, concurrency=64))
            for name in order:
                rate[name].append(load("rate", urls[name], body, ca.pair.cert_path, servers[name].pid, rate=RATE)
                                  if RATE else not_run())
        rss, peak = rss_mb(servers["webhook"].pid)
        bare_rss, _ = rss_mb(servers["bare"].pid)
    finally:
        for process in servers.values():
            process.send_signal(signal.SIGTERM)
        for process in servers.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    modules = json.loads((work / "modules-webhook.json").read_text())
    load_after = os.getloadavg()
    app_costs = in_process_costs(body.read_bytes())

    def ratios(runs: dict, name: str, key: str = "throughput", base: str = "bare") -> list[float]:
        return [w[key] / b[key] for w, b in zip(runs[name], runs[base])]

    def med(runs: dict, name: str, key: str) -> float:
        return median([r[key] for r in runs[name]])

    print(f"Admission webhook bench: {len(body.read_bytes())}-byte Deployment AdmissionReview ({REVIEW}; verdict "
          f"{verdict!r}), TLS, {os.cpu_count()} CPUs shared with other work; {ROUNDS} interleaved rounds of "
          f"{DURATION:g}s per run; medians (ratio = median of per-round ratios against bare)")
    print(f"{'':30}" + "".join(f"{n[:13]:>14}" for n in NAMES))
    rows = [
        ("wrk 64 conns: req/s", by_wrk, "throughput", "{:>14.0f}"),
        ("wrk 64 conns: p50 ms", by_wrk, "p50_ms", "{:>14.2f}"),
        ("wrk 64 conns: p99 ms", by_wrk, "p99_ms", "{:>14.2f}"),
        ("wrk: server CPU us/req", by_wrk, "cpu_us_per_request", "{:>14.0f}"),
        ("loadgen 64 conns: req/s", closed, "throughput", "{:>14.0f}"),
        ("loadgen 64 conns: p50 ms", closed, "p50_ms", "{:>14.2f}"),
        ("loadgen 64 conns: p99 ms", closed, "p99_ms", "{:>14.2f}"),
        ("loadgen: server CPU us/req", closed, "cpu_us_per_request", "{:>14.0f}"),
        ("loadgen 500 req/s: p50 ms", rate, "p50_ms", "{:>14.2f}"),
        ("loadgen 500 req/s: p99 ms", rate, "p99_ms", "{:>14.2f}"),
        ("500 req/s: server CPU us/req", rate, "cpu_us_per_request", "{:>14.0f}"),
    ]
    for label, runs, key, fmt in rows:
        print(f"{label:30}" + "".join(fmt.format(med(runs, n, key)) for n in NAMES))
    for tool, runs in (("wrk", by_wrk), ("loadgen", closed)):
        for name in NAMES[1:]:
            per_round = ratios(runs, name)
            cpu = median([b["cpu_us_per_request"] / w["cpu_us_per_request"] for w, b in zip(runs[name], runs["bare"])])
            print(f"{tool:8} {name:18} throughput {median(per_round):.2f}x bare (per round: "
                  f"{', '.join(f'{r:.2f}' for r in per_round)}); by CPU per request {cpu:.2f}x")
    for name in NAMES:
        agree = [w["throughput"] / g["throughput"] for w, g in zip(by_wrk[name], closed[name])]
        print(f"wrk / loadgen req/s, {name}: {median(agree):.2f} (per round: {', '.join(f'{a:.2f}' for a in agree)})")
    print("application work alone, CPU us per request (in-process, best of 3): "
          + ", ".join(f"{k} {v:.0f}" for k, v in app_costs.items()))
    print(f"load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} CPUs")
    errors = sum(r["errors"] for runs in (*closed.values(), *rate.values(), *by_wrk.values()) for r in runs)
    print(f"errors: {errors}")
    print(f"webhook RSS after load: {rss:.1f} MB (peak {peak:.1f} MB); bare endpoint RSS {bare_rss:.1f} MB")
    print(f"tensorflow imported by the webhook: {modules['tensorflow_imported']} ({modules['modules']} modules loaded)")
    p99 = med(rate, "webhook", "p99_ms")
    goals = [
        ("p99 at 500 req/s <= 5 ms", p99 <= GOALS["p99_ms_at_500"]),
        ("wrk: throughput >= 0.8x the raw ASGI floor (bare) in every round",
         min(ratios(by_wrk, "webhook")) >= GOALS["throughput_ratio"]),
        ("loadgen: throughput >= 0.8x the raw ASGI floor (bare) in every round",
         min(ratios(closed, "webhook")) >= GOALS["throughput_ratio"]),
        ("RSS <= 120 MB", peak <= GOALS["rss_mb"]),
    ]
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    assert not modules["tensorflow_imported"], "the webhook imported tensorflow"
    assert errors == 0, f"{errors} requests failed"
    return 0


if __name__ == "__main__":
    sys.exit(main())
