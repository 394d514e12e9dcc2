"""probe.py as a file: standard library only, Python 3.8 syntax, every code it emits registered,
and `tfguard probe` running that same file."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from tfguard.cli import main as tfguard_main
from tfguard.compat.codes import CODES as REGISTERED
from tfguard.probes import probe

from .helpers import PROBE, python38

STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def test_imports_only_the_standard_library():
    tree = ast.parse(PROBE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    # Imported only inside the child that imports TensorFlow (numpy comes with it; tf_keras only for the
    # tf_keras loaders) or optionally (h5py), never at module level.
    assert imported - STDLIB <= {"tensorflow", "tf_keras", "numpy", "h5py"}
    top_level = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top_level |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert top_level <= STDLIB and "tfguard" not in imported


def test_every_code_it_can_emit_is_registered_with_cause_and_fix():
    source = PROBE.read_text()
    used = set(re.findall(r'"(PROBE_[A-Z_]+)"', source))
    assert used <= set(probe.CODES), f"codes used but not in CODES: {used - set(probe.CODES)}"
    missing = [c for c in probe.CODES if c not in REGISTERED]
    assert not missing, f"register these in tfguard/compat/codes.py: {missing}"
    for code in probe.CODES:
        assert REGISTERED[code].cause and REGISTERED[code].fix


def test_every_failure_code_has_a_fix_in_the_probe_too():
    assert set(probe.CODES) - set(probe.PASSING_CODES) == set(probe.FIXES)
    assert all(probe.FIXES.values())


@pytest.fixture(scope="module")
def py38():
    found = python38()
    if not found:
        pytest.skip("no CPython 3.8 on this machine (~/.pyenv/versions/3.8.*); "
                    "test_its_syntax_is_that_of_old_pythons_wherever_the_tests_run still checks the syntax")
    return found


@pytest.mark.parametrize("version", [(3, 6), (3, 8)])
def test_its_syntax_is_that_of_old_pythons_wherever_the_tests_run(version):
    """Runs without the old interpreters too (the tests below need them installed)."""
    ast.parse(PROBE.read_text(), filename=str(PROBE), feature_version=version)


def test_compiles_under_python_3_8(py38, tmp_path):
    subprocess.run([py38, "-m", "py_compile", str(PROBE)], check=True, env={"PYTHONPYCACHEPREFIX": str(tmp_path)})


def test_runs_under_python_3_8_without_tensorflow(py38, probe_runner):
    run = probe_runner(py38, "--gpu", "none")
    assert run.exit_code == 1
    assert run.failed_codes == ["PROBE_TF_NOT_INSTALLED"]
    assert run.report["stack"]["python_version"].startswith("3.8.")
    assert json.loads(run.summary)["failed"][0]["code"] == "PROBE_TF_NOT_INSTALLED"


def test_warn_mode_reports_the_failure_and_exits_zero(py38, probe_runner):
    run = probe_runner(py38, "--gpu", "none", "--mode", "warn")
    assert run.exit_code == 0 and run.report["status"] == "fail"


def test_a_missing_model_path_is_its_own_finding(py38, probe_runner, tmp_path):
    run = probe_runner(py38, "--gpu", "none", "--model", str(tmp_path / "nowhere"))
    assert run.check("model_load")["code"] == "PROBE_MODEL_NOT_FOUND"


def test_a_directory_without_a_model_is_not_a_model(py38, probe_runner, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    run = probe_runner(py38, "--gpu", "none", "--model", str(tmp_path))
    assert run.check("model_load")["code"] == "PROBE_NOT_A_MODEL"
    run = probe_runner(py38, "--gpu", "none", "--model", str(tmp_path / "notes.txt"))
    assert run.check("model_load")["code"] == "PROBE_NOT_A_MODEL"


def test_usage_errors_exit_2(py38):
    proc = subprocess.run([py38, str(PROBE), "--gpu", "sometimes"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--gpu" in proc.stderr


def test_the_default_termination_log_is_written_only_where_kubernetes_made_it(tmp_path):
    assert probe.write_termination_log("{}", str(tmp_path / "absent"), explicit=False) is False
    assert not (tmp_path / "absent").exists()
    target = tmp_path / "termination-log"
    target.write_text("")
    assert probe.write_termination_log('{"status":"pass"}', str(target), explicit=False)
    assert target.read_text() == '{"status":"pass"}'


def test_tfguard_probe_runs_the_same_file(py38, tmp_path, capsys):
    log = tmp_path / "log"
    code = tfguard_main(["probe", "--python", py38, "--gpu", "none", "--termination-log", str(log), "--json"])
    assert code == 1
    assert json.loads(log.read_text())["failed"][0]["code"] == "PROBE_TF_NOT_INSTALLED"


def test_tfguard_probe_with_a_python_that_does_not_exist(tmp_path, capsys):
    assert tfguard_main(["probe", "--python", str(tmp_path / "python3")]) == 2
    assert "cannot run" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["3.6", "3.7"])
def test_older_pythons_of_old_tf_images_run_it_too(version, probe_runner):
    from harness.tfenvs import python_interpreter

    try:
        python = python_interpreter(version)
    except FileNotFoundError:
        pytest.skip(f"no CPython {version} on this machine")
    run = probe_runner(python, "--gpu", "none")
    assert run.failed_codes == ["PROBE_TF_NOT_INSTALLED"]
    if version == "3.6":  # no importlib.metadata: said, not silently passed
        assert run.check("requirements")["status"] == "skip"


@pytest.mark.parametrize("expected, recorded, match", [
    ("2.15.1", "2.15.1", True), ("2.15", "2.15.1", True), ("2.15.0", "2.15.1", False), ("2.14", "2.15.1", False),
    ("2.20.0", "2.20.0-rc1", True), ("nonsense", "2.15.1", False),
])
def test_expected_producer_comparison(expected, recorded, match):
    assert probe.producer_matches(expected, recorded) is match
