"""The latency tfguard adds at the API server: 50 concurrent creators, with and without its webhooks.

The user-facing figure: what `kubectl apply` (and a controller creating Pods) waits for. One real local
control plane (harness/controlplane.py: etcd, kube-apiserver, kube-controller-manager), tfguard
installed by its Helm chart with the webhook as a local process (harness/localinstall.py, watching
ImageStacks and ModelProfiles as in a cluster). The load is vegeta (bench/tools.py), a Go HTTP load
tool: a closed loop of 50 workers (`-rate=0 -workers=50 -max-workers=50`), the admin client
certificate, HTTP/2 as client-go speaks it, so the load generator costs little CPU beside the API
server on a 2-core machine. Each worker creates objects and deletes them again (object i is deleted
after object i+LAG is created), so the namespace stays small.

Arms, interleaved (with, without, without, with, ...), each round the same number of seconds:
  with      the chart's ValidatingWebhookConfiguration and MutatingWebhookConfiguration registered;
  without   both deleted (the webhook process keeps running, idle).
Workloads, each its own rounds:
  deployment  a ~3 KB annotated Deployment (`kubectl apply`-shaped: last-applied annotation) on
              tensorflow/serving in an `enforce` namespace (validating path: verdict compatible);
  pod         a Pod on tensorflow/tensorflow with tfguard annotations (mutating path: the probe's two
              init containers are injected);
  profile     a Deployment naming a ModelProfile of 2,000 ops (validating path, every op judged; a
              `warn` namespace, since the profile's invented ops make it incompatible).
Every object's container has its own name, so the webhook's request-level memo never hits; what
is shared is the engine's verdict on a ModelProfile (the same profile on the same image), as it is
between distinct workloads in a cluster.
Printed per workload: p50/p99 of create (and delete) latency in both arms, the p99 tfguard adds, the
create throughput ratio, and CPU per create of each process, from /proc.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

CONCURRENCY = int(os.environ.get("TFGUARD_BENCH_CONCURRENCY", "50"))
SECONDS = float(os.environ.get("TFGUARD_BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("TFGUARD_BENCH_ROUNDS", "3"))
WORKLOADS = os.environ.get("TFGUARD_BENCH_WORKLOADS", "deployment,pod,profile").split(",")
PROFILE_OPS = 2000
LAG = 200  # saturated: object i is deleted once object i + LAG has been handed out (LAG > CONCURRENCY)
PACED_LAG = 20  # paced: in flight are a few, so object i lives about LAG / rate seconds
PACED_SHARE = float(os.environ.get("TFGUARD_BENCH_PACED_SHARE", "0.33"))
GOALS = {"added_p99_ms": 5.0, "throughput_ratio": 0.9}
ENFORCE, WARN = "bench-enforce", "bench-warn"


# -- the objects -----------------------------------------------------------------------------------


def _template(name: str, image: str, annotations: dict[str, str], container: str) -> dict:
    return {
        "metadata": {"labels": {"app": name, "team": "vision"}, "annotations": dict(annotations)},
        "spec": {
            "containers": [{
                "name": container,
                "image": image,
                "args": ["--model_name=resnet", "--model_base_path=/models/resnet", "--rest_api_port=8501"],
                "ports": [{"containerPort": 8500, "name": "grpc"}, {"containerPort": 8501, "name": "http"}],
                "env": [{"name": f"SETTING_{i}", "value": f"value-{i}"} for i in range(6)],
                "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}},
                "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": True}],
                "readinessProbe": {"httpGet": {"path": "/v1/models/resnet", "port": 8501}, "periodSeconds": 5},
            }],
            "volumes": [{"name": "models", "emptyDir": {}}],
        },
    }


def deployment(name: str, namespace: str, annotations: dict[str, str]) -> dict:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name},
                     "annotations": dict(annotations)},
        # replicas 0: the deployment controller still makes a ReplicaSet (judged by tfguard too), no Pods
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": _template(name, "tensorflow/serving:2.15.0", annotations, f"server-{name[-12:]}")},
    }
    obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(
        obj, separators=(",", ":"))
    return obj


def pod(name: str, namespace: str, annotations: dict[str, str]) -> dict:
    template = _template(name, "tensorflow/tensorflow:2.15.1", annotations, f"server-{name[-12:]}")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, **template["metadata"]}, "spec": template["spec"]}


MODEL = {"tfguard.io/model-producer-version": "2.15.1", "tfguard.io/model-path": "/models/resnet/1",
         "tfguard.io/model-loader": "saved_model"}
PROFILED = {"tfguard.io/model-profile": "big", "tfguard.io/model-path": "/models/big/1",
            "tfguard.io/model-loader": "saved_model"}

WORKLOAD_SHAPES = {
    # name: (namespace, collection path, object maker, annotations)
    "deployment": (ENFORCE, "/apis/apps/v1/namespaces/{ns}/deployments", deployment, MODEL),
    "pod": (ENFORCE, "/api/v1/namespaces/{ns}/pods", pod, MODEL),
    "profile": (WARN, "/apis/apps/v1/namespaces/{ns}/deployments", deployment, PROFILED),
}


def big_profile(namespace: str) -> dict:
    """A ModelProfile of 2,000 ops: every op TF 2.15 registers, plus ones it lacks, up to 2,000."""
    from tfguard.compat.releases import release

    tf = release("2.15.1")
    known = sorted(tf.ops)
    ops = (known + [f"BenchCustomOp{i}" for i in range(PROFILE_OPS)])[:PROFILE_OPS]
    # as `tfguard inspect` records a model saved by 2.15.1: each op with the attrs its OpDef declares
    attrs = {op: sorted(tf.op_attrs[op]) + ["_output_shapes"] if op in tf.ops else ["T"] for op in ops}
    return {
        "apiVersion": "tfguard.io/v1alpha1", "kind": "ModelProfile",
        "metadata": {"name": "big", "namespace": namespace},
        "spec": {"source": "/models/big/1", "format": "saved_model", "producerVersion": "2.15.1",
                 "graphDef": {"producer": 1645, "minConsumer": 0},
                 "ops": ops, "opAttrs": attrs, "opCount": len(ops)},
    }


# -- the load --------------------------------------------------------------------------------------


def targets(workload: str, tag: str, server: str, lag: int = LAG):
    """vegeta's JSON target lines, forever: create i, and delete i - lag."""
    namespace, path, make, annotations = WORKLOAD_SHAPES[workload]
    url = server + path.format(ns=namespace)
    header = {"Content-Type": ["application/json"]}
    for i in itertools.count():
        name = f"{workload[:3]}-{tag}-{i:06d}"
        body = base64.b64encode(json.dumps(make(name, namespace, annotations), separators=(",", ":")).encode()).decode()
        yield (json.dumps({"method": "POST", "url": url, "body": body, "header": header}) + "\n").encode()
        if i >= lag:
            gone = f"{workload[:3]}-{tag}-{i - lag:06d}"
            yield (json.dumps({"method": "DELETE", "url": f"{url}/{gone}"}) + "\n").encode()


def attack(vegeta: Path, cp, lines, seconds: float, out: Path, rate: float = 0) -> list[dict]:
    """rate 0: a closed loop of CONCURRENCY workers; else an open loop at `rate` requests/s (at most
    CONCURRENCY in flight)."""
    pace = [f"-rate={max(1, round(rate))}/1s", "-workers=10"] if rate else ["-rate=0", f"-workers={CONCURRENCY}"]
    argv = [str(vegeta), "attack", "-lazy", "-format=json", *pace,
            f"-max-workers={CONCURRENCY}", f"-duration={seconds}s", "-timeout=30s",
            f"-cert={cp.admin.cert_path}", f"-key={cp.admin.key_path}", f"-root-certs={cp.ca_path}",
            f"-output={out}"]
    log = out.with_suffix(".log")
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=open(log, "wb"))

    def feed():
        try:
            for line in lines:
                process.stdin.write(line)
        except (BrokenPipeError, ValueError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    process.wait(timeout=seconds + 120)
    if process.returncode != 0:
        raise RuntimeError(f"vegeta attack failed ({process.returncode}): {log.read_text()[-1500:]}")
    encoded = subprocess.run([str(vegeta), "encode", "-to", "json", str(out)], capture_output=True, check=True)
    results = []
    for line in encoded.stdout.splitlines():
        r = json.loads(line)
        results.append({"method": r["method"], "code": r["code"], "latency": r["latency"] / 1e9,
                        "at": _timestamp(r["timestamp"]), "error": r.get("error", "")})
    out.unlink()
    return results


_FRACTION = re.compile(r"\.(\d+)")


def _timestamp(text: str) -> float:
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(results: list[dict]) -> dict:
    creates = [r for r in results if r["method"] == "POST"]
    deletes = [r for r in results if r["method"] == "DELETE"]
    ok = [r for r in creates if r["code"] == 201]
    start = min(r["at"] for r in results)
    end = max(r["at"] + r["latency"] for r in results)
    return {
        "creates": len(creates), "created": len(ok), "deletes": len(deletes),
        "failed": sum(1 for r in results if r["code"] not in (200, 201, 202, 404)),
        "codes": sorted({r["code"] for r in results}),
        "errors": sorted({r["error"] for r in results if r["error"]})[:3],
        "seconds": end - start,
        "creates_per_s": len(ok) / (end - start),
        "create_p50_ms": quantile([r["latency"] for r in ok], 0.50) * 1000,
        "create_p99_ms": quantile([r["latency"] for r in ok], 0.99) * 1000,
        "delete_p50_ms": quantile([r["latency"] for r in deletes], 0.50) * 1000,
        "delete_p99_ms": quantile([r["latency"] for r in deletes], 0.99) * 1000,
    }


# -- the arms --------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Webhooks:
    """Registers and removes the chart's two webhook configurations, and knows when that took effect."""

    KINDS = ("validatingwebhookconfiguration", "mutatingwebhookconfiguration")

    def __init__(self, cp, tfguard):
        self.cp, self.tfguard = cp, tfguard
        self.saved = []
        for kind in self.KINDS:
            obj = cp.get(kind, tfguard.configuration_name)
            for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
                obj["metadata"].pop(key, None)
            self.saved.append(obj)
        self.registered = True

    def admissions(self, verdict: str = "") -> int:
        import ssl

        context = ssl.create_default_context(cafile=str(self.tfguard.cert_dir / "ca.crt"))
        with urllib.request.urlopen(f"{self.tfguard.url}/metrics", context=context, timeout=60) as response:
            text = response.read().decode()
        return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("tfguard_admission_requests_total{") and f'verdict="{verdict}' in line))

    def _probe(self) -> None:
        """A server-side dry run of an annotated Deployment: it reaches the webhook iff registered."""
        body = deployment(f"probe-{time.monotonic_ns()}", ENFORCE, MODEL)
        api(self.cp, "POST", f"/apis/apps/v1/namespaces/{ENFORCE}/deployments?dryRun=All", body)

    def set(self, registered: bool) -> None:
        if registered == self.registered:
            return
        if registered:
            self.cp.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": self.saved}))
        else:
            self.cp.kubectl("delete", *(f"{k}/{self.tfguard.configuration_name}" for k in self.KINDS))
        self.registered = registered
        quiet = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            before = self.admissions()
            self._probe()
            reached = self.admissions() > before
            if registered and reached:
                return
            quiet = quiet + 1 if not reached else 0
            if not registered and quiet >= 3:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the API server did not {'pick up' if registered else 'drop'} the webhooks in 60 s")


def api(cp, method: str, path: str, body=None, tries: int = 4):
    """cp.request, again after a timeout: on a loaded 2-core machine a collection DELETE can take
    longer than the harness's 30 s (the API server goes on with it either way)."""
    for attempt in range(tries):
        try:
            return cp.request(method, path, body)
        except (TimeoutError, OSError) as exc:
            if attempt == tries - 1 or isinstance(exc, urllib.error.HTTPError):
                raise
            time.sleep(2)


def clean(cp, workload: str) -> None:
    """Delete what a round left and wait until the garbage collector has removed the ReplicaSets."""
    namespace, path, _, _ = WORKLOAD_SHAPES[workload]
    api(cp, "DELETE", path.format(ns=namespace))
    for collection in ([path.format(ns=namespace)] +
                       ([f"/apis/apps/v1/namespaces/{namespace}/replicasets"] if "deployments" in path else [])):
        deadline = time.monotonic() + 120
        while api(cp, "GET", collection + "?limit=1")["items"] and time.monotonic() < deadline:
            time.sleep(0.5)


# -- main ------------------------------------------------------------------------------------------

_WEBHOOK_SERIES = re.compile(
    r'^apiserver_admission_webhook_admission_duration_seconds_(?P<what>sum|count|bucket)\{(?P<labels>[^}]*)\} (?P<value>\S+)$')


def webhook_time(cp) -> dict[str, float]:
    """The API server's own account of its calls to tfguard's webhooks: count, seconds, and calls
    under each histogram bound (apiserver_admission_webhook_admission_duration_seconds)."""
    with urllib.request.urlopen(cp.server + "/metrics", context=cp.ssl_context(), timeout=60) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _WEBHOOK_SERIES.match(line)
        if not match or ".tfguard.io" not in match["labels"]:
            continue
        key = match["what"]
        if key == "bucket":
            key = "le=" + re.search(r'le="([^"]+)"', match["labels"]).group(1)
        totals[key] = totals.get(key, 0.0) + float(match["value"])
    return totals


class Connections:
    """The TCP connections to the webhook's port seen while a round runs (/proc/net/tcp, sampled every
    0.1 s): how many connections the API server opened to tfguard, to compare with its calls. A
    connection that lives less than a sample's interval may be missed, so this is a lower bound."""

    def __init__(self, port: int):
        self.port, self.seen, self._stop = port, set(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        local = f":{self.port:04X}"
        while not self._stop.wait(0.1):
            for table in ("/proc/net/tcp", "/proc/net/tcp6"):
                try:
                    lines = Path(table).read_text().splitlines()[1:]
                except OSError:
                    continue
                for line in lines:
                    fields = line.split()
                    if fields[1].endswith(local) and fields[3] == "01":  # ESTABLISHED, to the webhook
                        self.seen.add(fields[2])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()


def one_round(vegeta, cp, webhooks, pids, workload: str, tag: str, registered: bool, work: Path, rate: float = 0) -> dict:
    webhooks.set(registered)
    admitted, calls = webhooks.admissions(), webhook_time(cp)
    cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
    lines = targets(workload, tag, cp.server, PACED_LAG if rate else LAG)
    with Connections(webhooks.tfguard.port) as connections:
        figures = summary(attack(vegeta, cp, lines, SECONDS, work / "round.bin", rate))
    figures["connections"] = len(connections.seen)
    figures["cpu_ms_per_create"] = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / max(figures["created"], 1)
                                    for name, pid in pids.items()}
    figures["admissions"] = webhooks.admissions() - admitted
    after = webhook_time(cp)
    figures["calls"] = {k: after.get(k, 0.0) - calls.get(k, 0.0) for k in after}
    figures["load"] = os.getloadavg()[0]
    clean(cp, workload)
    return figures


def main() -> int:
    from bench.tools import vegeta as find_vegeta
    from harness.controlplane import ControlPlane
    from harness.localinstall import LocalTfguard

    vegeta = find_vegeta()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="tfguard-apiserver-bench-"))
    with ControlPlane() as cp, LocalTfguard(cp, operator=False) as tfguard:
        for namespace, mode in ((ENFORCE, "enforce"), (WARN, "warn")):
            cp.apply({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": namespace, "labels": {"tfguard.io/mode": mode}}})
            # the ServiceAccount admission plugin refuses Pods until the namespace's default account exists
            cp.wait_for(lambda: cp.kubectl("get", "serviceaccount", "default", "-n", namespace, check=False).returncode == 0,
                        timeout=60, what=f"the default service account in {namespace}")
        cp.apply(big_profile(WARN))
        webhooks = Webhooks(cp, tfguard)
        cp.wait_for(lambda: profile_judged(cp, webhooks), timeout=60, what="the webhook holding the ModelProfile")
        pids = {p.name: p.popen.pid for p in cp._processes}
        pids["webhook"] = tfguard._webhook.popen.pid
        saturated: dict[tuple[str, bool], list[dict]] = {}
        paced: dict[tuple[str, bool], list[dict]] = {}
        rates: dict[str, float] = {}
        for workload in WORKLOADS:
            for registered in (True, False):  # warm-up, not counted
                webhooks.set(registered)
                attack(vegeta, cp, targets(workload, f"w{int(registered)}", cp.server), 3, work / "warm.bin")
                clean(cp, workload)
            # with, without; then without, with; ...: neither arm always runs first
            arms = [(n, registered) for n in range(ROUNDS) for registered in ((True, False) if n % 2 == 0 else (False, True))]
            for n, registered in arms:
                saturated.setdefault((workload, registered), []).append(
                    one_round(vegeta, cp, webhooks, pids, workload, f"s{n}{int(registered)}", registered, work))
            # Below saturation, latency is service time rather than queueing: a third of what the API
            # server managed without tfguard, the same rate for both arms.
            rates[workload] = PACED_SHARE * median([r["creates_per_s"] for r in saturated[(workload, False)]])
            for n, registered in arms:
                paced.setdefault((workload, registered), []).append(
                    one_round(vegeta, cp, webhooks, pids, workload, f"p{n}{int(registered)}", registered, work,
                              rate=rates[workload] * 2))  # creates and deletes: two requests per object
        webhook_rss = _rss_mb(pids["webhook"])
    load_after = os.getloadavg()
    return report(saturated, paced, rates, load_before, load_after, webhook_rss)


def profile_judged(cp, webhooks) -> bool:
    """The webhook holds the profile once a dry run of the profiled Deployment is judged incompatible
    (its invented ops); without the profile it would be unknown."""
    before = webhooks.admissions("incompatible")
    api(cp, "POST", f"/apis/apps/v1/namespaces/{WARN}/deployments?dryRun=All",
        deployment(f"probe-{time.monotonic_ns()}", WARN, PROFILED))
    return webhooks.admissions("incompatible") > before


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _table(title: str, with_: list[dict], without: list[dict]) -> tuple[float, float, float]:
    print(f"  {title:38}{'with tfguard':>14}{'without':>14}")
    for key, fmt in (("creates_per_s", "{:>14.1f}"), ("create_p50_ms", "{:>14.1f}"), ("create_p99_ms", "{:>14.1f}"),
                     ("delete_p50_ms", "{:>14.1f}"), ("delete_p99_ms", "{:>14.1f}"), ("load", "{:>14.1f}")):
        print(f"    {key:36}" + fmt.format(median([r[key] for r in with_])) + fmt.format(median([r[key] for r in without])))
    for name in with_[0]["cpu_ms_per_create"]:
        print(f"    {'CPU ms per create, ' + name:36}{median([r['cpu_ms_per_create'][name] for r in with_]):>14.2f}"
              f"{median([r['cpu_ms_per_create'][name] for r in without]):>14.2f}")
    added_p50 = median([w["create_p50_ms"] - b["create_p50_ms"] for w, b in zip(with_, without)])
    added_p99 = median([w["create_p99_ms"] - b["create_p99_ms"] for w, b in zip(with_, without)])
    ratio = median([w["creates_per_s"] / b["creates_per_s"] for w, b in zip(with_, without)])
    rounds = "; ".join(f"{w['create_p99_ms'] - b['create_p99_ms']:+.1f} ms, {w['creates_per_s'] / b['creates_per_s']:.2f}x"
                       for w, b in zip(with_, without))
    print(f"    added by tfguard: p50 {added_p50:+.1f} ms, p99 {added_p99:+.1f} ms; create throughput {ratio:.2f}x "
          f"(per round, p99 added and throughput: {rounds})")
    return added_p50, added_p99, ratio


def report(saturated, paced, rates, load_before, load_after, webhook_rss) -> int:
    print(f"API server admission bench: vegeta, at most {CONCURRENCY} requests in flight (HTTP/2, admin client "
          f"certificate), {ROUNDS} interleaved rounds of {SECONDS:g} s per arm, phase and workload; medians over "
          f"rounds (added = median of per-round differences, ratio = median of per-round ratios)")
    failures = 0
    goals = []
    for workload in WORKLOADS:
        print(f"\n{workload}:")
        _, _, ratio = _table(f"{CONCURRENCY} concurrent creators (saturated)", saturated[(workload, True)], saturated[(workload, False)])
        _, added_p99, _ = _table(f"paced at {rates[workload]:.1f} creates/s", paced[(workload, True)], paced[(workload, False)])
        with_ = saturated[(workload, True)] + paced[(workload, True)]
        calls: dict[str, float] = {}
        for r in with_:
            for k, v in r["calls"].items():
                calls[k] = calls.get(k, 0.0) + v
        count = calls.get("count", 0.0)
        if count:
            bounds = sorted((float(k[3:]), v) for k, v in calls.items() if k.startswith("le=") and k != "le=+Inf")
            under = ", ".join(f"{v / count:.1%} under {b * 1000:g} ms" for b, v in bounds[:3])
            print(f"    the API server's own timing of its {count:.0f} calls to tfguard's webhooks: mean "
                  f"{calls['sum'] / count * 1000:.1f} ms; {under}")
        judged = median([r["admissions"] / max(r["created"], 1) for r in with_])
        opened = sum(r["connections"] for r in with_)
        print(f"    webhook admissions per created object: {judged:.2f}; TCP connections the API server opened to "
              f"the webhook: at least {opened} for {sum(r['admissions'] for r in with_)} admissions")
        for r in saturated[(workload, True)] + saturated[(workload, False)] + paced[(workload, True)] + paced[(workload, False)]:
            failures += r["failed"]
            if r["failed"]:
                print(f"    failed requests: {r['failed']}, codes {r['codes']} {r['errors']}")
        goals += [(f"{workload}: added p99 below saturation <= {GOALS['added_p99_ms']:g} ms", added_p99 <= GOALS["added_p99_ms"]),
                  (f"{workload}: throughput at {CONCURRENCY} concurrent >= {GOALS['throughput_ratio']}x",
                   ratio >= GOALS["throughput_ratio"])]
    print()
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    print(f"webhook peak RSS {webhook_rss:.0f} MB; load average (1 min) before/after: "
          f"{load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} CPUs; failed requests: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
