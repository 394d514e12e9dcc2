"""`tfguard check`: exit status, JSON and human output, input errors."""

from __future__ import annotations

import json
import zipfile

import pytest

from tfguard.cli import main
from tfguard.compat.inspect import schema

pytestmark = pytest.mark.usefixtures("knowledge")


def write_saved_model(directory, ops=("Placeholder", "MatMul", "Relu"), tensorflow_version="2.15.1", producer=1766):
    saved_model = schema.BINARY.SavedModel(saved_model_schema_version=1)
    meta_graph = saved_model.meta_graphs.add()
    meta_graph.meta_info_def.tensorflow_version = tensorflow_version
    meta_graph.meta_info_def.tags.append("serve")
    meta_graph.graph_def.versions.producer = producer
    meta_graph.graph_def.versions.min_consumer = 12
    for i, op in enumerate(ops):
        meta_graph.graph_def.node.add(name=f"n{i}", op=op)
    directory.mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (directory / "variables").mkdir()
    return directory


def write_keras(path, keras_version):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras_version}))
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
    return path


def write_subclassed_keras(path, keras_version="2.15.0"):
    """A subclassed model's .keras file, its class saved without register_keras_serializable."""
    config = {"module": "my_models", "class_name": "Tiny", "registered_name": "Tiny", "config": {"name": "tiny"}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras_version}))
        archive.writestr("config.json", json.dumps(config))
    return path


def test_what_the_server_imports_makes_an_unregistered_keras_class_a_block(tmp_path, capsys):
    model = str(write_subclassed_keras(tmp_path / "m.keras"))
    assert main(["check", "--model", model, "--tensorflow", "2.15.1", "--keras", "2.15.0"]) == 0
    assert capsys.readouterr().out.startswith("RISKY")
    assert main(["check", "--model", model, "--tensorflow", "2.15.1", "--keras", "2.15.0", "--import", "my_models"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INCOMPATIBLE") and "KERAS_CUSTOM_CLASS_NOT_REGISTERED" in out


def test_compatible_model_exits_0_with_a_verdict_line(tmp_path, capsys):
    model = write_saved_model(tmp_path / "m")
    assert main(["check", "--model", str(model), "--image", "tensorflow/serving:2.15.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("COMPATIBLE: ") and "tensorflow/serving:2.15.1" in out


def test_missing_op_exits_1_and_names_op_release_and_fix(tmp_path, capsys):
    model = write_saved_model(tmp_path / "m", ops=("Placeholder", "DatasetFingerprint"), tensorflow_version="2.20.0",
                              producer=2199)
    assert main(["check", "--model", str(model), "--tensorflow", "2.15.1"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INCOMPATIBLE")
    assert "OP_NOT_REGISTERED" in out and "DatasetFingerprint (first in TensorFlow 2.20)" in out and "fix:" in out


def test_json_output_has_verdict_and_findings(tmp_path, capsys):
    model = write_keras(tmp_path / "m.keras", "3.11.3")
    code = main(["check", "--model", str(model), "--tensorflow", "2.15.1", "--keras", "2.15.0", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["verdict"] == "incompatible"
    assert [f["code"] for f in data["findings"]] == ["KERAS3_FILE_ON_KERAS2"]
    assert {"code", "severity", "message", "fix"} <= set(data["findings"][0])


def test_risky_and_unknown_exit_0(tmp_path, capsys):
    model = write_keras(tmp_path / "m.keras", "2.15.0")
    # a release newer than any tfguard measured: judged from version numbers, so only risky
    assert main(["check", "--model", str(model), "--tensorflow", "2.99.0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "risky"
    assert main(["check", "--model", str(model), "--image", "tensorflow/tensorflow:latest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "unknown"


def test_gpu_flag_requires_a_gpu(tmp_path, capsys):
    model = write_saved_model(tmp_path / "m")
    assert main(["check", "--model", str(model), "--image", "tensorflow/tensorflow:2.15.1", "--gpu"]) == 1
    assert "GPU_ON_CPU_ONLY_BUILD" in capsys.readouterr().out
    assert main(["check", "--model", str(model), "--image", "tensorflow/tensorflow:2.15.1-gpu", "--gpu"]) == 0


def test_loader_flag_is_honoured(tmp_path, capsys):
    model = write_saved_model(tmp_path / "m")
    assert main(["check", "--model", str(model), "--tensorflow", "2.20.0", "--loader", "keras"]) == 1
    assert "KERAS3_CANNOT_LOAD_SAVEDMODEL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, says",
    [
        (["check", "--model", "{missing}", "--tensorflow", "2.15.1"], "missing"),
        (["check", "--model", "{dir}", "--tensorflow", "2.15.1"], "not"),
        (["check", "--model", "{model}", "--tensorflow", "two"], "not a version"),
        (["check", "--model", "{model}", "--image", "tensorflow/serving:2.15.1", "--keras", "3.0"], "--keras"),
        (["check", "--model", "{model}", "--image", " "], "empty"),
    ],
)
def test_input_errors_exit_2_with_a_clear_message(tmp_path, capsys, argv, says):
    model = write_saved_model(tmp_path / "model")
    (tmp_path / "dir").mkdir()
    paths = {"missing": tmp_path / "missing", "dir": tmp_path / "dir", "model": model}
    argv = [a.format(**paths) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfguard check: ") and says in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["check"], ["check", "--model", "m"], ["check", "--model", "m", "--image", "a",
                                                                          "--tensorflow", "2.15"]])
def test_usage_errors_exit_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    assert "tfguard check" in capsys.readouterr().err
