"""Every bench script imports and exposes main() (the benches themselves are not run by `make test`)."""

import importlib
from pathlib import Path

import pytest

BENCHES = sorted(p.stem for p in (Path(__file__).parent.parent / "bench").glob("*_bench.py"))


@pytest.mark.parametrize("name", BENCHES)
def test_bench_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)
