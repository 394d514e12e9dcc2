"""Regenerate the release knowledge (tfguard/compat/data/release*.json, keras.json) from real wheels.

    .venv/bin/python tools/gen_knowledge.py                 # every release and Keras (resumable)
    .venv/bin/python tools/gen_knowledge.py --fresh         # measure everything again
    .venv/bin/python tools/gen_knowledge.py --only 2.15.1   # re-measure just these (the rest reused)

The newest patch of every TensorFlow minor (harness.tfenvs.NEWEST_PATCHES) is installed into a
throwaway venv with the interpreter and era pins of its recipe (harness.tfenvs), and
tools/measure_release.py runs inside it: GraphDef versions, every OpDef in full, every kernel
registration, the proto schemas the loaders parse, the checkpoint header it writes, the protobuf
runtime and the Python packages it runs with. tools/measure_keras.py then measures every Keras a
cluster may run (tf.keras of 1.15-2.5, keras 2.6-2.15, tf-keras 2.16+, every Keras 3 minor), each
in a stack that holds it. A release or Keras that will not install or import is kept with the error.

Each measurement is kept under $TFGUARD_CACHE/knowledge, keyed by the venv recipe and the hash of
the measuring script, and reused on the next run: an interrupted run resumes where it stopped.
The CI never runs this; tests/knowledge checks the stored data against the releases the test suite
installs anyway. GPU-build facts are tools/gen_gpu_facts.py's (gpu.json, docs/gpu.md).
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

from harness.tfenvs import (  # noqa: E402
    ERA_PINS,
    KERAS3_NEWEST_PATCHES,
    NEWEST_PATCHES,
    cache_dir,
    keras_python,
    keras_recipe,
    tf_python,
    tf_recipe,
    venv,
)
from harness.matrix.stacks import NIGHTLY, NIGHTLY_REQUIREMENT  # noqa: E402
from tfguard.compat.chains import chain, dumps_document, unchain  # noqa: E402
from tfguard.progress import Progress  # noqa: E402

DATA_DIR = ROOT / "tfguard" / "compat" / "data"
MEASURE = Path(__file__).resolve().parent / "measure_release.py"
MEASURE_KERAS = Path(__file__).resolve().parent / "measure_keras.py"

# Kernels kept in the data: what a CPU wheel really registers for the CPU. GPU kernels are left to
# the GPU-facts task (a CPU wheel registers only a few, the 1.15/2.0 wheels are GPU builds).
KERNEL_DEVICES = ("CPU", "DEFAULT", "XLA_CPU", "XLA_CPU_JIT")

# tf-keras releases (Keras 2 for TF 2.16+), newest patch of each.
TF_KERAS_VERSIONS = ("2.16.0", "2.17.0", "2.18.0", "2.19.0", "2.20.1", "2.21.0")
# The keras-nightly that the matrix's tf-nightly installs (harness/matrix/stacks.py), measured in that
# stack: the Keras of an image whose TensorFlow is a nightly.
NIGHTLY_KERAS = "3.16.0.dev2026102704"

# GPU-build facts (CUDA/cuDNN of the tested builds, the driver tables) live in
# tfguard/compat/data/gpu.json, written by tools/gen_gpu_facts.py; releases.py reads them there.

SOURCES = {
    "measured": "the newest patch wheel of every TensorFlow minor (tensorflow 1.15/2.0 and tensorflow-cpu "
    "2.1+, on CPython 3.7, 3.8 or 3.11 as the registry has them) installed into throwaway venvs with era pins "
    "(harness/tfenvs.py ERA_PINS) and measured inside each venv by tools/measure_release.py: TF's own C API "
    "op list and kernel registry, the release's _pb2 descriptors, a checkpoint it writes, tf.version, "
    "importlib.metadata",
    "keras": "every Keras a cluster may run (tf.keras of 1.15-2.5, keras 2.6-2.15 as each TF installs it, "
    "tf-keras 2.16+ installed --no-deps over the matching tensorflow-cpu, every Keras 3 minor over a TF that "
    "admits it) measured by tools/measure_keras.py inside its stack",
    "unmeasured": "a release whose wheel would not install or import here is kept with `measured: false` and "
    "the error: only version-level facts (GraphDef min consumer/producer 0 as in every release's "
    "tensorflow/core/public/version.h, tested CUDA/cuDNN); its op registry is unknown",
}


def _hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def _run_measurement(python: Path, script: Path, args: list[str], timeout: int = 1800) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    with_tmp = dict(env, TMPDIR=os.environ.get("TMPDIR", "/tmp"))
    done = subprocess.run([str(python), str(script), *args], capture_output=True, text=True, env=with_tmp,
                          timeout=timeout, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-3000:] or f"exit {done.returncode}")
    return json.loads(done.stdout)


def _kept(kind: str, name: str, recipe, script: Path) -> Path:
    key = _hash(recipe, hashlib.sha256(script.read_bytes()).hexdigest())
    return cache_dir() / "knowledge" / f"{kind}-{name}-{key}.json"


def _cached(kept: Path, fresh: bool, produce) -> tuple[dict, bool]:
    """(measurement, reused): the kept one unless `fresh`, else produce() and keep it (errors too,
    so that a release that cannot install is not retried on every run; --fresh retries it)."""
    if kept.exists() and not fresh:
        return json.loads(kept.read_text()), True
    result = produce()
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, sort_keys=True))
    os.replace(tmp, kept)
    return result, False


def measure_release(version: str, fresh: bool) -> tuple[dict, bool]:
    recipe = tf_recipe(version)

    def produce() -> dict:
        try:
            python = tf_python(version)
        except Exception as exc:  # noqa: BLE001 - the error is the fact
            return {"error": f"install: {_last_line(exc)}", "wheel_version": version, "recipe": recipe}
        try:
            measured = _run_measurement(python, MEASURE, [])
        except Exception as exc:  # noqa: BLE001
            return {"error": f"import or measure: {_last_line(exc)}", "wheel_version": version, "recipe": recipe}
        measured["recipe"] = recipe
        return measured

    return _cached(_kept("tf", version, recipe, MEASURE), fresh, produce)


def keras_stacks(release_measurements: dict[str, dict]) -> list[tuple[str, str, object]]:
    """(package, version, how to get its python) of every Keras to measure: the one each TF
    release installs (tf.keras of 1.15-2.5 is keyed by the TF release), tf-keras, Keras 3 minors."""
    stacks: dict[tuple[str, str], object] = {}
    for version, m in release_measurements.items():
        if m.get("error"):
            continue
        if m.get("tf_keras_package") == "tensorflow.python.keras":
            stacks[("tensorflow", m["tf_version"])] = ("tf", version)
        elif m.get("tf_keras_package") == "keras" and (m.get("keras_version") or "").startswith("2."):
            stacks.setdefault(("keras", m["keras_version"]), ("tf", version))
    for v in TF_KERAS_VERSIONS:
        stacks[("tf-keras", v)] = ("keras", "tf-keras", v)
    for v in KERAS3_NEWEST_PATCHES:
        stacks[("keras", v)] = ("keras", "keras", v)
    stacks[("keras", NIGHTLY_KERAS)] = ("nightly",)
    return [(package, version, how) for (package, version), how in stacks.items()]


def measure_keras(package: str, version: str, how, fresh: bool) -> tuple[dict, bool]:
    if how[0] == "tf":
        recipe = {"tf": tf_recipe(how[1]), "package": package}
        get_python = lambda: tf_python(how[1])  # noqa: E731
    elif how[0] == "nightly":
        recipe = {"requirements": [NIGHTLY_REQUIREMENT]}
        get_python = lambda: venv(f"tf-nightly-{NIGHTLY}", [NIGHTLY_REQUIREMENT])  # noqa: E731
    else:
        recipe = {"keras": keras_recipe(how[1], how[2])}
        get_python = lambda: keras_python(how[1], how[2])  # noqa: E731
    module = "tensorflow.python.keras" if package == "tensorflow" else ("tf_keras" if package == "tf-keras" else "keras")

    def produce() -> dict:
        try:
            python = get_python()
        except Exception as exc:  # noqa: BLE001
            return {"error": f"install: {_last_line(exc)}", "package": package, "version": version}
        try:
            measured = _run_measurement(python, MEASURE_KERAS, [module])
        except Exception as exc:  # noqa: BLE001
            return {"error": f"import or measure: {_last_line(exc)}", "package": package, "version": version}
        if how[0] == "nightly" and measured.get("keras_version") != version:
            return {"error": f"the nightly stack holds Keras {measured.get('keras_version')}, not {version}: "
                    "update NIGHTLY_KERAS", "package": package, "version": version}
        measured["recipe"] = recipe
        return measured

    return _cached(_kept("keras", f"{package}-{version}", recipe, MEASURE_KERAS), fresh, produce)


def _last_line(exc: Exception) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-800:] if lines else type(exc).__name__


_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?\s*(?:;(.*))?$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(wheel_facts: dict) -> tuple[dict[str, str], dict[str, str]]:
    """({name: specifier} for the plain requirements, {name: specifier} for the and-cuda extra)."""
    plain: dict[str, str] = {}
    cuda: dict[str, str] = {}
    for line in wheel_facts["requires_dist"]:
        match = _REQ.match(line)
        if not match:
            continue
        name = _norm(match.group(1))
        spec = ",".join(sorted(s.strip().replace(" ", "") for s in match.group(2).split(",") if s.strip()))
        marker = match.group(3) or ""
        if "and-cuda" in marker:
            cuda[name] = spec
        elif "extra ==" in marker:
            continue
        elif "platform_system" in marker or "sys_platform" in marker or "platform_machine" in marker:
            continue
        elif "python_version" in marker and name in plain:
            continue  # a second, interpreter-specific bound: the first is the general one
        else:
            plain[name] = spec
    if wheel_facts.get("requires_python"):
        plain["python"] = wheel_facts["requires_python"]
    return plain, cuda


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _series_key(series: str) -> tuple[int, int]:
    return tuple(int(p) for p in series.split(".")[:2])  # type: ignore[return-value]


def _major_minor(spec: str) -> str | None:
    """"12.5" from a pin or lower bound such as "==12.5.82" or "<13.0,>=12.5.82"."""
    for clause in (spec or "").split(","):
        match = re.match(r"\s*(==|>=|~=)\s*(\d+\.\d+)", clause)
        if match:
            return match.group(2)
    return None


def _pins_of(series: str) -> list[dict]:
    key = _series_key(series)
    return [{"pin": pin, "why": why} for first, last, pin, why in ERA_PINS if first <= key <= last]


def release_entry(version: str, m: dict) -> dict:
    series = _series(version)
    documented = None  # the tested builds' CUDA/cuDNN: gpu.json (tools/gen_gpu_facts.py)
    entry = {
        "series": series,
        "wheel_version": version,
        "package": m["recipe"]["requirements"][0].split("==")[0],
        "era_pins": _pins_of(series),
        "cuda_version": documented[0] if documented else None,
        "cudnn_version": documented[1] if documented else None,
        "graph_def_min_consumer": 0,
        "graph_def_min_producer": 0,
    }
    if m.get("error"):
        entry.update(measured=False, error=m["error"], graph_def_version=None, keras_major=2 if _series_key(series) < (2, 16) else None,
                     requires={}, python_tags=[], measured_with_python=m["recipe"]["python"])
        return entry
    plain, cuda = requirements(m["wheel"])
    wheel_cuda = _major_minor(cuda.get("nvidia-cuda-runtime-cu12") or cuda.get("nvidia-cuda-runtime-cu11") or "")
    wheel_cudnn = _major_minor(cuda.get("nvidia-cudnn-cu12") or cuda.get("nvidia-cudnn-cu11") or "")
    installed = {_norm(k): v for k, v in m["installed"].items()}
    entry.update({
        "measured": True,
        "git_version": m["tf_git_version"],
        "graph_def_version": m["graph_def_version"],
        "graph_def_min_consumer": m["graph_def_min_consumer"],
        "graph_def_min_producer": m["graph_def_min_producer"],
        "keras_major": m.get("tf_keras_major"),
        "keras_version": m.get("keras_version"),
        "tf_keras_version": m.get("tf_keras_version"),
        "tf_keras_package": m.get("tf_keras_package"),
        "tf_keras_resolves_to": m.get("tf_keras_resolves_to"),
        "requires": plain,
        "and_cuda_requires": cuda,
        "python_tags": sorted({tag.split("-")[0] for tag in m["wheel"]["wheel_tags"]}),
        "wheel_tags": m["wheel"]["wheel_tags"],
        "and_cuda_cuda_version": wheel_cuda,
        "and_cuda_cudnn_version": wheel_cudnn,
        "measured_with_python": m["python"],
        "python_packages": {
            name: {"declared": plain.get(name), "installed": installed.get(name)}
            for name in sorted(set(m["loader_packages"]) | (set(plain) - {"python"}))
        },
        "installed": dict(sorted(installed.items())),
        "protobuf_runtime": m["protobuf_runtime"],
        "checkpoint": m["checkpoint"],
        "op_count": len(m["op_defs"]),
    })
    if not documented:
        entry["cuda_version"], entry["cudnn_version"] = wheel_cuda, wheel_cudnn
    return entry


def merge_kernels(entries: list[dict]) -> list[dict]:
    """The kernels of one op on one device, merged where they differ in one attr's allowed types
    only (each dtype combination is registered as a kernel of its own): the attr values that find
    a kernel stay exactly the same, the list gets short."""
    entries = [dict(e, constraints=dict(e["constraints"])) for e in entries]
    merged = True
    while merged:
        merged = False
        for attr in sorted({a for e in entries for a in e["constraints"]}):
            groups: dict[str, list[dict]] = {}
            for i, e in enumerate(entries):
                if attr not in e["constraints"]:
                    groups[f"#{i}"] = [e]
                    continue
                rest = {k: v for k, v in e.items() if k != "constraints"}
                rest["constraints"] = {k: v for k, v in e["constraints"].items() if k != attr}
                groups.setdefault(json.dumps(rest, sort_keys=True), []).append(e)
            if any(len(g) > 1 for g in groups.values()):
                merged = True
                entries = []
                for g in groups.values():
                    union = sorted({t for e in g for t in e["constraints"][attr]}) if attr in g[0]["constraints"] else None
                    e = dict(g[0], constraints=dict(g[0]["constraints"]))
                    if union is not None:
                        e["constraints"][attr] = union
                    entries.append(e)
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def _kernels(m: dict) -> dict:
    out = {}
    for op, devices in m["kernels"].items():
        kept = {d: merge_kernels(entries) for d, entries in sorted(devices.items()) if d in KERNEL_DEVICES}
        if kept:
            out[op] = kept
    return out


def build_data(measured: dict[str, dict], keras: list[dict]) -> dict[str, dict]:
    """{file name: content} of every data file."""
    versions = sorted(measured, key=lambda v: _series_key(v))
    good = [v for v in versions if not measured[v].get("error")]
    stamp = {
        "generated_by": "tools/gen_knowledge.py",
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    entries = [release_entry(v, measured[v]) for v in versions]
    for e in entries:
        if e["measured"]:
            e["kernel_op_count"] = len(_kernels(measured[e["wheel_version"]]))
    releases = {
        "schema": 2,
        **stamp,
        "sources": SOURCES,
        "storage": "One entry per series in `releases`. Op defs, kernels, proto schemas and Keras facts live in "
        "release_ops.jsonl, release_kernels.jsonl, release_protos.jsonl and keras.json, each a chain: the first "
        "measured release in full, each later one as changed/removed keys (see docs/knowledge.md).",
        "kernel_devices": list(KERNEL_DEVICES),
        "releases": entries,
    }
    series = [_series(v) for v in good]
    ops = {**stamp, "chain": chain([(s, measured[v]["op_defs"]) for s, v in zip(series, good)], packed=True)}
    kernels = {**stamp, "devices": list(KERNEL_DEVICES),
               "chain": chain([(s, _kernels(measured[v])) for s, v in zip(series, good)], packed=True)}
    protos = {
        **stamp,
        "messages": chain([(s, measured[v]["protos"]["messages"]) for s, v in zip(series, good)], packed=True),
        "enums": chain([(s, measured[v]["protos"]["enums"]) for s, v in zip(series, good)], packed=True),
        "roots": {s: measured[v]["protos"]["roots"] for s, v in zip(series, good)},
        "missing_roots": {s: measured[v]["protos"]["missing"] for s, v in zip(series, good) if measured[v]["protos"]["missing"]},
    }
    out = {"releases.json": releases, "release_ops.jsonl": ops, "release_kernels.jsonl": kernels,
           "release_protos.jsonl": protos}
    if keras:
        out["keras.json"] = build_keras(keras, stamp)
    return out


def _version_key(version: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\-+]", version)]


KERAS_SCALARS = ("error", "keras_version", "tf_version", "module", "formats", "python", "recipe", "h5_layer_table",
                 "layer_kwargs", "input_layer_kwargs", "dense_kwargs")


_TMP = re.compile(r"/[^\s'\"]*tfguard-keras-[A-Za-z0-9_]+")


def scrub(value):
    """`value` with the measurement's temporary directory left out of error messages (it differs
    on every run)."""
    return json.loads(_TMP.sub("<tmp>", json.dumps(value)))


def build_keras(measurements: list[dict], stamp: dict) -> dict:
    by_package: dict[str, list[dict]] = {}
    for m in measurements:
        by_package.setdefault(m["package"], []).append(m)
    packages = {}
    for package, ms in sorted(by_package.items()):
        ms.sort(key=lambda m: _version_key(m["version"]))
        good = [m for m in ms if not m.get("error")]
        packages[package] = {
            "versions": {
                m["version"]: {k: scrub(m.get(k)) for k in KERAS_SCALARS if m.get(k) is not None} for m in ms
            },
            "modules": chain([(m["version"], {name: True for name in m["modules"]}) for m in good]),
            "module_errors": chain([(m["version"], m["module_errors"]) for m in good]),
            "classes": chain([(m["version"], {f"{category}/{name}": obj for category, objects in m["classes"].items()
                                              for name, obj in objects.items()}) for m in good]),
        }
    return {**stamp, "packages": packages}


def committed_keras(data: dict) -> list[dict]:
    """The measurements keras.json was built from, read back from it (build_keras's inverse)."""
    measurements = []
    for package, entry in data["packages"].items():
        modules, errors, classes = (unchain(entry[k]) for k in ("modules", "module_errors", "classes"))
        for version, scalars in entry["versions"].items():
            m = {"package": package, "version": version, **scalars}
            if not m.get("error"):
                m["modules"] = sorted(modules[version])
                m["module_errors"] = dict(errors[version])
                by_category: dict[str, dict] = {}
                for key, obj in classes[version].items():
                    category, name = key.split("/", 1)
                    by_category.setdefault(category, {})[name] = obj
                m["classes"] = by_category
            measurements.append(m)
    return measurements


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="measure these TF versions again (others reused)")
    parser.add_argument("--fresh", action="store_true", help="measure everything again")
    parser.add_argument("--no-keras", action="store_true", help="leave keras.json as it is")
    parser.add_argument("--merge-keras", nargs="*", metavar="PACKAGE==VERSION",
                        help="measure only the Keras stacks keras.json lacks (tf-keras, Keras 3, the nightly's) and "
                        "these (keras==3.15.1, or keras for every Keras 3), and merge them into it; every other file "
                        "stays as it is")
    parser.add_argument("--jobs", type=int, default=2, help="venvs installed/measured at once")
    parser.add_argument("--output", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.merge_keras is not None:
        return merge_keras(args.output / "keras.json", args.merge_keras, args.fresh, args.jobs)
    total = len(NEWEST_PATCHES)
    done_count = [0]
    progress = Progress(total, "measuring TensorFlow releases")

    def one(version: str) -> tuple[str, dict]:
        t0 = time.monotonic()
        result, reused = measure_release(version, fresh=args.fresh or version in args.only)
        done_count[0] += 1
        how = "reused" if reused else f"{time.monotonic() - t0:.0f}s"
        if result.get("error"):
            progress.echo(f"[{done_count[0]}/{total}] TensorFlow {version}: NOT MEASURED ({how}): {result['error'][:300]}")
        else:
            progress.echo(f"[{done_count[0]}/{total}] TensorFlow {version}: {len(result['op_defs'])} ops, GraphDef "
                          f"{result['graph_def_version']}, tf.keras -> {result.get('tf_keras_package')} "
                          f"{result.get('tf_keras_resolves_to')} ({how})")
        progress.advance(note=version)
        return version, result

    with progress, ThreadPoolExecutor(max_workers=args.jobs) as pool:
        measured = dict(pool.map(one, NEWEST_PATCHES))

    keras: list[dict] = []
    if not args.no_keras:
        stacks = keras_stacks(measured)
        done_count[0] = 0
        progress = Progress(len(stacks), "measuring Keras stacks")

        def one_keras(stack) -> dict:
            package, version, how = stack
            t0 = time.monotonic()
            result, reused = measure_keras(package, version, how, fresh=args.fresh)
            result.setdefault("package", package)
            result.setdefault("version", version)
            done_count[0] += 1
            how_long = "reused" if reused else f"{time.monotonic() - t0:.0f}s"
            summary = result["error"][:300] if result.get("error") else (
                f"{len(result['modules'])} modules, {sum(len(c) for c in result['classes'].values())} classes")
            progress.echo(f"[{done_count[0]}/{len(stacks)}] {package} {version}: {summary} ({how_long})")
            progress.advance(note=f"{package} {version}")
            return result

        with progress, ThreadPoolExecutor(max_workers=args.jobs) as pool:
            keras = list(pool.map(one_keras, stacks))

    files = build_data(measured, keras)
    args.output.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = args.output / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(dumps_document(content) if path.suffix == ".jsonl"
                       else json.dumps(content, sort_keys=True, separators=(",", ":")) + "\n")
        os.replace(tmp, path)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size / 1024:.0f} KB")
    measured_count = sum(1 for m in measured.values() if not m.get("error"))
    print(f"{measured_count}/{len(measured)} releases measured, {len(keras)} Keras stacks, "
          f"in {time.monotonic() - started:.0f}s")
    return 0


def merge_keras(path: Path, again: list[str], fresh: bool, jobs: int) -> int:
    data = json.loads(path.read_text())
    have = {(package, v) for package, entry in data["packages"].items() for v in entry["versions"]}

    def wanted(package: str, version: str) -> bool:
        return (package, version) not in have or package in again or f"{package}=={version}" in again

    # Which Keras each release installs, as the committed releases.json says (keras_stacks reads it
    # from the release measurements, which a merge does not redo).
    entries = json.loads((path.parent / "releases.json").read_text())["releases"]
    installs = {e["wheel_version"]: {"tf_version": e["wheel_version"], "tf_keras_package": e.get("tf_keras_package"),
                                     "keras_version": e.get("keras_version")} for e in entries if e.get("measured")}
    stacks = [s for s in keras_stacks(installs) if wanted(s[0], s[1])]

    def one(stack) -> dict:
        package, version, how = stack
        result, reused = measure_keras(package, version, how, fresh)
        result.setdefault("package", package)
        result.setdefault("version", version)
        print(f"{package} {version}: {result.get('error') or 'measured'}{' (kept)' if reused else ''}", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, stacks))
    # A stack that fails to measure now keeps what was stored for it (a failed install loses nothing).
    added = [m for m in results if not m.get("error") or (m["package"], m["version"]) not in have]
    for m in results:
        if m not in added:
            print(f"{m['package']} {m['version']}: kept as stored ({m['error']})", flush=True)
    replaced = {(m["package"], m["version"]) for m in added}
    kept = [m for m in committed_keras(data) if (m["package"], m["version"]) not in replaced]
    stamp = {"generated_by": "tools/gen_knowledge.py",
             "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path.write_text(json.dumps(build_keras(kept + added, stamp), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {path}: {len(added)} Keras stacks measured")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
