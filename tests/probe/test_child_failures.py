"""How the probe classifies the child's failures, driven by a stand-in `tensorflow` package.

Real broken stacks (test_broken_stacks.py) cover NumPy 2, a missing library, a corrupt library,
Keras 3 over TF 2.15 and a missing op. What no real stack here does on demand (SIGILL, abort, a
hang at import, a crash or hang while loading or listing GPUs, a protobuf error) is driven by
tests/probe/fake_tf, put first on PYTHONPATH, with the real probe file and a real interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import PROBE, no_tf_python

FAKE_TF = Path(__file__).parent / "fake_tf"


@pytest.fixture
def model(tmp_path):
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "saved_model.pb").write_bytes(b"")
    return directory


def probe_with(mode, *args, tmp_path, path=()):
    env = dict(os.environ, FAKE_TF_MODE=mode, PYTHONPATH=os.pathsep.join([str(FAKE_TF), *map(str, path)]))
    log = tmp_path / f"log-{mode}"
    proc = subprocess.run([no_tf_python(), str(PROBE), "--json", "--termination-log", str(log), *args],
                          capture_output=True, text=True, env=env, timeout=120)
    report = json.loads(proc.stdout)
    report["exit_code"] = proc.returncode
    report["by_name"] = {c["name"]: c for c in report["checks"]}
    return report


@pytest.mark.parametrize(
    "mode, code, words",
    [
        ("import_sigill", "PROBE_IMPORT_SIGILL", "SIGILL"),
        ("import_abort", "PROBE_IMPORT_CRASHED", "SIGABRT"),
        ("import_exit", "PROBE_IMPORT_CRASHED", "exit status 3"),
        ("protobuf", "PROBE_PROTOBUF_INCOMPATIBLE", "Descriptors cannot be created directly"),
        ("undefined_symbol", "PROBE_UNDEFINED_SYMBOL", "_ZN10tensorflow8OpKernel11TraceStringEv"),
        ("numpy_message", "PROBE_NUMPY_ABI", "compiled using NumPy 1.x"),
        ("inner_module", "PROBE_IMPORT_ERROR", "tensorflow.python.platform"),
    ],
)
def test_import_failures(mode, code, words, tmp_path):
    report = probe_with(mode, "--gpu", "none", tmp_path=tmp_path)
    check = report["by_name"]["import"]
    assert (check["status"], check["code"]) == ("fail", code)
    assert words in check["message"]
    assert report["exit_code"] == 1


def test_an_import_hang_is_killed_at_the_budget(tmp_path):
    report = probe_with("import_hang", "--gpu", "none", "--budget", "2", tmp_path=tmp_path)
    assert report["by_name"]["import"]["code"] == "PROBE_IMPORT_TIMEOUT"


def test_a_crash_while_loading_keeps_the_import_result(model, tmp_path):
    report = probe_with("load_segv", "--gpu", "none", "--model", str(model), tmp_path=tmp_path)
    assert report["by_name"]["import"]["code"] == "PROBE_IMPORT_OK"
    assert report["stack"]["tensorflow_version"] == "9.9.9"
    load = report["by_name"]["model_load"]
    assert (load["code"], load["status"]) == ("PROBE_MODEL_LOAD_CRASHED", "fail")
    assert "SIGSEGV" in load["message"]


def test_a_hang_while_loading(model, tmp_path):
    report = probe_with("load_hang", "--gpu", "none", "--model", str(model), "--budget", "3", tmp_path=tmp_path)
    assert report["by_name"]["import"]["code"] == "PROBE_IMPORT_OK"
    assert report["by_name"]["model_load"]["code"] == "PROBE_MODEL_LOAD_TIMEOUT"


def test_an_unclassified_load_error_carries_its_last_line(model, tmp_path):
    report = probe_with("load_error", "--gpu", "none", "--model", str(model), tmp_path=tmp_path)
    load = report["by_name"]["model_load"]
    assert load["code"] == "PROBE_MODEL_LOAD_FAILED" and "nobody classified" in load["message"]


def test_a_hang_while_listing_gpus(tmp_path):
    report = probe_with("gpu_hang", "--gpu", "required", "--budget", "3", tmp_path=tmp_path)
    gpu = report["by_name"]["gpu"]
    assert (gpu["code"], gpu["status"]) == ("PROBE_GPU_CHECK_FAILED", "fail") and "hung" in gpu["message"]


def test_gpus_listed_by_tensorflow_pass(tmp_path):
    report = probe_with("gpus", "--gpu", "required", tmp_path=tmp_path)
    assert report["by_name"]["gpu"]["code"] == "PROBE_GPU_OK"
    assert report["stack"]["gpus_visible"] == 1 and report["stack"]["cuda_build"] is True
    assert report["status"] == "pass" and report["exit_code"] == 0


def test_the_probe_imports_what_the_server_imports_before_it_loads(model, tmp_path):
    loads = probe_with("ok", "--gpu", "none", "--model", str(model), "--import", "json", tmp_path=tmp_path)
    assert loads["by_name"]["model_load"]["status"] == "pass"

    missing = probe_with("ok", "--gpu", "none", "--model", str(model), "--import", "my_models_not_installed",
                         tmp_path=tmp_path)
    load = missing["by_name"]["model_load"]
    assert load["status"] == "fail" and "my_models_not_installed" in load["message"]


def test_a_tf_nightly_image_reports_the_keras_nightly_it_installs_as_its_keras(tmp_path):
    site = tmp_path / "site"
    info = site / "keras_nightly-3.16.0.dev2026102704.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keras-nightly\nVersion: 3.16.0.dev2026102704\n")
    report = probe_with("ok", "--gpu", "none", tmp_path=tmp_path, path=[site])
    assert report["stack"]["keras_version"] == "3.16.0.dev2026102704"
