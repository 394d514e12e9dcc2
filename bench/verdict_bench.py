"""Verdict engine: evaluate() per call on a 300-op SavedModel, against a bare baseline.

The baseline does the least any checker must do on the same data: one dict lookup for the
release and `set(ops).issubset(release ops)`. Both are timed side by side in the same run;
the figure that matters is the ratio (and the absolute time per call on the admission path).

    python -m bench verdict
"""

from __future__ import annotations

import random
import time

from tfguard.compat import releases
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.verdict import evaluate
from harness.tfenvs import NEW_TF, OLD_TF

N_OPS = 300


def _model(runtime, n_ops: int = N_OPS) -> ModelFacts:
    rng = random.Random(7)
    ops = sorted(rng.sample(sorted(runtime.ops), n_ops))
    # As inspect reports them: some declared attrs plus the internal ones every saved node carries.
    attrs = {op: sorted(runtime.op_attrs.get(op, ()))[:3] + ["_output_shapes"] for op in ops}
    return ModelFacts(
        path="/models/bench", format="saved_model", tensorflow_version=NEW_TF,
        graph_producer=runtime.graph_def_version, graph_min_consumer=12,
        ops=ops, op_attrs=attrs, source="inspect",
    )


def _per_call(fn, min_seconds: float = 0.5) -> float:
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took >= min_seconds:
            return took / n
        n *= 2


def main() -> int:
    runtime = releases.release(OLD_TF)
    if runtime is None or not runtime.measured:
        print(f"verdict: no measured release knowledge for {OLD_TF}")
        return 1
    model = _model(runtime)
    stack = StackFacts(image=f"tensorflow/serving:{OLD_TF}", source="catalog", tensorflow_version=OLD_TF,
                       cuda_build=False, loaders=["saved_model"])
    table = {OLD_TF: runtime}
    verdict = evaluate(model, stack)

    def engine():
        evaluate(model, stack)

    def baseline():
        release = table[stack.tensorflow_version]
        set(model.ops).issubset(release.ops)

    rounds = []
    for _ in range(3):  # interleaved, so both see the same machine load
        rounds.append((_per_call(engine), _per_call(baseline)))
    engine_s = min(r[0] for r in rounds)
    baseline_s = min(r[1] for r in rounds)
    print(f"model: {N_OPS} ops with attrs, produced by {NEW_TF}; runtime {OLD_TF}; verdict {verdict.verdict} "
          f"({', '.join(f.code for f in verdict.findings) or 'no findings'})")
    print(f"evaluate():             {engine_s * 1e6:8.1f} us/call")
    print(f"baseline (dict+subset): {baseline_s * 1e6:8.1f} us/call")
    print(f"ratio engine/baseline:  {engine_s / baseline_s:8.1f}x")
    print(f"admission budget check: {'OK' if engine_s < 1e-3 else 'OVER'} (goal: under 1 ms per call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
