"""`tfguard inspect`: summary, --json, --annotations, --profile, and errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from inspect_synthetic import saved_model_message, write_h5, write_keras_zip, write_saved_model

from tfguard import annotations
from tfguard.cli import main
from tfguard.compat.facts import ModelFacts
from tfguard.compat.resources import facts_from_model_profile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def model(tmp_path):
    return write_saved_model(
        tmp_path / "m",
        saved_model_message(
            nodes=[("x", "Placeholder", ["dtype"]), ("c", "StatefulPartitionedCall", ["f"])],
            functions={"__inference_f_1": [("m", "MatMul", ["T"])]},
        ),
    )


def run(capsys, *argv):
    status = main(["inspect", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_summary_is_readable(model, capsys):
    status, out, err = run(capsys, model)

    assert status == 0 and err == ""
    assert "TensorFlow 2.15.1 (v2.15.0-11-g63f5a65c7cd)" in out
    assert "producer 1645, min_consumer 12, bad_consumers none" in out
    assert "ops (3):" in out and "MatMul, Placeholder, StatefulPartitionedCall" in out
    assert "signatures: serving_default" in out


def test_json_is_model_facts(model, capsys):
    status, out, _ = run(capsys, model, "--json")

    facts = ModelFacts.from_dict(json.loads(out))
    assert status == 0
    assert facts.ops == ["MatMul", "Placeholder", "StatefulPartitionedCall"]
    assert facts.op_attrs["MatMul"] == ["T"]
    assert facts.digest.startswith("sha256:")


def test_annotations_are_yaml_to_paste(model, capsys):
    status, out, _ = run(capsys, model, "--annotations")

    assert status == 0
    assert yaml.safe_load(out) == {
        annotations.MODEL_PRODUCER_VERSION: "2.15.1",
        annotations.MODEL_LOADER: "saved_model",
    }


def test_annotations_name_the_profile(model, capsys):
    _, out, _ = run(capsys, model, "--annotations", "--profile", "Resnet_50")

    assert yaml.safe_load(out)[annotations.MODEL_PROFILE] == "resnet-50"


def test_annotations_for_a_keras_file_suggest_the_keras_loader(tmp_path, capsys):
    _, out, _ = run(capsys, write_keras_zip(tmp_path / "model.keras", keras_version="3.6.0"), "--annotations")

    assert yaml.safe_load(out) == {annotations.MODEL_LOADER: "keras"}
    assert "only the Keras version, 3.6.0" in out


def test_profile_is_a_model_profile_resource(model, capsys):
    status, out, _ = run(capsys, model, "--profile", "resnet", "--namespace", "serving")

    resource = yaml.safe_load(out)
    assert status == 0
    assert resource["kind"] == "ModelProfile"
    assert resource["metadata"] == {"name": "resnet", "namespace": "serving"}
    assert resource["spec"]["opCount"] == 3
    facts = facts_from_model_profile(resource)
    assert facts.ops == ["MatMul", "Placeholder", "StatefulPartitionedCall"]
    assert facts.tensorflow_version == "2.15.1"


def test_profile_quotes_attr_names_that_kubectl_would_read_as_booleans(tmp_path, capsys):
    # Pack's attr `N` is the boolean false to a YAML 1.1 reader such as kubectl.
    packing_model = write_saved_model(
        tmp_path / "pack", saved_model_message(nodes=[("p", "Pack", ["N", "T", "axis"])])
    )
    status, out, _ = run(capsys, packing_model, "--profile", "packer")

    assert status == 0
    assert "- 'N'" in out
    assert yaml.safe_load(out)["spec"]["opAttrs"] == {"Pack": ["N", "T", "axis"]}


def test_profile_names_the_newest_release_its_ops_need(tmp_path, capsys):
    # DatasetFingerprint was first registered by TF 2.16 (release knowledge from real wheels).
    fingerprinting_model = write_saved_model(
        tmp_path / "fp", saved_model_message(nodes=[("m", "MatMul", ["T"]), ("f", "DatasetFingerprint", [])])
    )
    _, out, _ = run(capsys, fingerprinting_model, "--profile", "fingerprint")
    assert yaml.safe_load(out)["spec"]["newestOpRelease"] == "2.16"


def test_keras_summaries(tmp_path, capsys):
    _, out, _ = run(capsys, write_h5(tmp_path / "model.h5"))
    assert "Keras HDF5" in out and "2.15.0, backend tensorflow" in out

    _, out, _ = run(capsys, write_h5(tmp_path / "w.weights.h5", {"keras_version": "3.6.0"}))
    assert "weights only" in out


def test_missing_model_is_exit_2_with_a_message(tmp_path, capsys):
    status, out, err = run(capsys, tmp_path / "nope")

    assert status == 2 and out == ""
    assert err == f"tfguard inspect: {tmp_path / 'nope'}: no such file or directory\n"


def test_namespace_without_profile_is_a_usage_error(model, capsys):
    status, _, err = run(capsys, model, "--namespace", "x")
    assert status == 2 and "--namespace needs --profile" in err


def test_console_script_end_to_end(model):
    done = subprocess.run(
        [sys.executable, "-m", "tfguard.cli", "inspect", str(model), "--json"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "saved_model"


def python(code: str, *args) -> str:
    """What a fresh interpreter running `code` with `args` prints (it must exit 0)."""
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_inspect_never_imports_tensorflow(model):
    python("import sys; from tfguard.cli import main; main(['inspect', sys.argv[1], '--json']);"
           "assert 'tensorflow' not in sys.modules and 'h5py' not in sys.modules, sorted(sys.modules)", model)


def test_the_tfguard_command_leaves_protobufs_well_known_types_and_typing_unimported(model):
    out = imported_by_the_command(["inspect", model, "--json"], "typing", "datetime", "google.protobuf.internal.well_known_types")
    assert json.loads(out[: out.rindex("}") + 1])["format"] == "saved_model"
    assert out.rstrip().endswith("[]")


def imported_by_the_command(argv, *modules, installed: bool = False) -> str:
    """What `tfguard ARGV` prints, then which of `modules` it imported (run() ends the process
    itself, with os._exit: the list is printed on the way out). `installed`: as from a pip install,
    without the dev checkout's editable finder (which imports pathlib and contextlib itself)."""
    code = ("import os, sys; sys.argv = ['tfguard', *sys.argv[1:]]; from tfguard.cli import run;"
            f"exit_now = os._exit; os._exit = lambda code: (print(sorted(m for m in {modules!r} if m in sys.modules)),"
            " sys.stdout.flush(), exit_now(code)); run()")
    if not installed:
        return python(code, *argv)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"]]))
    done = subprocess.run([sys.executable, "-S", "-c", code, *map(str, argv)], capture_output=True, text=True, env=env)
    assert done.returncode in (0, 1), done.stderr  # 1: a verdict other than compatible
    return done.stdout


def test_tfguard_check_on_a_saved_model_leaves_pathlib_urllib_locale_and_contextlib_unimported(model):
    out = imported_by_the_command(["check", "--model", model, "--image", "tensorflow/serving:2.15.0", "--output", "json"],
                                  "pathlib", "urllib.parse", "locale", "contextlib", installed=True)
    assert json.loads(out[: out.rindex("}") + 1])["model"] == str(model)
    assert out.rstrip().endswith("[]")


def test_tfguard_check_on_a_keras_file_leaves_zipfile_and_pathlib_unimported(tmp_path):
    model = write_keras_zip(tmp_path / "model.keras")
    out = imported_by_the_command(["check", "--model", model, "--image", "tensorflow/serving:2.15.0", "--output", "json"],
                                  "zipfile", "pathlib", "shutil", "threading", installed=True)
    assert json.loads(out[: out.rindex("}") + 1])["model"] == str(model)
    assert out.rstrip().endswith("[]")


@pytest.mark.parametrize("path", ["m", "m/", "./m", "a//b/./c/", "/", "//srv/m", "///m", ".", "", "a/../b", "../m/"])
def test_model_paths_are_spelled_as_pathlib_spells_them(path):
    from pathlib import PurePosixPath

    from tfguard.compat.inspect.files import plain_path

    assert plain_path(path) == str(PurePosixPath(path))


def test_a_process_that_did_not_declare_it_keeps_the_well_known_types_whole(model):
    out = python("import sys; from tfguard.compat.inspect import inspect_model; inspect_model(sys.argv[1]);"
                 "from google.protobuf import timestamp_pb2; t = timestamp_pb2.Timestamp(); t.FromSeconds(86400);"
                 "print(t.ToJsonString())", model)
    assert out.strip() == "1970-01-02T00:00:00Z"


def test_malformed_limit_in_the_environment_is_exit_2(model, capsys, monkeypatch):
    monkeypatch.setenv("TFGUARD_INSPECT_SAVED_MODEL_BYTES", "lots")
    status, _, err = run(capsys, model)

    assert status == 2 and "TFGUARD_INSPECT_SAVED_MODEL_BYTES='lots' is not an integer" in err


def test_the_tfguard_command_flushes_its_output_and_exit_status_before_it_ends(model, tmp_path):
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr:  # files, not a terminal: fully buffered
        ok = subprocess.run([sys.executable, "-c", "from tfguard.cli import run; run()", "inspect", str(model), "--json"],
                            stdout=stdout, stderr=stderr)
        usage = subprocess.run([sys.executable, "-c", "from tfguard.cli import run; run()", "check", "--no-such-flag"],
                               stdout=stdout, stderr=stderr)
    assert ok.returncode == 0 and usage.returncode == 2
    assert json.loads(out.read_text())["format"] == "saved_model"
    assert "unrecognized arguments: --no-such-flag" in err.read_text()
