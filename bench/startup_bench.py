"""Start-up: `tfguard inspect` and `tfguard check` as processes against `import tensorflow` + load.

What a user waits for when CI runs `tfguard check` on a model: the whole process, interpreter start-up
and imports included, as `pip install tfguard` lays it out. Each tree is installed the way pip
installs it (its package copied into a venv of its own, with the `tfguard` script pip writes; the
dependencies come from the dev venv through a .pth file), because the dev venv's editable install
adds a finder to every start-up (some 30 ms here) that no user's install has. Side by side,
interleaved (the order turns each round), on the same SavedModel:
  floor      `python -c pass` with that venv's interpreter (what no Python CLI can beat);
  inspect    `tfguard inspect MODEL --json`;
  check      `tfguard check --model MODEL --image tensorflow/serving:2.15.0 --output json`;
  tf         `python -c "import tensorflow as tf; tf.saved_model.load(MODEL)"` in the TF 2.15.1 venv
             (`tf.keras.models.load_model` for the .keras file).
TFGUARD_BENCH_BASELINE_TREE=DIR adds `inspect@base` and `check@base`: the same commands installed
from another checkout (e.g. `git worktree add /tmp/base main~3`), so a change's before/after is
measured in the same rounds. Wall time and CPU time (user + sys of the child, from
getrusage) per run; medians over rounds; ratios are medians of per-round ratios. Then the import
time of each module on the inspect and check paths (`python -X importtime`, self microseconds, the
largest), one run each.

`python -m bench startup`; TFGUARD_BENCH_ROUNDS (default 7).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"speedup_vs_tf": 50.0}
ROUNDS = int(os.environ.get("TFGUARD_BENCH_ROUNDS", "7"))
BASELINE_TREE = os.environ.get("TFGUARD_BENCH_BASELINE_TREE")
IMAGE = "tensorflow/serving:2.15.0"
REPO = Path(__file__).resolve().parent.parent
# Bytecode: a pip-installed package has .pyc files (pip compiles on install); a checkout run with
# PYTHONDONTWRITEBYTECODE (as this machine's shells are) compiles every module on every start, and
# so does a venv installed without compiling. TFGUARD_BENCH_BYTECODE=1 (default) gives every arm
# (tfguard, both trees, and TF's venv) .pyc files under one prefix, written by the warm-up runs;
# 0 runs them as the environment says.
BYTECODE = os.environ.get("TFGUARD_BENCH_BYTECODE", "1") == "1"
BASE_ENV = {k: v for k, v in os.environ.items() if not (BYTECODE and k == "PYTHONDONTWRITEBYTECODE")}
if BYTECODE:
    BASE_ENV["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tfguard-bench-pycache")
TF_ENV = dict(BASE_ENV, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")


def run_once(argv: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False, cwd="/")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _entry_point(tree: Path) -> str:
    """What the tree's pyproject.toml names as the `tfguard` script ("tfguard.cli:run")."""
    import tomllib

    with open(tree / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["scripts"]["tfguard"]


def installed(tree: Path, name: str) -> Path:
    """A venv holding `tree`'s tfguard as pip installs it (no editable finder); its `tfguard` script."""
    import shutil
    import sysconfig

    venv = Path(tempfile.gettempdir()) / "tfguard-bench-installed" / name
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "tfguard-bench-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.copytree(tree / "tfguard", site / "tfguard", ignore=shutil.ignore_patterns("__pycache__"))
    module, _, function = _entry_point(tree).partition(":")
    script = venv / "bin" / "tfguard"
    script.write_text(f"#!{venv / 'bin' / 'python'}\n"
                      f"import sys\nfrom {module} import {function}\nif __name__ == '__main__':\n    sys.exit({function}())\n")
    script.chmod(0o755)
    return script


def arms(model: Path, tf_python: Path, tf_load: str, scripts: dict[str, Path]) -> dict[str, tuple[list[str], dict | None]]:
    inspect = ["inspect", str(model), "--json"]
    check = ["check", "--model", str(model), "--image", IMAGE, "--output", "json"]
    out = {
        "floor": ([str(scripts["this"].with_name("python")), "-c", "pass"], BASE_ENV),
        "inspect": ([str(scripts["this"]), *inspect], BASE_ENV),
        "check": ([str(scripts["this"]), *check], BASE_ENV),
        "tf": ([str(tf_python), "-c", f"import tensorflow as tf; {tf_load}({str(model)!r})"], TF_ENV),
    }
    if "base" in scripts:
        out["inspect@base"] = ([str(scripts["base"]), *inspect], BASE_ENV)
        out["check@base"] = ([str(scripts["base"]), *check], BASE_ENV)
    return out


def check_arms(table: dict) -> None:
    """Each tfguard arm must succeed (check may exit 1 for an incompatible verdict)."""
    for name, (argv, env) in table.items():
        if name in ("floor", "tf"):
            continue
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/")
        if done.returncode not in (0, 1):
            raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr[-800:]}")
    for name, (argv, _) in table.items():
        if name in ("inspect", "inspect@base"):
            python = str(Path(argv[0]).with_name("python"))
            where = subprocess.run([python, "-c", "import tfguard; print(tfguard.__file__)"], capture_output=True,
                                   text=True, env=BASE_ENV, cwd="/").stdout.strip()
            if not where.startswith(str(Path(argv[0]).parent.parent)):
                raise RuntimeError(f"{argv[0]} imports tfguard from {where}")


def import_times(argv: list[str], env: dict | None, top: int = 12) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) of the modules `argv` imports, largest self time first."""
    script = Path(argv[0]).name == "tfguard"  # the installed script: its venv's python runs it
    cmd = [str(Path(argv[0]).with_name("python")), "-X", "importtime", *argv] if script else \
        [argv[0], "-X", "importtime", *argv[1:]]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/")
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative, name = (part.strip() for part in line.replace("import time:", "|").split("|"))
        rows.append((name, int(self_us), int(cumulative)))
    total = sum(r[1] for r in rows)
    rows.sort(key=lambda r: -r[1])
    return [("(all modules)", total, total)] + rows[:top]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def models() -> list[tuple[str, Path, str]]:
    """(name, path, the TF call that loads it) of real models written by TF 2.15.1 (harness.models)."""
    from harness.models import model_path
    from harness.tfenvs import OLD_TF

    return [("keras_saved_model", model_path("keras_saved_model", OLD_TF), "tf.saved_model.load"),
            ("keras_v3 (.keras)", model_path("keras_v3", OLD_TF), "tf.keras.models.load_model")]


def main() -> int:
    from harness.tfenvs import OLD_TF, tf_python

    python = tf_python(OLD_TF)
    load_before = os.getloadavg()
    print(f"Start-up bench: processes, {ROUNDS} interleaved rounds (order turning), {os.cpu_count()} CPUs shared "
          f"with other work; medians; ratio = median of per-round ratios; "
          f"{'.pyc files for every arm' if BYTECODE else 'bytecode as the environment says'} "
          f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} here)")
    goals = []
    scripts = {"this": installed(REPO, "this")}
    if BASELINE_TREE:
        scripts["base"] = installed(Path(BASELINE_TREE).resolve(), "base")
    for label, model, tf_load in models():
        table = arms(model, python, tf_load, scripts)
        check_arms(table)
        names = list(table)
        for name, (argv, env) in table.items():  # warm the page cache and .pyc files
            run_once(argv, env)
        runs: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for n in range(ROUNDS):
            for name in names[n % len(names):] + names[: n % len(names)]:
                runs[name].append(run_once(*table[name]))
        print(f"\n{label} (TF {OLD_TF}):")
        print(f"  {'':16}{'wall s':>10}{'CPU s':>10}{'tf/this wall':>14}{'tf/this CPU':>13}")
        for name in names:
            wall = median([r[0] for r in runs[name]])
            cpu = median([r[1] for r in runs[name]])
            by_wall = median([t[0] / r[0] for t, r in zip(runs["tf"], runs[name])])
            by_cpu = median([t[1] / r[1] for t, r in zip(runs["tf"], runs[name])])
            print(f"  {name:16}{wall:>10.3f}{cpu:>10.3f}{by_wall:>13.1f}x{by_cpu:>12.1f}x")
            if name in ("inspect", "check"):
                goals.append((f"{label}: {name} >= {GOALS['speedup_vs_tf']:g}x faster than TF (wall)",
                              by_wall >= GOALS["speedup_vs_tf"]))
        for name in ("inspect", "check"):
            if f"{name}@base" in runs:
                ratio = median([b[0] / r[0] for b, r in zip(runs[f"{name}@base"], runs[name])])
                cpu = median([b[1] / r[1] for b, r in zip(runs[f"{name}@base"], runs[name])])
                print(f"  {name}: base/this {ratio:.2f}x by wall, {cpu:.2f}x by CPU")
        above_floor = median([(r[1] - f[1]) * 1000 for r, f in zip(runs["inspect"], runs["floor"])])
        print(f"  inspect CPU above the interpreter floor: {above_floor:.0f} ms")
    _, model, tf_load = models()[0]
    table = arms(model, python, tf_load, scripts)
    for name in ("inspect", "check"):
        print(f"\nimport time on the {name} path (python -X importtime, one run), self / cumulative ms:")
        for module, self_us, cumulative in import_times(*table[name]):
            print(f"  {module:52}{self_us / 1000:>8.1f}{cumulative / 1000:>9.1f}")
    print()
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    load_after = os.getloadavg()
    print(f"load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
