"""Regenerate tfguard/compat/data/releases.json from real TensorFlow wheels.

    .venv/bin/python tools/gen_knowledge.py                 # every release installable here
    .venv/bin/python tools/gen_knowledge.py 2.15.1 2.20.0   # just these wheels (others dropped)

Each release's newest tensorflow-cpu patch is installed into a throwaway venv
(harness.tfenvs) and tools/measure_release.py runs inside it: GraphDef versions, every
registered op with its attr names, which ops have a CPU kernel, what tf.keras resolves to, and the
wheel's declared requirements. Releases that have no wheel for this Python are kept with
version-level facts only (`measured: false`). GPU-build facts come from the hand-kept tables
below, with their sources written into the data file.

The op registry of the first measured release is stored in full; each later release stores only
what changed, so the file stays small. The CI never runs this; tests/knowledge checks the stored
data against the releases the test suite installs anyway.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.tfenvs import cache_dir, venv  # noqa: E402

DATA_FILE = ROOT / "tfguard" / "compat" / "data" / "releases.json"
MEASURE = Path(__file__).resolve().parent / "measure_release.py"

# The newest tensorflow-cpu patch of each minor series with a CPython 3.11 wheel (the package
# index lists them: `pip index versions tensorflow-cpu`).
WHEELS = ("2.12.1", "2.13.1", "2.14.1", "2.15.1", "2.16.2", "2.17.1", "2.18.1", "2.19.1", "2.20.0", "2.21.0")

# Releases without a wheel for this Python: version-level facts only.
UNMEASURED = ("2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11")

# Tested GPU build configurations of the Linux wheels (TensorFlow "Build from source" page,
# "Tested build configurations", GPU table). For 2.14+ the wheel's own `and-cuda` extra pins the
# NVIDIA CUDA/cuDNN wheels too; where both exist the generator records both.
GPU_BUILDS = {
    "2.4": ("11.0", "8.0"),
    "2.5": ("11.2", "8.1"),
    "2.6": ("11.2", "8.1"),
    "2.7": ("11.2", "8.1"),
    "2.8": ("11.2", "8.1"),
    "2.9": ("11.2", "8.1"),
    "2.10": ("11.2", "8.1"),
    "2.11": ("11.2", "8.1"),
    "2.12": ("11.8", "8.6"),
    "2.13": ("11.8", "8.6"),
    "2.14": ("11.8", "8.7"),
    "2.15": ("12.2", "8.9"),
    "2.16": ("12.3", "8.9"),
    "2.17": ("12.3", "8.9"),
    "2.18": ("12.5", "9.3"),
    "2.19": ("12.5", "9.3"),
    "2.20": ("12.5", "9.3"),
}

# Minimum NVIDIA Linux x86_64 driver per CUDA toolkit (NVIDIA CUDA Toolkit Release Notes, "CUDA
# Toolkit and Corresponding Driver Versions", the GA release of each minor), and the minimum
# driver for CUDA minor-version compatibility within a major (same notes, "minor version
# compatibility" table; features like PTX JIT need the toolkit driver).
CUDA_DRIVERS = {
    "11.0": "450.51.06",
    "11.1": "455.32",
    "11.2": "460.27.03",
    "11.3": "465.19.01",
    "11.4": "470.42.01",
    "11.5": "495.29.05",
    "11.6": "510.39.01",
    "11.7": "515.43.04",
    "11.8": "520.61.05",
    "12.0": "525.60.13",
    "12.1": "530.30.02",
    "12.2": "535.54.03",
    "12.3": "545.23.06",
    "12.4": "550.54.14",
    "12.5": "555.42.02",
    "12.6": "560.28.03",
    "12.8": "570.26",
    "12.9": "575.51.03",
}
CUDA_MINOR_COMPAT_DRIVERS = {"11": "450.80.02", "12": "525.60.13"}

SOURCES = {
    "measured": "tensorflow-cpu wheels installed into throwaway venvs on CPython {python}; "
    "measured inside each venv by tools/measure_release.py (TF's own C API op list, kernel registry, "
    "tf.version, importlib.metadata)",
    "gpu_builds": "TensorFlow install docs, 'Build from source' > 'Tested build configurations' (Linux GPU); "
    "for 2.14 and later also the nvidia-* pins of each wheel's `and-cuda` extra",
    "cuda_drivers": "NVIDIA CUDA Toolkit Release Notes, 'CUDA Toolkit and Corresponding Driver Versions' "
    "(Linux x86_64, GA release of each minor) and the minor-version-compatibility table",
    "unmeasured": "Releases before 2.12 have no wheel for CPython 3.11 and cannot be installed here: "
    "only version-level facts (tf.keras is Keras 2; GraphDef min consumer/producer 0 as in every "
    "TF 2 release's tensorflow/core/public/version.h; tested CUDA/cuDNN). Their op registries are unknown.",
}


def measure(wheel: str, reuse: bool = False) -> dict:
    """Install tensorflow-cpu==wheel and measure it (`reuse`: take the last measurement of this
    wheel by this measuring script, kept under $TFGUARD_CACHE/knowledge)."""
    python = venv(f"tf-{wheel}", [f"tensorflow-cpu=={wheel}"])
    script_hash = hashlib.sha256(MEASURE.read_bytes()).hexdigest()[:12]
    kept = cache_dir() / "knowledge" / f"tf-{wheel}-{script_hash}.json"
    if reuse and kept.exists():
        return json.loads(kept.read_text())
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [str(python), str(MEASURE)], capture_output=True, text=True, env=env, timeout=900, cwd=MEASURE.parent
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring tensorflow-cpu {wheel} failed:\n{done.stderr[-3000:]}")
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(done.stdout)
    return json.loads(done.stdout)


_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(?:;(.*))?$")


def requirements(wheel_facts: dict) -> tuple[dict[str, str], dict[str, str]]:
    """({name: specifier} for the plain requirements, {name: specifier} for the and-cuda extra)."""
    plain: dict[str, str] = {}
    cuda: dict[str, str] = {}
    for line in wheel_facts["requires_dist"]:
        match = _REQ.match(line)
        if not match:
            continue
        name = match.group(1).lower().replace("_", "-")
        spec = ",".join(sorted(s.strip() for s in match.group(2).split(",") if s.strip()))
        marker = match.group(3) or ""
        if "and-cuda" in marker:
            cuda[name] = spec
        elif "extra ==" in marker:
            continue
        elif "platform_system" in marker or "sys_platform" in marker or "platform_machine" in marker:
            continue
        else:
            plain[name] = spec
    if wheel_facts.get("requires_python"):
        plain["python"] = wheel_facts["requires_python"]
    return plain, cuda


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _major_minor(spec: str) -> str | None:
    """"12.5" from a pin or lower bound such as "==12.5.82" or "<13.0,>=12.5.82"."""
    for clause in (spec or "").split(","):
        match = re.match(r"\s*(==|>=|~=)\s*(\d+\.\d+)", clause)
        if match:
            return match.group(2)
    return None


def release_entry(measured: dict) -> dict:
    plain, cuda = requirements(measured["wheel"])
    series = _series(measured["tf_version"])
    documented = GPU_BUILDS.get(series)
    wheel_cuda = _major_minor(cuda.get("nvidia-cuda-runtime-cu12") or cuda.get("nvidia-cuda-runtime-cu11") or "")
    wheel_cudnn = _major_minor(cuda.get("nvidia-cudnn-cu12") or cuda.get("nvidia-cudnn-cu11") or "")
    return {
        "series": series,
        "wheel_version": measured["tf_version"],
        "measured": True,
        "git_version": measured["tf_git_version"],
        "graph_def_version": measured["graph_def_version"],
        "graph_def_min_consumer": measured["graph_def_min_consumer"],
        "graph_def_min_producer": measured["graph_def_min_producer"],
        "keras_major": measured.get("tf_keras_major"),
        "keras_version": measured.get("keras_version"),
        "tf_keras_version": measured.get("tf_keras_version"),
        "requires": plain,
        "and_cuda_requires": cuda,
        "python_tags": sorted({tag.split("-")[0] for tag in measured["wheel"]["wheel_tags"]}),
        "wheel_tags": measured["wheel"]["wheel_tags"],
        "cuda_version": documented[0] if documented else wheel_cuda,
        "cudnn_version": documented[1] if documented else wheel_cudnn,
        "and_cuda_cuda_version": wheel_cuda,
        "and_cuda_cudnn_version": wheel_cudnn,
        "measured_with_python": measured["python"],
    }


def unmeasured_entry(series: str) -> dict:
    cuda, cudnn = GPU_BUILDS[series]
    return {
        "series": series,
        "wheel_version": None,
        "measured": False,
        "graph_def_version": None,
        "graph_def_min_consumer": 0,
        "graph_def_min_producer": 0,
        "keras_major": 2,
        "keras_version": None,
        "requires": {},
        "python_tags": [],
        "cuda_version": cuda,
        "cudnn_version": cudnn,
    }


def build_data(measurements: list[dict], python: str) -> dict:
    measurements = sorted(measurements, key=lambda m: [int(p) for p in _series(m["tf_version"]).split(".")])
    entries = [unmeasured_entry(s) for s in UNMEASURED]
    base_ops: dict[str, list[str]] = {}
    base_no_cpu: list[str] = []
    previous_ops: dict[str, list[str]] | None = None
    previous_no_cpu: set[str] = set()
    for m in measurements:
        entry = release_entry(m)
        ops = {name: sorted(attrs) for name, attrs in m["ops"].items()}
        no_cpu = set(ops) - set(m["cpu_kernel_ops"])
        if previous_ops is None:
            base_ops, base_no_cpu = ops, sorted(no_cpu)
        else:
            entry["ops_added"] = {n: ops[n] for n in sorted(set(ops) - set(previous_ops))}
            entry["ops_removed"] = sorted(set(previous_ops) - set(ops))
            entry["op_attrs_changed"] = {
                n: ops[n] for n in sorted(set(ops) & set(previous_ops)) if ops[n] != previous_ops[n]
            }
            entry["no_cpu_kernel_added"] = sorted(no_cpu - previous_no_cpu)
            entry["no_cpu_kernel_removed"] = sorted(previous_no_cpu - no_cpu)
        entry["op_count"] = len(ops)
        previous_ops, previous_no_cpu = ops, no_cpu
        entries.append(entry)
    first = measurements[0]["tf_version"] if measurements else None
    return {
        "schema": 1,
        "generated_by": "tools/gen_knowledge.py",
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": {k: v.format(python=python) for k, v in SOURCES.items()},
        "storage": "base_ops/base_ops_without_cpu_kernel hold the op registry of the first measured release "
        "in full ({op: [attr names]}); each later measured release lists ops_added, ops_removed, "
        "op_attrs_changed (new full attr list) and no_cpu_kernel_added/removed relative to the one before.",
        "base_release": _series(first) if first else None,
        "base_ops": base_ops,
        "base_ops_without_cpu_kernel": base_no_cpu,
        "releases": entries,
        "cuda_drivers": {
            "toolkit_min_driver": CUDA_DRIVERS,
            "minor_version_compat_min_driver": CUDA_MINOR_COMPAT_DRIVERS,
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="*", default=list(WHEELS), help="tensorflow-cpu versions to measure")
    parser.add_argument("--output", type=Path, default=DATA_FILE)
    parser.add_argument("--jobs", type=int, default=2, help="venvs installed/measured at once")
    parser.add_argument(
        "--reuse", action="store_true",
        help="reuse measurements kept from an earlier run (same wheel, same measuring script) instead of measuring again",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()

    def one(wheel: str) -> dict:
        t0 = time.monotonic()
        result = measure(wheel, reuse=args.reuse)
        print(f"tensorflow-cpu {wheel}: {len(result['ops'])} ops, GraphDef {result['graph_def_version']}, "
              f"tf.keras -> Keras {result.get('tf_keras_major')} ({time.monotonic() - t0:.0f}s)", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        measurements = list(pool.map(one, args.wheels))
    python = measurements[0]["python"] if measurements else "?"
    data = build_data(measurements, ".".join(python.split(".")[:2]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    os.replace(tmp, args.output)
    size = args.output.stat().st_size
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}: "
          f"{len(data['releases'])} releases, {size / 1024:.0f} KB in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
