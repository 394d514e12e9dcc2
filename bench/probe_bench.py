"""The probe's wall time against its floor, measured side by side in the same venv.

Floor: what any check of "does this image load this model" must pay at least, a bare
`python -c "import tensorflow as tf; <load the model>"` process (tf.saved_model.load for a
SavedModel, tf.keras.models.load_model for a .keras file). Probe: `python probe.py --model PATH
--json` in the same venv, which on top of that collects the stack facts, checks declared
requirements, looks for GPUs, calls the serving signature, reads the model's facts without TF
and writes the report.

Rounds are interleaved (floor and probe alternate, the order flipping every round) so machine
load hits both alike; the figure is median(probe) / median(floor). Goal: <= 1.15x.

`python -m bench probe`; TFGUARD_BENCH_PROBE_ROUNDS sets the rounds (default 7).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

from tfguard.probes import probe as probe_module
from tfguard.testing.models import model_path
from tfguard.testing.tfenvs import NEW_TF, OLD_TF, tf_python

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


def _timed(command: list[str]) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    started = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0,):
        raise RuntimeError(f"{command[:3]} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed


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
    floor, strict, probe = statistics.median(floors), statistics.median(stricts), statistics.median(probes)
    return {"floor_s": floor, "strict_s": strict, "probe_s": probe, "ratio": probe / floor,
            "strict_ratio": probe / strict, "round_ratios": [p / f for p, f in zip(probes, floors)],
            "floors": floors, "stricts": stricts, "probes": probes}


def main() -> int:
    rounds = int(os.environ.get("TFGUARD_BENCH_PROBE_ROUNDS", "7"))
    load = os.getloadavg()[0]
    print(f"probe vs floor, {rounds} interleaved rounds each, load average {load:.1f}, {os.cpu_count()} CPUs")
    ok = True
    for label, release, model_name, saved_by, loader in CASES:
        result = measure(tf_python(release), model_path(model_name, saved_by), loader, rounds)
        met = result["ratio"] <= GOAL
        ok = ok and met
        print(f"  {label}")
        print(f"    floor (bare import + load) median {result['floor_s']:.2f} s "
              f"[{min(result['floors']):.2f}-{max(result['floors']):.2f}]")
        print(f"    floor ending in os._exit   median {result['strict_s']:.2f} s "
              f"[{min(result['stricts']):.2f}-{max(result['stricts']):.2f}]")
        print(f"    probe (full report)        median {result['probe_s']:.2f} s "
              f"[{min(result['probes']):.2f}-{max(result['probes']):.2f}]")
        print(f"    ratio {result['ratio']:.3f}x (per-round median {statistics.median(result['round_ratios']):.3f}x); "
              f"goal <= {GOAL}x: {'met' if met else 'MISSED'}; "
              f"against the os._exit floor {result['strict_ratio']:.3f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
