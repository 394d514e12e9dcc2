"""Operator: time and API calls to annotate 1,000 Deployments on the real control plane.

Side by side in one run, on one control plane:
  baseline  the least any controller must do: one merge patch of the annotations per Deployment,
            sent back to back by the same async client (tfguard.kube) the operator uses;
  operator  `tfguard operator run` started cold: list and watch everything, judge 1,000
            Deployments with the verdict engine, record 1,000 Events, patch 1,000 Deployments;
  re-check  the operator re-checks the same 1,000 unchanged Deployments (timer): API calls made;
  new facts an ImageStack for the Deployments' image arrives: 1,000 verdicts change.
API calls are counted by the API server itself (apiserver_request_total from /metrics, before and
after), minus the bench's own polling.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

N = int(os.environ.get("TFGUARD_BENCH_DEPLOYMENTS", "1000"))
IMAGE = "tensorflow/serving:2.15.0"
_METRIC = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')


def request_counts(cp) -> collections.Counter:
    import urllib.request

    with urllib.request.urlopen(cp.server + "/metrics", context=cp.ssl_context(), timeout=30) as resp:
        text = resp.read().decode()
    counts: collections.Counter = collections.Counter()
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
            counts[(labels.get("verb"), labels.get("resource"), labels.get("subresource", ""))] += int(float(match["value"]))
    return counts


def delta(before, after, minus: dict | None = None) -> dict:
    diff = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}
    for key, n in (minus or {}).items():
        if key in diff:
            diff[key] -= n
            if diff[key] <= 0:
                del diff[key]
    return diff


def show(diff: dict) -> str:
    rows = sorted(diff.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{verb} {res}{'/' + sub if sub else ''}: {n}" for (verb, res, sub), n in rows) or "none"


def deployments(namespace: str, n: int) -> list[dict]:
    return [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"model-{i:04d}", "namespace": namespace,
                     "annotations": {"tfguard.io/model-producer-version": "2.15.1"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": f"m{i}"}},
                 "template": {"metadata": {"labels": {"app": f"m{i}"}},
                              "spec": {"containers": [{"name": "serve", "image": IMAGE}]}}},
    } for i in range(n)]


def settle(cp, namespace: str, timeout: float = 600) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        rs = cp.request("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets")["items"]
        deps = cp.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments")["items"]
        if len(rs) >= N and all((d.get("status") or {}).get("observedGeneration") == d["metadata"]["generation"] for d in deps):
            time.sleep(3)
            return
        time.sleep(2)
    raise TimeoutError("the controllers did not settle")


def events_in(cp, namespace: str) -> int:
    items = cp.request("GET", f"/api/v1/namespaces/{namespace}/events")["items"]
    return sum(1 for e in items if (e.get("reason") or "").startswith("TFGuard"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_annotated(cp, namespace: str, stack: str | None = None) -> int:
    """Deployments with a verdict (and, when `stack` is given, judged against that ImageStack)."""
    items = cp.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments")["items"]
    notes = [d["metadata"].get("annotations") or {} for d in items]
    return sum(1 for a in notes if a.get("tfguard.io/verdict") and (stack is None or a.get("tfguard.io/image-stack") == stack))


def wait_until(cp, namespace: str, n: int, polls: list, stack: str | None = None, timeout: float = 600) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        polls.append(1)
        if count_annotated(cp, namespace, stack) >= n:
            return time.monotonic() - start
        time.sleep(0.25)
    raise TimeoutError(f"not all {n} Deployments annotated within {timeout}s")


async def baseline_patches(kubeconfig: str, namespace: str, n: int) -> float:
    from tfguard.kube import KubeClient, load_config, resource_path

    async with KubeClient(load_config(kubeconfig)) as kube:
        start = time.perf_counter()
        for i in range(n):
            await kube.patch(resource_path("apps", "v1", "deployments", namespace, f"model-{i:04d}"),
                             {"metadata": {"annotations": {"bench.tfguard.io/baseline": str(i)}}})
        return time.perf_counter() - start


def main() -> int:
    from harness.controlplane import ControlPlane

    repo = Path(__file__).resolve().parents[1]
    with ControlPlane() as cp, tempfile.TemporaryDirectory() as tmp:
        for crd in sorted((repo / "charts/tfguard/crds").glob("*.yaml")):
            cp.kubectl("apply", "-f", str(crd))
        ns, own = f"bench-{uuid.uuid4().hex[:4]}", "tfguard-bench"
        for name in (ns, own):
            cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        items = deployments(ns, N)
        for start in range(0, N, 200):
            cp.apply(items[start:start + 200])
        settle(cp, ns)  # the controllers' own calls (ReplicaSets, status) must not be counted as ours

        before = request_counts(cp)
        base_s = asyncio.run(baseline_patches(str(cp.kubeconfig), ns, N))
        base_calls = delta(before, request_counts(cp))
        print(f"baseline: {N} sequential annotation patches in {base_s:.2f} s; API calls: {show(base_calls)}")

        log = open(Path(tmp) / "operator.log", "wb")
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        polls: list = []
        before = request_counts(cp)
        started = time.monotonic()
        op = subprocess.Popen(
            [sys.executable, "-m", "tfguard.cli", "operator", "run", "--standalone", "--no-certificates",
             "--kubeconfig", str(cp.kubeconfig), "--namespace", own, "--recheck-interval", "10",
             "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        try:
            wait_until(cp, ns, N, polls)
            op_s = time.monotonic() - started
            op_cpu = cpu_seconds(op.pid)
            after = request_counts(cp)
            op_calls = delta(before, after, {("LIST", "deployments", ""): len(polls)})
            print(f"operator: {N} Deployments annotated ({events_in(cp, ns)} Events recorded) {op_s:.2f} s after "
                  f"a cold start (process start, imports, list+watch included), using {op_cpu:.1f} s of CPU; "
                  f"API calls: {show(op_calls)}")
            print(f"ratio operator / baseline time: {op_s / base_s:.2f}x")

            # Re-check of unchanged Deployments: wait for two timer ticks.
            before = request_counts(cp)
            time.sleep(22)
            idle_calls = delta(before, request_counts(cp))
            writes = {k: v for k, v in idle_calls.items() if k[0] not in ("LIST", "WATCH", "GET")}
            print(f"re-check x2 of {N} unchanged Deployments: writes: {show(writes)}; "
                  f"all API calls in 22 s: {show(idle_calls)}")

            # New facts: an ImageStack for the image makes every verdict change.
            polls.clear()
            before = request_counts(cp)
            t0 = time.monotonic()
            cp.apply({"apiVersion": "tfguard.io/v1alpha1", "kind": "ImageStack",
                      "metadata": {"name": "bench-serving-2-15"},
                      "spec": {"image": IMAGE, "imageDigest": "", "references": [IMAGE],
                               "stack": {"tensorflowVersion": "2.15.0", "importOk": True, "cudaBuild": False}}})
            wait_until(cp, ns, N, polls, stack="bench-serving-2-15")
            new_s = time.monotonic() - t0
            new_cpu = cpu_seconds(op.pid) - op_cpu
            new_calls = delta(before, request_counts(cp), {("LIST", "deployments", ""): len(polls)})
            print(f"new ImageStack: {N} Deployments re-judged against it and patched in {new_s:.2f} s "
                  f"({events_in(cp, ns)} Events in all), {new_cpu:.1f} s of operator CPU (incl. the idle re-checks); "
                  f"API calls: {show(new_calls)}")
        finally:
            os.killpg(op.pid, signal.SIGTERM)
            op.wait(timeout=30)
            log.close()
            if op.returncode not in (0, -15):
                print((Path(tmp) / "operator.log").read_text()[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
