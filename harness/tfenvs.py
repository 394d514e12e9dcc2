"""Throwaway virtual environments with real TensorFlow wheels, cached by what they contain.

Tests, benchmarks, the demo and the knowledge generator all get their TF stacks from here:

    python = tf_python(OLD_TF)                      # a healthy tensorflow-cpu 2.15 stack
    python = venv("tf215-numpy2", [f"tensorflow-cpu=={OLD_TF}"], overrides=["numpy==2.0.2"])

A venv lives under $TFGUARD_CACHE/venvs/<name>-<hash of its recipe>/ and is built once (uv, with
its package cache under $TFGUARD_CACHE/uv); a file lock makes concurrent builders wait for each
other. `python -m harness.tfenvs ensure` builds the ones the test suite uses.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The two releases the tests save real models with and load them across.
OLD_TF = "2.15.1"  # Keras 2 era: tf.keras is Keras 2.15
NEW_TF = "2.20.0"  # Keras 3 era: tf.keras is Keras 3
TEST_RELEASES = (OLD_TF, NEW_TF)

# Broken stacks: a release with a package it does not support installed over it (--no-deps).
# tests/probe/stacks.py builds them as venvs, harness/images.py as serving images.
# {name: (release, overrides)}
BROKEN_STACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tf2.15-numpy2": (OLD_TF, ("numpy==2.1.3",)),  # TF 2.15 was compiled against NumPy 1.x
    "tf2.15-keras3": (OLD_TF, ("keras==3.6.0",)),  # TF 2.15's tf.keras expects Keras 2
}


def cache_dir() -> Path:
    return Path(os.environ.get("TFGUARD_CACHE", Path.home() / ".cache" / "tfguard"))


def python_interpreter(version: str = "3.11") -> str:
    """Path of a CPython `version` (e.g. "3.8") on this machine."""
    if sys.version_info[:2] == tuple(int(p) for p in version.split(".")):
        return sys.executable if not hasattr(sys, "_base_executable") else sys._base_executable
    for candidate in (
        shutil.which(f"python{version}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))),
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ):
        if candidate and os.path.exists(candidate):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True,
            )
            if probe.returncode == 0 and probe.stdout.strip() == version:
                return candidate
    raise FileNotFoundError(f"no CPython {version} interpreter found on this machine")


def _uv() -> list[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    return [uv] if uv else [sys.executable, "-m", "uv"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(cache_dir() / "uv"))
    env.pop("VIRTUAL_ENV", None)
    return env


def venv(
    name: str,
    requirements: list[str],
    python: str = "3.11",
    overrides: list[str] | None = None,
) -> Path:
    """Return the `bin/python` of a cached venv holding `requirements`.

    `overrides` are installed afterwards with --no-deps: the way to build a deliberately broken
    stack (a NumPy or Keras the TF release does not declare support for).
    """
    recipe = {"python": python, "requirements": requirements, "overrides": overrides or []}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    root = cache_dir() / "venvs" / f"{name}-{key}"
    python_bin = root / "bin" / "python"
    done = root / ".tfguard-ready"
    if done.exists():
        return python_bin
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return python_bin
        shutil.rmtree(root, ignore_errors=True)
        env = _env()
        run = lambda *args: subprocess.run([*_uv(), *args], check=True, env=env)  # noqa: E731
        run("venv", "-q", "--seed", "--python", python_interpreter(python), str(root))
        run("pip", "install", "-q", "--python", str(python_bin), *requirements)
        if overrides:
            run("pip", "install", "-q", "--python", str(python_bin), "--no-deps", *overrides)
        done.write_text(json.dumps(recipe, indent=2))
    return python_bin


# The newest patch of every TensorFlow minor the registry serves, oldest first: what
# tools/gen_knowledge.py measures (`pip index versions tensorflow-cpu` with each interpreter lists them).
NEWEST_PATCHES = (
    "1.15.5", "2.0.4", "2.1.4", "2.2.3", "2.3.4", "2.4.4", "2.5.3", "2.6.5", "2.7.4", "2.8.4", "2.9.3",
    "2.10.1", "2.11.1", "2.12.1", "2.13.1", "2.14.1", "2.15.1", "2.16.2", "2.17.1", "2.18.1", "2.19.1",
    "2.20.0", "2.21.0",
)

# What a user of each era had, where the wheel's own requirements let today's resolver pick versions
# that release never worked with. (first series, last series, pin, why). 2.12 and later declare
# tight enough bounds themselves and get no pins (their venvs keep the recipe they always had).
ERA_PINS: tuple[tuple[tuple[int, int], tuple[int, int], str, str], ...] = (
    ((1, 15), (2, 8), "protobuf<3.20",
     "declares protobuf>=3.6.1..3.9.2 with no upper bound; protobuf 4 rejects its generated _pb2 modules "
     "('Descriptors cannot be created directly'), and 2.9 itself capped protobuf<3.20"),
    ((2, 7), (2, 11), "numpy<1.24",
     "declares numpy>=1.14.5/1.20 with no upper bound; NumPy 1.24 removed np.object/np.bool, which "
     "these releases (and their Keras/TensorBoard) still use; 2.12 itself capped numpy<1.24"),
)


def _series_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def era_pins(version: str) -> list[str]:
    """The era pins (requirement strings) the recipe of TensorFlow `version` adds."""
    key = _series_key(version)
    return [pin for first, last, pin, _why in ERA_PINS if first <= key <= last]


def release_recipe(version: str) -> tuple[str, str]:
    """(requirement, CPython version) that installs TensorFlow `version` on this machine.

    The registry has wheels for 1.15 and 2.0 only as `tensorflow` (CPU and GPU in one wheel) and for
    CPython 3.7; tensorflow-cpu 2.1 for 3.7; tensorflow-cpu 2.2-2.11 for 3.8; 2.12 and later for 3.11.
    """
    key = _series_key(version)
    if key < (2, 1):
        return f"tensorflow=={version}", "3.7"
    if key < (2, 2):
        return f"tensorflow-cpu=={version}", "3.7"
    if key < (2, 12):
        return f"tensorflow-cpu=={version}", "3.8"
    return f"tensorflow-cpu=={version}", "3.11"


def tf_recipe(version: str) -> dict:
    """The venv recipe of TensorFlow `version`: {"name", "requirements", "python"}."""
    requirement, python = release_recipe(version)
    return {"name": f"tf-{version}", "requirements": [requirement, *era_pins(version)], "python": python}


def tf_python(version: str) -> Path:
    """A healthy stack: TensorFlow `version` (CPU) with the dependencies pip chooses for it, within
    the era pins (ERA_PINS) where its own bounds are too loose."""
    recipe = tf_recipe(version)
    return venv(recipe["name"], recipe["requirements"], python=recipe["python"])


# Keras packages that are not the one `tensorflow` pulls in, each over a TensorFlow it supports:
# tf-keras (Keras 2 for TF 2.16+; it depends on `tensorflow`, so it goes in --no-deps over the
# matching tensorflow-cpu) and every Keras 3 minor over the oldest TF whose bounds admit it.
KERAS3_NEWEST_PATCHES = (
    "3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.2", "3.10.0",
    "3.11.3", "3.12.4", "3.13.2", "3.14.1", "3.15.1",
)
# (below this Keras 3 minor, that TF): TF 2.16 admits keras>=3.0, 2.17 >=3.2, 2.18 and 2.19 >=3.5,
# 2.20 >=3.10; each Keras 3 minor goes over the newest TF of its era whose bounds admit it.
_KERAS3_TF = ((3, 2, "2.16.2"), (3, 5, "2.17.1"), (3, 9, "2.18.1"), (3, 10, "2.19.1"), (99, 0, "2.20.0"))


def keras_recipe(package: str, version: str) -> tuple[str, list[str], list[str]]:
    """(TensorFlow version, requirements, --no-deps overrides) of a stack with Keras `package`
    ("tf-keras" or "keras") at `version`."""
    if package == "tf-keras":
        tf = {"2.16": "2.16.2", "2.17": "2.17.1", "2.18": "2.18.1", "2.19": "2.19.1", "2.20": "2.20.0",
              "2.21": "2.21.0"}[".".join(version.split(".")[:2])]
        return tf, [release_recipe(tf)[0]], [f"tf-keras=={version}"]
    if package == "keras" and _series_key(version) >= (3, 0):
        key = _series_key(version)
        tf = next(tf for below_major, below_minor, tf in _KERAS3_TF if key < (below_major, below_minor))
        return tf, [release_recipe(tf)[0], f"keras=={version}"], []
    raise ValueError(f"{package} {version} comes with its TensorFlow release: use tf_python()")


def keras_python(package: str, version: str) -> Path:
    """A stack whose Keras is `package` `version` (see keras_recipe)."""
    tf, requirements, overrides = keras_recipe(package, version)
    return venv(f"{package}-{version}-tf-{tf}", requirements, overrides=overrides)


def main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print("usage: python -m harness.tfenvs ensure [VERSION ...]", file=sys.stderr)
        return 2
    for version in argv[1:] or TEST_RELEASES:
        print(f"{release_recipe(version)[0]}: {tf_python(version)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
