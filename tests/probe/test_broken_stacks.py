"""The real probe against real TensorFlow stacks, healthy and deliberately broken.

Each broken stack is its own cached venv (tests/probe/stacks.py); each must give its own code.
This machine has no GPU: "GPU required" fails here with the reason, which is what is checked.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from tfguard.compat.inspect import inspect_model
from tfguard.compat.probe_report import parse_probe_report
from harness.models import NEW_OP, model_path
from harness.tfenvs import NEW_TF, OLD_TF, tf_python

from . import stacks
from .helpers import run_probe

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    def run(python, *args, **kw):
        return run_probe(python, *args, tmp_path=tmp_path_factory.mktemp("probe"), **kw)

    return run


# --- the import check ---------------------------------------------------------------------


def test_no_tensorflow_at_all(probe):
    run = probe(stacks.no_tensorflow(), "--gpu", "none")
    assert run.exit_code == 1
    assert run.failed_codes == ["PROBE_TF_NOT_INSTALLED"]


def test_numpy_2_under_tf_2_15(probe):
    run = probe(stacks.numpy2_under_old_tf(), "--gpu", "none")
    assert run.failed_codes == ["PROBE_NUMPY_ABI"]
    assert "numpy 2.1.3" in run.check("import")["message"]
    assert run.check("requirements")["code"] == "PROBE_REQUIREMENT_VIOLATED"
    assert run.report["stack"]["numpy_version"] == "2.1.3"
    assert run.report["stack"]["tensorflow_version"] == OLD_TF  # from package metadata: the import failed


def test_missing_framework_library(probe):
    run = probe(stacks.missing_framework_library(), "--gpu", "none")
    assert run.failed_codes == ["PROBE_MISSING_SHARED_LIBRARY"]
    assert "libtensorflow_framework.so.2" in run.check("import")["message"]


def test_corrupt_core_library_dies_of_a_signal(probe):
    python = stacks.corrupt_core_library()
    bare = subprocess.run([str(python), "-c", "import tensorflow"], capture_output=True, timeout=300)
    assert bare.returncode in (-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGILL), bare.returncode  # a real crash

    run = probe(python, "--gpu", "none")
    assert run.failed_codes == ["PROBE_IMPORT_CRASHED"]
    assert run.check("import")["details"]["signal"] in ("SIGSEGV", "SIGBUS", "SIGILL")
    assert "Fatal Python error" in run.check("import")["details"]["stderr_tail"]  # the fault handler's frames


def test_keras_3_over_tf_2_15(probe):
    run = probe(stacks.keras3_over_old_tf(), "--gpu", "none")
    assert run.check("import")["code"] == "PROBE_IMPORT_OK"
    assert run.failed_codes == ["PROBE_TF_KERAS_BROKEN"]
    assert "keras 3.6.0" in run.check("tf_keras")["message"]
    assert "keras (<2.16,>=2.15.0)" in run.check("requirements")["message"]


def test_an_import_that_outlives_the_budget_is_killed(probe):
    run = probe(tf_python(OLD_TF), "--gpu", "none", "--budget", "0.5")
    assert run.failed_codes == ["PROBE_IMPORT_TIMEOUT"]


# --- a healthy stack and real models ------------------------------------------------------


@pytest.fixture(scope="module")
def healthy_run(probe):
    model = model_path("plain_saved_model", OLD_TF)
    return model, probe(tf_python(OLD_TF), "--model", str(model), "--expected-producer", OLD_TF, "--gpu", "optional")


def test_healthy_stack_loads_a_real_model(healthy_run):
    _, run = healthy_run
    assert run.exit_code == 0 and run.report["status"] == "pass"
    codes = {c["name"]: c["code"] for c in run.report["checks"]}
    assert codes["import"] == "PROBE_IMPORT_OK"
    assert codes["tf_keras"] == "PROBE_TF_KERAS_OK"
    assert codes["model_load"] == "PROBE_MODEL_LOADED"
    assert codes["signature"] == "PROBE_SIGNATURE_OK"
    assert codes["producer"] == "PROBE_PRODUCER_MATCHES"
    assert codes["requirements"] == "PROBE_REQUIREMENTS_OK"


def test_healthy_stack_facts(healthy_run):
    _, run = healthy_run
    stack = run.report["stack"]
    assert stack["tensorflow_version"] == OLD_TF and stack["tensorflow_git_version"].startswith("v2.15")
    assert stack["tf_keras_major"] == 2 and stack["cuda_build"] is False and stack["import_ok"] is True
    assert stack["numpy_version"].startswith("1.") and stack["protobuf_version"]


def test_model_facts_match_tfguard_inspect(healthy_run):
    model, run = healthy_run
    inspected = inspect_model(model)
    facts = run.report["model"]
    for key in ("digest", "ops", "op_attrs", "tensorflow_version", "tensorflow_git_version", "graph_producer",
                "graph_min_consumer", "signatures", "format"):
        assert facts[key] == getattr(inspected, key), key


def test_the_termination_log_carries_what_the_operator_needs(healthy_run):
    model, run = healthy_run
    assert len(run.summary.encode()) <= 4096
    report = parse_probe_report(run.summary)
    assert report.status == "pass" and report.summary
    assert report.stack.tensorflow_version == OLD_TF and report.stack.source == "probe"
    assert report.model.digest == inspect_model(model).digest and report.model.ops == inspect_model(model).ops


def test_a_model_that_needs_an_op_the_stack_lacks(probe):
    model = model_path("new_op_saved_model", NEW_TF)
    run = probe(tf_python(OLD_TF), "--model", str(model), "--expected-producer", OLD_TF, "--gpu", "none")
    assert run.exit_code == 1
    assert run.failed_codes == ["PROBE_MISSING_OP"]
    load = run.check("model_load")
    assert load["details"]["missing_ops"] == [NEW_OP] and NEW_OP in load["message"]
    assert run.check("producer")["code"] == "PROBE_PRODUCER_MISMATCH"  # the model says 2.20.0
    assert NEW_OP in parse_probe_report(run.summary).model.ops


def test_a_keras_3_file_under_keras_2(probe):
    run = probe(tf_python(OLD_TF), "--model", str(model_path("keras_v3", NEW_TF)), "--gpu", "none")
    assert run.failed_codes == ["PROBE_KERAS_FORMAT"]
    assert run.report["model"]["keras_version"].startswith("3.")


def test_a_keras_3_file_under_keras_3(probe):
    run = probe(tf_python(NEW_TF), "--model", str(model_path("keras_v3", NEW_TF)), "--gpu", "none")
    assert run.report["status"] == "pass"
    assert run.check("model_load")["code"] == "PROBE_MODEL_LOADED"
    assert run.report["stack"]["tf_keras_major"] == 3


def test_gpu_required_on_this_machine_which_has_none(probe):
    run = probe(tf_python(OLD_TF), "--gpu", "required")
    assert run.exit_code == 1
    gpu = run.check("gpu")
    assert gpu["status"] == "fail" and gpu["code"] == "PROBE_GPU_NO_DEVICE"
    reasons = [r["code"] for r in gpu["details"]["reasons"]]
    assert "PROBE_GPU_CPU_ONLY_BUILD" in reasons  # tensorflow-cpu: the second reason is named too
    assert "CPU-only build" in gpu["message"]
    assert json.loads(run.summary)["failed"][0]["code"] == "PROBE_GPU_NO_DEVICE"
