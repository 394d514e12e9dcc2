"""How cost grows: admission against object size and ModelProfile op count; the stores against size.

In-process, CPU time (time.process_time, best of 3 batches): on a shared machine this is the figure
other work disturbs least. Each table has its baseline measured beside it on the same input:
  object size   the webhook's application path (parse the review into its typed model, resolve,
                verdict with the memo off, encode the answer) on a Deployment AdmissionReview whose
                container carries env entries up to 1 KB .. 1.4 MB, against json.loads of the same
                bytes (the least any webhook does with a review);
  op count      the same path for a Deployment naming a ModelProfile of N ops (every op with its
                declared attrs and `_output_shapes`, as `tfguard inspect` records them), against the
                same Deployment judged from annotations alone (no ops);
  stores        N ImageStacks / ModelProfiles / Nodes held (FactStore, NodeStore): memory
                (tracemalloc, after a collection) and one lookup (stack_for, profile, the node
                candidates of a pod template), against a dict lookup in a dict of N entries;
  re-check      the operator's recheck_all over N Deployments held in memory, first pass (every
                annotation written to a stand-in API) and steady pass (nothing changed), against
                annotate.assess alone per workload.
Per-unit columns (µs per KB, µs per op, bytes per object) show where growth stops being linear.

`python -m bench growth`; TFGUARD_BENCH_GROWTH_MAX (default 100000) caps the store sizes,
TFGUARD_BENCH_GROWTH_PARTS (default size,ops,stores,recheck) picks the tables, and
TFGUARD_BENCH_BASELINE_TREE=DIR times that checkout's NodeStore beside this one's.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import tracemalloc
import uuid

from bench.apiserver_bench import WARN, deployment

PARTS = os.environ.get("TFGUARD_BENCH_GROWTH_PARTS", "size,ops,stores,recheck").split(",")
STORE_MAX = int(os.environ.get("TFGUARD_BENCH_GROWTH_MAX", "100000"))
SIZES_KB = (1, 4, 16, 64, 256, 1024, 1400)
OP_COUNTS = (10, 100, 500, 1000, 2000, 5000)
STORE_SIZES = tuple(n for n in (100, 1000, 10_000, 100_000) if n <= STORE_MAX)


def cpu_us(fn, budget_s: float = 0.3, batches: int = 3) -> float:
    """CPU microseconds per call of fn: best of `batches` batches of about budget_s each."""
    fn()
    start = time.process_time()
    n = 0
    while time.process_time() - start < budget_s / 5 or n < 3:
        fn()
        n += 1
    per = (time.process_time() - start) / n
    reps = max(3, int(budget_s / max(per, 1e-7)))
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - start) / reps)
    return best * 1e6


def review(obj: dict, namespace: str) -> bytes:
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": str(uuid.uuid4()), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
                    "namespace": namespace, "name": obj["metadata"]["name"], "operation": "CREATE",
                    "userInfo": {"username": "bench"}, "object": obj, "dryRun": False},
    }, separators=(",", ":")).encode()


MODEL = {"tfguard.io/model-producer-version": "2.15.1", "tfguard.io/model-path": "/models/resnet/1",
         "tfguard.io/model-loader": "saved_model"}


def sized_deployment(kb: float) -> bytes:
    obj = deployment("sized", WARN, MODEL)
    del obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    container = obj["spec"]["template"]["spec"]["containers"][0]
    body = review(obj, WARN)
    n = 0
    while len(body) < kb * 1024:
        grow = max(1, int((kb * 1024 - len(body)) // 1000))
        container["env"] += [{"name": f"PAD_{n + i}", "value": "v" * 960} for i in range(grow)]
        n += grow
        body = review(obj, WARN)
    return body


def profile(n: int) -> dict:
    from bench.apiserver_bench import big_profile

    obj = big_profile(WARN)
    spec = obj["spec"]
    from tfguard.compat.releases import release

    tf = release("2.15.1")
    known = sorted(tf.ops)
    ops = (known + [f"BenchCustomOp{i}" for i in range(n)])[:n]
    spec["ops"], spec["opCount"] = ops, n
    spec["opAttrs"] = {op: sorted(tf.op_attrs[op]) + ["_output_shapes"] if op in tf.ops else ["T"] for op in ops}
    obj["metadata"]["name"] = f"ops-{n}"
    return obj


def admission(store):
    from tfguard.webhook.models import parse_review, review_response
    from tfguard.webhook.validate import VerdictMemo, validate

    memo = VerdictMemo(0)

    def run(body: bytes):
        req = parse_review(body).request
        outcome = validate(req, "warn", store, memo)
        json.dumps(review_response(outcome.response(req.uid)), separators=(",", ":")).encode()
        return outcome

    return run


def by_size() -> None:
    from tfguard.workload.store import FactStore

    run = admission(FactStore())
    print("\nadmission against object size (validate path, memo off); baseline json.loads of the same bytes")
    print(f"  {'review KB':>10}{'webhook us':>12}{'json.loads us':>15}{'ratio':>8}{'webhook us/KB':>15}")
    for kb in SIZES_KB:
        body = sized_deployment(kb)
        assert run(body).verdict not in ("error", "skipped")
        hook = cpu_us(lambda: run(body))
        floor = cpu_us(lambda: json.loads(body))
        size = len(body) / 1024
        print(f"  {size:>10.0f}{hook:>12.0f}{floor:>15.0f}{hook / floor:>8.1f}{hook / size:>15.1f}")


def by_ops() -> None:
    from tfguard.workload.store import FactStore

    store = FactStore()
    run = admission(store)
    plain = review(deployment("plain", WARN, MODEL), WARN)
    print("\nadmission against ModelProfile op count (validate path, memo off); baseline: the same "
          "Deployment judged from annotations (no ops)")
    print(f"  {'ops':>6}{'webhook us':>12}{'baseline us':>13}{'added us':>10}{'added us/op':>13}")
    for n in OP_COUNTS:
        store.put_profile(profile(n))
        annotations = {"tfguard.io/model-profile": f"ops-{n}", "tfguard.io/model-path": "/models/big/1",
                       "tfguard.io/model-loader": "saved_model"}
        body = review(deployment(f"p{n}", WARN, annotations), WARN)
        assert run(body).verdict not in ("error", "skipped", "unknown"), "the profile was not judged"
        hook = cpu_us(lambda: run(body))
        base = cpu_us(lambda: run(plain))
        print(f"  {n:>6}{hook:>12.0f}{base:>13.0f}{hook - base:>10.0f}{(hook - base) / n:>13.2f}")


def _measure_memory(build):
    gc.collect()
    tracemalloc.start()
    held = build()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return held, current


def image_stack(i: int) -> dict:
    from tfguard.compat.facts import StackFacts
    from tfguard.compat.resources import image_stack_resource

    stack = StackFacts(image=f"registry.example/ml/serving:{i}", image_digest=f"sha256:{i:064x}", source="probe",
                       tensorflow_version="2.15.1", keras_version="2.15.0", python_version="3.11.7",
                       numpy_version="1.26.4")
    obj = image_stack_resource(stack, references=[f"registry.example/ml/serving:{i}"], observed_in=f"team-{i % 50}")
    obj["metadata"]["name"] = f"stack-{i}"
    return obj


def model_profile(i: int, template: dict) -> dict:
    return {**template, "metadata": {"name": f"model-{i}", "namespace": f"team-{i % 50}"},
            "spec": json.loads(json.dumps(template["spec"]))}  # each its own lists, as from the API


def node(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "labels": {
                "kubernetes.io/hostname": f"node-{i}", "kubernetes.io/arch": "amd64",
                "tfguard.io/pool": f"pool-{i % 20}",
                "nvidia.com/cuda.driver-version.full": "535.54.03", "nvidia.com/cuda.driver-version.major": "535",
                "nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "0",
                "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB", "nvidia.com/gpu.count": "8"}},
            "spec": {}, "status": {"allocatable": {"nvidia.com/gpu": "8", "cpu": "64", "memory": "512Gi"}}}


def baseline_node_store():
    """NodeStore from TFGUARD_BENCH_BASELINE_TREE's tfguard/workload/nodes.py (a change's before,
    timed beside the after in the same run); None without one."""
    tree = os.environ.get("TFGUARD_BENCH_BASELINE_TREE")
    if not tree:
        return None
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("baseline_nodes", Path(tree) / "tfguard" / "workload" / "nodes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.NodeStore


def by_store_size() -> None:
    from tfguard.workload.nodes import NodeStore
    from tfguard.workload.store import FactStore

    Baseline = baseline_node_store()
    print("\nstores against the number of objects held: memory (tracemalloc) and one lookup; baseline a dict "
          "lookup among N keys")
    print(f"  {'what':12}{'N':>8}{'MB':>9}{'bytes/obj':>11}{'lookup us':>11}{'dict us':>9}")
    for n in STORE_SIZES:
        stacks = [image_stack(i) for i in range(n)]

        def build_stacks():
            store = FactStore()
            store.replace_stacks(stacks)
            return store

        store, mem = _measure_memory(build_stacks)
        image, scope = f"registry.example/ml/serving:{n // 2}", f"team-{(n // 2) % 50}"
        assert store.stack_for(image, scope) is not None
        keys = {f"k{i}": i for i in range(n)}
        key = f"k{n // 2}"
        lookup = cpu_us(lambda: store.stack_for(image, scope), 0.1)
        floor = cpu_us(lambda: keys.get(key), 0.1)
        print(f"  {'ImageStacks':12}{n:>8}{mem / 1e6:>9.1f}{mem / n:>11.0f}{lookup:>11.2f}{floor:>9.2f}")
        del stacks, store

        template = profile(30)
        profiles = [model_profile(i, template) for i in range(n)] if n <= 10_000 else None
        if profiles is not None:
            def build_profiles():
                store = FactStore()
                store.replace_profiles(profiles)
                return store

            store, mem = _measure_memory(build_profiles)
            name, scope = f"model-{n // 2}", f"team-{(n // 2) % 50}"
            assert store.profile(scope, name) is not None
            lookup = cpu_us(lambda: store.profile(scope, name), 0.1)
            print(f"  {'ModelProfiles':12}{n:>8}{mem / 1e6:>9.1f}{mem / n:>11.0f}{lookup:>11.2f}{floor:>9.2f}"
                  "  (30 ops each)")
            del profiles, store

        nodes = [node(i) for i in range(n)]

        def build_nodes():
            store = NodeStore(max_nodes=max(n, 20000))
            store.synced = True
            store.replace(nodes)
            return store

        store, mem = _measure_memory(build_nodes)
        spec = {"containers": [{"name": "s", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
        found = store.candidates(spec)
        lookup = cpu_us(lambda: store.candidates(spec), 0.1)
        before = ""
        if Baseline is not None:
            old = Baseline(max_nodes=max(n, 20000))
            old.synced = True
            old.replace(nodes)
            assert [(g.names, g.count) for g in old.candidates(spec)] == [(g.names, g.count) for g in found]
            before = f"; before this change {cpu_us(lambda: old.candidates(spec), 0.1):.0f} us"
            del old
        print(f"  {'Nodes':12}{n:>8}{mem / 1e6:>9.1f}{mem / n:>11.0f}{lookup:>11.0f}{floor:>9.2f}"
              f"  (candidates of a GPU pod: {sum(g.count for g in found or [])} nodes{before})")
        del nodes, store


RECHECK_SIZES = tuple(n for n in (100, 1000, 10_000) if n <= STORE_MAX)


class _Kube:
    """The API as far as a re-check writes to it: a patch answers the patched object (with a newer
    resourceVersion), an Event is accepted. Counts the calls."""

    def __init__(self, rt_of):
        self.rt_of, self.calls = rt_of, 0

    async def patch(self, path: str, patch: dict) -> dict:
        self.calls += 1
        namespace, name = path.split("/namespaces/")[1].split("/")[0], path.rsplit("/", 1)[1]
        body = json.loads(json.dumps(self.rt_of().workloads[("Deployment", namespace, name)]))
        annotations = body["metadata"].setdefault("annotations", {})
        for k, v in patch["metadata"]["annotations"].items():
            if v is None:
                annotations.pop(k, None)
            else:
                annotations[k] = v
        body["metadata"]["resourceVersion"] = str(int(body["metadata"]["resourceVersion"]) + 1)
        return body

    async def create(self, path: str, body: dict) -> dict:
        self.calls += 1
        return body


def by_workloads() -> None:
    """The operator's re-check of every workload it holds (reconcile.recheck_all), in-process: the
    first pass judges and writes every annotation (the writes answered at once by a stand-in API),
    the second finds nothing changed (what the background re-check costs a steady cluster)."""
    import asyncio

    from tfguard.operator.reconcile import compact, recheck_all
    from tfguard.operator.runtime import Runtime
    from tfguard.operator.settings import OperatorSettings

    print("\noperator re-check against the workloads held (recheck_all in-process, writes answered at once); "
          "baseline: judging alone (annotate.assess on each)")
    print(f"  {'workloads':>10}{'first pass s':>14}{'writes':>8}{'steady pass s':>15}{'writes':>8}"
          f"{'us/workload':>13}{'assess us':>11}")
    from tfguard.operator import annotate

    for n in RECHECK_SIZES:
        holder: list = []
        kube = _Kube(lambda: holder[0])
        rt = Runtime(settings=OperatorSettings(policy_reports=False), kube=kube)
        holder.append(rt)
        for i in range(n):
            obj = deployment(f"w-{i:05d}", f"team-{i % 20}", MODEL)
            obj["metadata"].update(uid=str(uuid.uuid4()), resourceVersion="1")
            obj["spec"]["replicas"] = 0
            rt.workloads[("Deployment", obj["metadata"]["namespace"], obj["metadata"]["name"])] = compact(obj)

        async def passes():
            start = time.process_time()
            first = await recheck_all(rt)
            middle, calls = time.process_time(), kube.calls
            second = await recheck_all(rt)
            return middle - start, calls, time.process_time() - middle, kube.calls - calls, first, second

        first_s, first_calls, steady_s, steady_calls, first, second = asyncio.run(passes())
        assert second.get("unchanged") == n, (first, second)
        bodies = list(rt.workloads.values())[:200]
        assess = cpu_us(lambda: [annotate.assess(b, rt.store, None, None, nodes=rt.nodes) for b in bodies], 0.3) / len(bodies)
        print(f"  {n:>10}{first_s:>14.2f}{first_calls:>8}{steady_s:>15.2f}{steady_calls:>8}"
              f"{steady_s / n * 1e6:>13.0f}{assess:>11.0f}")


def main() -> int:
    load_before = os.getloadavg()
    print(f"Growth bench: in-process CPU time (best of 3 batches), {os.cpu_count()} CPUs shared with other work")
    for part in PARTS:
        {"size": by_size, "ops": by_ops, "stores": by_store_size, "recheck": by_workloads}[part]()
    print(f"\nload average (1 min) before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
