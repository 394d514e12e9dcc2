"""The probe's wall time against its floor, measured side by side in the same venv.

Floor: what any check of "does this image load this model" must pay at least, a bare
`python -c "import tensorflow as tf; <load the model>"` process (tf.saved_model.load for a
SavedModel, tf.keras.models.load_model for a .keras file). Probe: `python probe.py --model PATH
--json` in the same venv, which on top of that collects the stack facts, checks declared
requirements, looks for GPUs, calls the serving signature, reads the model's facts without TF
and writes the report.

Rounds are interleaved (floor and probe alternate, the order flipping every round) so machine
load hits both alike. Printed: median(probe) / median(floor) of the wall times; the median of
the per-round ratios (each probe run against the floor run beside it, which cancels slow drifts
in machine load; this is the figure the goal is judged on); and the same for CPU time (user + sys
of the whole process tree), which load on a shared machine disturbs far less. Goal: <= 1.15x.

`python -m bench probe`; TFGUARD_BENCH_PROBE_ROUNDS sets the rounds (default 7).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from tfguard.probes import probe as probe_module
from harness.models import model_path
from harness.tfenvs import NEW_TF, OLD_TF, tf_python

GOAL = 1.15
PROBE = Path(probe_module.__file__).resolve()

FLOOR_SCRIPTS = {
    "saved_model": "import sys, tensorflow as tf; tf.saved_model.load(sys.argv[1])",
    "keras": "import sys, tensorflow as tf; tf.keras.models.load_model(sys.argv[1], compile=False)",
}

CASES = (
    # (label, TF release of the stack, model name, release that saved it, loader)
    ("TF 2.15.1, SavedModel (tf.saved_model.load + signature call)", OLD_TF, "plain_saved_model", OLD_TF, "saved_model"),
    ("TF 2.20.0, .keras (tf.keras.models.load_model)", NEW_TF, "keras_v3", NEW_TF, "keras"),
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it waited for)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    cpu, started = _cpu(), time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0,):
        raise RuntimeError(f"{command[:3]} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed, _cpu() - cpu


def measure(python: Path, model: Path, loader: str, rounds: int) -> dict:
    floor_cmd = [str(python), "-c", FLOOR_SCRIPTS[loader], str(model)]
    strict_cmd = [str(python), "-c", FLOOR_SCRIPTS[loader] + "; import os; os._exit(0)", str(model)]
    probe_cmd = [str(python), str(PROBE), "--model", str(model), "--gpu", "optional", "--json",
                 "--termination-log", ""]
    _timed(floor_cmd)  # warm the page cache for both
    _timed(probe_cmd)
    floors, stricts, probes = [], [], []
    for i in range(rounds):
        trio = [(floors, floor_cmd), (probes, probe_cmd), (stricts, strict_cmd)]
        for sink, command in trio if i % 2 == 0 else reversed(trio):
            sink.append(_timed(command))
    med = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
    paired = lambda a, b, i: statistics.median(x[i] / y[i] for x, y in zip(a, b))  # noqa: E731
    return {
        "floor_s": med(floors, 0), "strict_s": med(stricts, 0), "probe_s": med(probes, 0),
        "floor_cpu": med(floors, 1), "strict_cpu": med(stricts, 1), "probe_cpu": med(probes, 1),
        "ratio": med(probes, 0) / med(floors, 0), "paired": paired(probes, floors, 0),
        "strict_paired": paired(probes, stricts, 0),
        "cpu_ratio": med(probes, 1) / med(floors, 1), "strict_cpu_ratio": med(probes, 1) / med(stricts, 1),
        "walls": {k: [r[0] for r in v] for k, v in (("floor", floors), ("strict", stricts), ("probe", probes))},
    }


def main() -> int:
    rounds = int(os.environ.get("TFGUARD_BENCH_PROBE_ROUNDS", "7"))
    load = os.getloadavg()[0]
    print(f"probe vs floor, {rounds} interleaved rounds each, load average {load:.1f}, {os.cpu_count()} CPUs")
    ok = True
    for label, release, model_name, saved_by, loader in CASES:
        result = measure(tf_python(release), model_path(model_name, saved_by), loader, rounds)
        met = result["paired"] <= GOAL
        ok = ok and met
        walls = result["walls"]
        print(f"  {label}")
        for key, name in (("floor", "floor (bare import + load)"), ("strict", "floor ending in os._exit"),
                          ("probe", "probe (full report)")):
            cpu_key = {"floor": "floor_cpu", "strict": "strict_cpu", "probe": "probe_cpu"}[key]
            print(f"    {name:27} wall median {statistics.median(walls[key]):6.2f} s "
                  f"[{min(walls[key]):.2f}-{max(walls[key]):.2f}], CPU median {result[cpu_key]:.2f} s")
        print(f"    probe/floor: wall {result['ratio']:.3f}x, per-round {result['paired']:.3f}x, "
              f"CPU {result['cpu_ratio']:.3f}x; goal <= {GOAL}x (per-round wall): {'met' if met else 'MISSED'}")
        print(f"    probe/os._exit floor: per-round wall {result['strict_paired']:.3f}x, CPU {result['strict_cpu_ratio']:.3f}x")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
