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


def release_recipe(version: str) -> tuple[str, str]:
    """(requirement, CPython version) that installs TensorFlow `version` on this machine.

    The registry has wheels for 1.15 and 2.0 only as `tensorflow` (CPU and GPU in one wheel) and for
    CPython 3.7; tensorflow-cpu 2.1 for 3.7; tensorflow-cpu 2.2-2.11 for 3.8; 2.12 and later for 3.11.
    """
    key = tuple(int(p) for p in version.split(".")[:2])
    if key < (2, 1):
        return f"tensorflow=={version}", "3.7"
    if key < (2, 2):
        return f"tensorflow-cpu=={version}", "3.7"
    if key < (2, 12):
        return f"tensorflow-cpu=={version}", "3.8"
    return f"tensorflow-cpu=={version}", "3.11"


def tf_python(version: str) -> Path:
    """A healthy stack: TensorFlow `version` (CPU) with the dependencies pip chooses for it."""
    requirement, python = release_recipe(version)
    if python == "3.11":
        return venv(f"tf-{version}", [requirement])  # the recipe (and cache key) older venvs were built with
    return venv(f"tf-{version}", [requirement], python=python)


def main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print("usage: python -m harness.tfenvs ensure [VERSION ...]", file=sys.stderr)
        return 2
    for version in argv[1:] or TEST_RELEASES:
        print(f"tensorflow-cpu {version}: {tf_python(version)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
