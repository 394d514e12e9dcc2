"""Model inspection: `tfguard inspect` against TensorFlow's own loader, and raw parse throughput.

(1) The same real SavedModels read by tfguard and loaded by `tf.saved_model.load`, side by side:
    - in-process: `inspect_model(path)` (read, parse, ops and attrs, Keras metadata, sha256 digest
      of every file) in this process, against `tf.saved_model.load(path)` in the TF venv after
      `import tensorflow` (import excluded for both; median of several runs after one warm-up);
    - end to end: wall time of the `tfguard inspect PATH --json` process against a
      `python -c "import tensorflow as tf; tf.saved_model.load(PATH)"` process.
    Goal: inspect >= 50x faster than TF's loader.
(2) Raw parse throughput on a large generated saved_model.pb (tens of MB): a real TF-written
    SavedModel whose graph and function library are replicated (nodes and functions renamed; all
    other bytes kept as TF wrote them). tfguard's read + parse + op/attr walk, in MB/s, against
    protobuf's parse alone with the same schema (the floor), and TF's own generated protos
    parsing the same bytes in the TF venv. Goal: >= 100 MB/s.

`python -m bench inspect`; TFGUARD_BENCH_INSPECT_MB sets the size of the large file (default 40).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfguard.compat.inspect import inspect_model
from tfguard.compat.inspect.schema import BINARY
from tfguard.compat.inspect.savedmodel import facts_from_saved_model, parse_saved_model
from harness.models import model_path
from harness.tfenvs import OLD_TF, cache_dir, tf_python

GOALS = {"speedup_vs_tf_load": 50.0, "parse_mb_per_s": 100.0}
LARGE_MB = float(os.environ.get("TFGUARD_BENCH_INSPECT_MB", "40"))
RUNS = 5
TF_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")

# Builds a realistic SavedModel in the TF venv: MobileNetV2 (random weights, nothing downloaded).
_BUILD_MOBILENET = r"""
import sys, tensorflow as tf
model = tf.keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
tf.saved_model.save(model, sys.argv[1])
"""

# Times tf.saved_model.load in the TF venv; prints JSON {"first": s, "median": s}.
_TF_LOAD = r"""
import json, statistics, sys, time
import tensorflow as tf
path, runs = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(runs + 1):
    start = time.perf_counter()
    tf.saved_model.load(path)
    times.append(time.perf_counter() - start)
print(json.dumps({"first": times[0], "median": statistics.median(times[1:])}))
"""

# Times TF's generated protos parsing a saved_model.pb in the TF venv; prints the median seconds.
_TF_PARSE = r"""
import statistics, sys, time
from tensorflow.core.protobuf import saved_model_pb2
data = open(sys.argv[1], "rb").read()
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    saved_model_pb2.SavedModel.FromString(data)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def _median_time(fn, runs: int = RUNS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _wall(argv: list[str], runs: int = 3, env=None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mobilenet_saved_model() -> Path:
    path = cache_dir() / "bench" / f"inspect-mobilenet_v2-tf{OLD_TF}" / "saved_model"
    if not (path / "saved_model.pb").exists():
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.mkdir(parents=True)
        subprocess.run([str(tf_python(OLD_TF)), "-c", _BUILD_MOBILENET, str(path)], check=True,
                       capture_output=True, env=TF_ENV, timeout=600)
    return path


def compare_with_tf_load(path: Path, label: str) -> dict:
    python = str(tf_python(OLD_TF))
    inspect_s = _median_time(lambda: inspect_model(path))
    inspect_nodigest_s = _median_time(lambda: inspect_model(path, digest=False))
    done = subprocess.run([python, "-c", _TF_LOAD, str(path), "3"], check=True, capture_output=True,
                          text=True, env=TF_ENV)
    tf_load = json.loads(done.stdout.strip().splitlines()[-1])
    tfguard_cli = str(Path(sys.executable).with_name("tfguard"))
    cli_s = _wall([tfguard_cli, "inspect", str(path), "--json"])
    tf_cli_s = _wall([python, "-c", "import sys, tensorflow as tf; tf.saved_model.load(sys.argv[1])", str(path)],
                     env=TF_ENV)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    row = {
        "model": label,
        "files_mb": size / 1e6,
        "ops": len(inspect_model(path, digest=False).ops),
        "inspect_ms": inspect_s * 1e3,
        "inspect_no_digest_ms": inspect_nodigest_s * 1e3,
        "tf_load_ms": tf_load["median"] * 1e3,
        "tf_first_load_ms": tf_load["first"] * 1e3,
        "speedup_in_process": tf_load["median"] / inspect_s,
        "cli_s": cli_s,
        "tf_cli_s": tf_cli_s,
        "speedup_end_to_end": tf_cli_s / cli_s,
    }
    print(
        f"{label:<22} files {row['files_mb']:6.2f} MB, {row['ops']:3d} ops | in-process: inspect "
        f"{row['inspect_ms']:7.2f} ms (no digest {row['inspect_no_digest_ms']:6.2f} ms) vs tf.saved_model.load "
        f"{row['tf_load_ms']:8.1f} ms (first {row['tf_first_load_ms']:.0f} ms) = {row['speedup_in_process']:6.0f}x | "
        f"end to end: tfguard inspect {cli_s:5.2f} s vs TF {tf_cli_s:5.2f} s = {row['speedup_end_to_end']:4.1f}x",
        flush=True,
    )
    return row


def large_saved_model_pb(source: Path, target_mb: float) -> bytes:
    """Replicate the graph and function library of a real saved_model.pb up to `target_mb`."""
    saved_model = BINARY.SavedModel.FromString((source / "saved_model.pb").read_bytes())
    graph = saved_model.meta_graphs[0].graph_def
    nodes, functions = list(graph.node), list(graph.library.function)
    unit = sum(n.ByteSize() for n in nodes) + sum(f.ByteSize() for f in functions)
    for copy in range(1, int(target_mb * 1e6 / unit) + 1):
        for node in nodes:
            clone = graph.node.add()
            clone.CopyFrom(node)
            clone.name = f"{node.name}_copy{copy}"
        for function in functions:
            clone = graph.library.function.add()
            clone.CopyFrom(function)
            clone.signature.name = f"{function.signature.name}_copy{copy}"
    return saved_model.SerializeToString()


def parse_throughput(target_mb: float) -> dict:
    data = large_saved_model_pb(mobilenet_saved_model(), target_mb)
    mb = len(data) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "saved_model.pb").write_bytes(data)
        parse_s = _median_time(lambda: BINARY.SavedModel.FromString(data))
        facts_s = _median_time(lambda: facts_from_saved_model(parse_saved_model(data)))
        inspect_s = _median_time(lambda: inspect_model(tmp, digest=False))
        inspect_digest_s = _median_time(lambda: inspect_model(tmp))
        done = subprocess.run([str(tf_python(OLD_TF)), "-c", _TF_PARSE, str(Path(tmp) / "saved_model.pb"), str(RUNS)],
                              check=True, capture_output=True, text=True, env=TF_ENV)
        tf_parse_s = float(done.stdout.strip().splitlines()[-1])
    saved_model = BINARY.SavedModel.FromString(data)
    graph = saved_model.meta_graphs[0].graph_def
    n_nodes = len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
    row = {
        "mb": mb,
        "nodes": n_nodes,
        "functions": len(graph.library.function),
        "protobuf_parse_mb_s": mb / parse_s,
        "parse_and_facts_mb_s": mb / facts_s,
        "inspect_mb_s": mb / inspect_s,
        "inspect_with_digest_mb_s": mb / inspect_digest_s,
        "tf_protos_parse_mb_s": mb / tf_parse_s,
    }
    print(
        f"large saved_model.pb: {mb:.1f} MB, {n_nodes} nodes, {row['functions']} functions | "
        f"protobuf parse alone {row['protobuf_parse_mb_s']:.0f} MB/s | parse + ops/attrs "
        f"{row['parse_and_facts_mb_s']:.0f} MB/s | inspect_model (read+parse+facts) {row['inspect_mb_s']:.0f} MB/s, "
        f"with digest {row['inspect_with_digest_mb_s']:.0f} MB/s | TF's generated protos parse alone "
        f"{row['tf_protos_parse_mb_s']:.0f} MB/s",
        flush=True,
    )
    return row


def main() -> int:
    rows = [
        compare_with_tf_load(model_path("plain_saved_model", OLD_TF), f"plain_saved_model tf{OLD_TF}"),
        compare_with_tf_load(model_path("keras_saved_model", OLD_TF), f"keras_saved_model tf{OLD_TF}"),
        compare_with_tf_load(mobilenet_saved_model(), f"MobileNetV2 tf{OLD_TF}"),
    ]
    parse = parse_throughput(LARGE_MB)
    worst = min(r["speedup_in_process"] for r in rows)
    ok = worst >= GOALS["speedup_vs_tf_load"] and parse["inspect_mb_s"] >= GOALS["parse_mb_per_s"]
    print(
        f"goals: in-process speedup >= {GOALS['speedup_vs_tf_load']:.0f}x (worst {worst:.0f}x), "
        f"inspect >= {GOALS['parse_mb_per_s']:.0f} MB/s ({parse['inspect_mb_s']:.0f} MB/s): {'met' if ok else 'NOT met'}",
        flush=True,
    )
    print(json.dumps({"inspect": {"vs_tf_load": rows, "parse": parse}}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
