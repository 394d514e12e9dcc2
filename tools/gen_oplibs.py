"""Regenerate tfguard/compat/data/oplibs.json: the ops each custom-op library release registers.

    .venv/bin/python tools/gen_oplibs.py                      # every release below (resumable)
    .venv/bin/python tools/gen_oplibs.py --only tensorflow-text==2.15.0
    .venv/bin/python tools/gen_oplibs.py --fresh

For each library release: the registry's resolver says which TensorFlow it is built for (`uv pip
compile LIB==V`: the `tensorflow` pin its Requires-Dist gives; TF-Addons declares none: the range
its wheel's version.py names); a throwaway venv gets the newest measured patch of that TF
minor (the recipe of harness.tfenvs: tensorflow-cpu, the era's interpreter and pins), then the
library and whatever else it needs, `--no-deps` (its `tensorflow` requirement would pull in a second,
full TF wheel). tools/measure_oplib.py runs inside and diffs TF's op registry before and after
`import LIB`, then after loading every shared object the package ships (TF-Addons loads its kernels
on first use), and which shared object registers which ops. The venv is deleted afterwards; each measurement is kept under
$TFGUARD_CACHE/oplibs, keyed by the recipe and the measuring script, so a rerun resumes.
A release that will not install or import is kept with its error. CI never runs this:
tests/engine/test_op_libraries.py checks the stored data's shape and the rule that reads it
(tfguard/compat/rules/op_libraries.py, through the accessor tfguard/compat/oplibs.py); the matrix's
tensorflow-text cells check the rule against real loads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.tfenvs import NEWEST_PATCHES, _env, _uv, cache_dir, python_interpreter, release_recipe, era_pins  # noqa: E402

DATA = ROOT / "tfguard" / "compat" / "data" / "oplibs.json"
MEASURE = Path(__file__).resolve().parent / "measure_oplib.py"
NOT_MEASURED = "not measured yet (tools/gen_oplibs.py)"
# What makes each library's ops exist in a process (the fix a finding names). TF-Addons registers
# its kernels only when one of its functions first runs, or all at once with
# register_all(custom_kernels=True) (tensorflow_addons/register.py).
LOAD = {
    "tensorflow-text": "import tensorflow_text",
    "tensorflow-decision-forests": "import tensorflow_decision_forests",
    "tensorflow-addons": "import tensorflow_addons as tfa; tfa.register_all(custom_kernels=True)",
}

# (distribution, import name, releases). tensorflow-text: the newest release of every TF minor it
# was built for; TF-DF and TF-Addons: a few, newest first. (`pip index versions DIST --python-version
# 3.8` and `3.11`, the interpreters of the TF eras, list what the registry serves.)
LIBRARIES = (
    ("tensorflow-text", "tensorflow_text", (
        "2.2.1", "2.3.0", "2.4.3", "2.5.0", "2.6.0", "2.7.3", "2.8.2", "2.9.0", "2.10.0", "2.11.0",
        "2.12.1", "2.13.0", "2.14.0", "2.15.0", "2.16.1", "2.17.0", "2.18.1", "2.19.0", "2.20.1", "2.21.1")),
    ("tensorflow-decision-forests", "tensorflow_decision_forests", (
        "1.0.1", "1.3.0", "1.5.0", "1.8.1", "1.9.2", "1.10.0", "1.11.0", "1.12.0")),
    ("tensorflow-addons", "tensorflow_addons", (
        "0.17.1", "0.19.0", "0.20.0", "0.21.0", "0.22.0", "0.23.0")),
)

# TF-Addons declares no tensorflow requirement: each wheel says the TF range it supports in
# tensorflow_addons/version.py (INCLUSIVE_MIN_TF_VERSION <= tf < EXCLUSIVE_MAX_TF_VERSION; MIN_/MAX_
# in older ones), and its custom ops are built against the newest minor of that range (0.21, for
# 2.11-2.13, needs absl's lts_20230125, which TF 2.12 lacks). The range is read from the wheel itself.
ADDONS_RANGE = re.compile(r"^(?:INCLUSIVE_)?MIN_TF_VERSION\s*=\s*[\"']([\d.]+)[\"']|"
                          r"^(?:EXCLUSIVE_)?MAX_TF_VERSION\s*=\s*[\"']([\d.]+)[\"']", re.M)
# TF-Addons' image, layer and seq2seq ops are built for TF's GPU wheel and need the three CUDA runtime
# symbols it carries (__cudaRegisterFatBinary, ...End, __cudaUnregisterFatBinary); tensorflow-cpu lacks
# them. Preloading NVIDIA's CUDA runtime (no GPU needed to register) lets the measurement see their ops.
CUDA_RUNTIME = "nvidia-cuda-runtime-cu12==12.2.140"

# Packages the TF recipe already brings (or that are TF itself): never installed again over it.
TF_PACKAGES = re.compile(r"^(tensorflow|tensorflow-cpu|tensorflow-intel|tensorflow-io-gcs-filesystem|"
                         r"tensorboard.*|keras|tf-estimator-nightly|tensorflow-estimator)$")


def series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def newest_patch(minor: str) -> str | None:
    return next((v for v in NEWEST_PATCHES if series(v) == minor), None)


def resolve(dist: str, version: str, python: str) -> list[str]:
    """The pinned requirements the resolver picks for `dist==version` on this interpreter."""
    done = subprocess.run(
        [*_uv(), "pip", "compile", "-", "--python-version", python, "--no-header", "--no-annotate",
         "--python-platform", "x86_64-manylinux_2_28"],
        input=f"{dist}=={version}\n", capture_output=True, text=True, env=_env(), timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"uv pip compile {dist}=={version}: {done.stderr.strip()[-600:]}")
    return [line.strip() for line in done.stdout.splitlines() if "==" in line and not line.startswith("#")]


def addons_range(version: str) -> tuple[str, str, str]:
    """(min TF, exclusive max TF, CPython) as the tensorflow-addons wheel declares them."""
    for python in ("3.11", "3.8"):
        with tempfile.TemporaryDirectory(dir=cache_dir()) as where:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version",
                 python, "--platform", "manylinux2014_x86_64", "-d", where, f"tensorflow-addons=={version}"],
                capture_output=True, text=True, timeout=600)
            wheels = list(Path(where).glob("*.whl"))
            if done.returncode != 0 or not wheels:
                continue
            with zipfile.ZipFile(wheels[0]) as wheel:
                text = wheel.read("tensorflow_addons/version.py").decode()
        found = ADDONS_RANGE.findall(text)
        low = next((a for a, _ in found if a), None)
        high = next((b for _, b in found if b), None)
        if low and high:
            return low, high, python
        raise RuntimeError(f"tensorflow-addons=={version}: its version.py names no TF range")
    raise RuntimeError(f"tensorflow-addons=={version}: no wheel for CPython 3.11 or 3.8")


def plan(dist: str, version: str) -> dict:
    """Which TF to measure `dist==version` with, on which interpreter, and what goes over it."""
    preload = None
    if dist == "tensorflow-addons":
        low, high, python = addons_range(version)
        major, minor = key(high)[:2]
        tf = newest_patch(f"{major}.{minor - 1}")
        if tf is None:
            raise RuntimeError(f"{dist}=={version} supports TF {low} to {high} (exclusive): no recipe for {major}.{minor - 1}")
        pins = resolve(dist, version, python)
        preload = CUDA_RUNTIME
        declared = [f"tensorflow>={low},<{high} (tensorflow_addons/version.py)"]
    else:
        pins = None
        for python in ("3.11", "3.8"):
            try:
                pins = resolve(dist, version, python)
                break
            except RuntimeError:
                continue
        if pins is None:
            raise RuntimeError(f"{dist}=={version} resolves on neither CPython 3.11 nor 3.8")
        wanted = next((p.split("==")[1] for p in pins if p.split("==")[0].lower() in ("tensorflow", "tensorflow-cpu")), None)
        if wanted is None:
            raise RuntimeError(f"{dist}=={version}: the resolver picked no tensorflow ({pins})")
        tf = newest_patch(series(wanted))
        if tf is None:
            raise RuntimeError(f"{dist}=={version} wants TF {wanted}, which no recipe here installs")
        # tensorflow-text 2.13.0 has CPython 3.8 wheels only; TF 2.13 has them too (the recipe's 3.11
        # is only its default), so the measurement runs there.
        declared = None
    requirement, _ = release_recipe(tf)
    extras = [p for p in pins if not TF_PACKAGES.match(p.split("==")[0].lower())]
    if key(tf) < (2, 16):
        # Before 2.16 tf.keras is Keras 2 inside TF: no tf-keras, and the last tensorflow-hub that does
        # not import it (what tensorflow-text up to 2.15 imports), as the matrix's text stacks do.
        extras = [p for p in extras if not p.startswith("tf-keras==")]
        extras = ["tensorflow-hub==0.15.0" if p.startswith("tensorflow-hub==") else p for p in extras]
    recipe = {"library": dist, "version": version, "tensorflow": tf, "python": python,
              "requirements": [requirement, *era_pins(tf)], "over": extras}
    if preload:
        recipe["preload"] = preload
    if declared:
        recipe["declared_tensorflow"] = declared
    return recipe


def measure(recipe: dict, module: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="oplib-", dir=cache_dir()))
    try:
        env = _env()
        run = lambda *args: subprocess.run([*_uv(), *args], check=True, env=env, capture_output=True, text=True)  # noqa: E731
        run("venv", "-q", "--seed", "--python", python_interpreter(recipe["python"]), str(workdir))
        python = workdir / "bin" / "python"
        run("pip", "install", "-q", "--python", str(python), *recipe["requirements"])
        present = subprocess.run([*_uv(), "pip", "freeze", "--python", str(python)], capture_output=True, text=True,
                                 env=env).stdout
        have = {line.split("==")[0].lower().replace("_", "-") for line in present.splitlines() if "==" in line}
        over = [p for p in recipe["over"] if p.split("==")[0].lower().replace("_", "-") not in have
                or p.split("==")[0].lower() == recipe["library"]]
        run("pip", "install", "-q", "--python", str(python), "--no-deps", *over)
        child = dict(os.environ)
        if recipe.get("preload"):
            run("pip", "install", "-q", "--python", str(python), "--no-deps", recipe["preload"])
            found = sorted(workdir.glob("lib/python*/site-packages/nvidia/cuda_runtime/lib/libcudart.so.*"))
            if not found:
                return {"error": f"{recipe['preload']} brought no libcudart"}
            child["LD_PRELOAD"] = str(found[0])
        done = subprocess.run(["nice", str(python), str(MEASURE), module], capture_output=True, text=True,
                              timeout=1800, env=child)
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        if not lines:
            return {"error": f"measure exited {done.returncode}: {done.stderr.strip()[-600:]}"}
        result = json.loads(lines[-1])
        if len(lines) == 1 and done.returncode != 0:
            result["load_errors"] = {"*": f"the process died loading the package's shared objects (exit {done.returncode})"}
        return result
    except subprocess.CalledProcessError as exc:
        return {"error": f"install failed: {(exc.stderr or '').strip()[-600:]}"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def cached(dist: str, version: str, module: str, fresh: bool, cached_only: bool = False) -> dict:
    store = cache_dir() / "oplibs"
    store.mkdir(parents=True, exist_ok=True)
    script = hashlib.sha256(MEASURE.read_bytes()).hexdigest()[:10]
    if cached_only:  # no resolver: the newest measurement of this release by this measuring script
        found = sorted(store.glob(f"{dist}-{version}-*-{script}.json"), key=lambda f: f.stat().st_mtime)
        return json.loads(found[-1].read_text()) if found else {"library": dist, "version": version, "error": NOT_MEASURED}
    try:
        recipe = plan(dist, version)
    except RuntimeError as exc:
        return {"library": dist, "version": version, "error": str(exc)}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]
    path = store / f"{dist}-{version}-{digest}-{script}.json"
    if path.exists() and not fresh:
        return json.loads(path.read_text())
    print(f"measuring {dist}=={version} on TF {recipe['tensorflow']} (CPython {recipe['python']})", flush=True)
    result = {**recipe, **measure(recipe, module)}
    path.write_text(json.dumps(result, indent=1, sort_keys=True))
    return result


def built_for(requirements: list[str]) -> list[str]:
    """The TF minors (of those a recipe here installs) a release's tensorflow requirement admits."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import SpecifierSet

    # Older metadata writes "tensorflow (<2.14.0,>=2.11.0)"; a declared range ends in "(its source)".
    texts = [re.sub(r"\s*\(([<>=!~][^)]*)\)", r"\1", t).split(" (")[0] for t in requirements]
    # The `tensorflow` requirement when there is one: tensorflow-text 2.15.0 also declares
    # tensorflow-cpu<2.14,>=2.13.0 (a stale pin in its metadata), for the wheel it is not built for.
    named = [t for t in texts if re.match(r"tensorflow\s*[<>=!~;]|tensorflow$", t)]
    minors: set[str] = set()
    for text in named or texts:
        try:
            spec = Requirement(text.replace("tensorflow-cpu", "tensorflow")).specifier
        except InvalidRequirement:
            continue
        minors |= {series(v) for v in NEWEST_PATCHES if SpecifierSet(str(spec)).contains(v, prereleases=True)
                   or any(SpecifierSet(str(spec)).contains(f"{series(v)}.{p}") for p in range(0, 12))}
    return sorted(minors, key=key)


def entry(result: dict) -> dict:
    """One release in the data file."""
    requires = result.get("requires_tensorflow") or result.get("declared_tensorflow") or []
    out = {
        "version": result["version"],
        "built_for": built_for(requires),
        "measured_with": result.get("tensorflow"),
        "python": result.get("python"),
        "requires_tensorflow": requires,
    }
    if result.get("preload"):
        out["measured_with_preload"] = result["preload"]
    if result.get("error"):
        out["error"] = result["error"]
        return out
    out["import_error"] = result.get("import_error")
    out["ops_on_import"] = result.get("ops_on_import") or []
    lazy = sorted({op for ops in (result.get("ops_lazy") or {}).values() for op in ops})
    out["ops_lazy"] = lazy
    if result.get("load_errors"):
        out["load_errors"] = dict(sorted(result["load_errors"].items())[:20])
    out["ops_by_file"] = result.get("ops_by_file") or {}
    if result.get("file_errors"):
        out["file_errors"] = dict(sorted(result["file_errors"].items())[:20])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="DIST==VERSION to measure (again)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached measurements")
    parser.add_argument("--cached-only", dest="all_cached", action="store_true",
                        help="write the data file from the measurements already cached, measuring nothing new")
    args = parser.parse_args(argv)
    only = set(args.only)
    results: dict[str, list[dict]] = {dist: [] for dist, _, _ in LIBRARIES}
    # Newest releases first, one library after the other: an interrupted run has the ones that matter.
    order = [(i, dist, module, version) for dist, module, versions in LIBRARIES
             for i, version in enumerate(reversed(versions))]
    for _, dist, module, version in sorted(order, key=lambda item: item[0]):
        named = f"{dist}=={version}" in only
        from_cache = args.all_cached or (bool(only) and not named)
        result = cached(dist, version, module, fresh=args.fresh or named, cached_only=from_cache)
        if result.get("error") != NOT_MEASURED:
            results[dist].append(entry(result))
    libraries = {}
    for dist, module, _ in LIBRARIES:
        libraries[dist] = {"module": module, "load": LOAD[dist],
                           "releases": sorted(results[dist], key=lambda r: key(r["version"]))}
    data = {
        "generated_by": "tools/gen_oplibs.py (tools/measure_oplib.py inside a venv per release)",
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "libraries": libraries,
    }
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    counts = {d: sum(1 for r in lib["releases"] if r.get("ops_on_import") or r.get("ops_lazy")) for d, lib in libraries.items()}
    print(f"wrote {DATA.relative_to(ROOT)}: releases with ops measured {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
