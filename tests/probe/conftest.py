"""Fixtures of the probe tests."""

from __future__ import annotations

import pytest

from .helpers import ProbeRun, run_probe


@pytest.fixture
def probe_runner(tmp_path):
    def run(python, *args, timeout: float = 300) -> ProbeRun:
        return run_probe(python, *args, tmp_path=tmp_path, timeout=timeout)

    return run
