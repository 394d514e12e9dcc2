"""TF Serving's warmup requests: the probe finds a served version under a base path, reads
assets.extra/tf_serving_warmup_requests (written here by real TensorFlow and the real
tensorflow-serving-api protos) and replays the records against the model it loaded."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.models import model_path
from harness.tfenvs import OLD_TF, tf_python, tf_recipe, venv
from tfguard.probes import probe as probe_module

from .helpers import run_probe

pytestmark = pytest.mark.tf

# Runs in a venv with TF and tensorflow-serving-api: writes a warmup file of the records asked for.
WRITER = r'''
import json, sys
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2, input_pb2, model_pb2, predict_pb2, prediction_log_pb2

def write(path, wanted):
  with tf.io.TFRecordWriter(path) as writer:
    for kind in wanted:
        if kind.startswith("predict"):
            inputs = {"x": tf.make_tensor_proto([[1.0, 2.0, 3.0, 4.0]], dtype=tf.float32)}
            if kind == "predict_wrong_dtype":
                inputs = {"x": tf.make_tensor_proto([[1, 2, 3, 4]], dtype=tf.int32)}
            elif kind == "predict_wrong_name":
                inputs = {"z": tf.make_tensor_proto([[1.0, 2.0, 3.0, 4.0]], dtype=tf.float32)}
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name="m", signature_name="serving_default"),
                                                 inputs=inputs)
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        elif kind == "classify":
            example = tf.train.Example(features=tf.train.Features(feature={
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0, 3.0, 4.0]))}))
            request = classification_pb2.ClassificationRequest(
                model_spec=model_pb2.ModelSpec(name="m", signature_name="classify"),
                input=input_pb2.Input(example_list=input_pb2.ExampleList(examples=[example])))
            log = prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=request))
        elif kind == "session_run":
            log = prediction_log_pb2.PredictionLog(session_run_log=prediction_log_pb2.SessionRunLog())
        writer.write(log.SerializeToString())

for path, wanted in json.loads(sys.argv[1]).items():
    write(path, wanted)
print("ok")
'''


@pytest.fixture(scope="module")
def serving_api_python() -> Path:
    """TF 2.15.1 with tensorflow-serving-api 2.15.1 over it (--no-deps: it would pull in the full `tensorflow`)."""
    recipe = tf_recipe(OLD_TF)
    return venv(f"{recipe['name']}-serving-api", recipe["requirements"], python=recipe["python"],
                overrides=[f"tensorflow-serving-api=={OLD_TF}"])


FILES = {  # warmup file -> the records in it
    "good": ["predict", "predict"], "wrong_dtype": ["predict", "predict_wrong_dtype"],
    "wrong_name": ["predict_wrong_name"], "classify": ["classify"], "session_run": ["predict", "session_run"],
    "mixed": ["predict", "classify", "session_run"],
}


@pytest.fixture(scope="module")
def warmup_files(serving_api_python, tmp_path_factory) -> dict[str, Path]:
    """Every warmup file the tests use, written in one run of real TF (importing it is the slow part)."""
    where = tmp_path_factory.mktemp("warmup")
    paths = {name: where / name for name in FILES}
    done = subprocess.run([str(serving_api_python), "-c", WRITER,
                           json.dumps({str(paths[name]): FILES[name] for name in FILES})],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    return paths


def served_model(tmp_path: Path, warmup_files: dict[str, Path], records: "str | None") -> Path:
    """A TF Serving base path: versions 1 and 3 of the real model (3 carries the warmup file)."""
    base = tmp_path / "models" / "dense"
    for version in ("1", "3"):
        shutil.copytree(model_path("plain_saved_model", OLD_TF), base / version)
    (base / "2").mkdir()  # no SavedModel: not a servable version
    if records:
        (base / "3" / "assets.extra").mkdir()
        shutil.copy(warmup_files[records], base / "3" / "assets.extra" / "tf_serving_warmup_requests")
    return base


def probe(tmp_path, model: Path, loader: str = "tf2"):
    return run_probe(tf_python(OLD_TF), "--model", str(model), "--loader", loader, "--gpu", "none",
                     "--mode", "enforce", tmp_path=tmp_path, timeout=1800)


@pytest.mark.parametrize("loader", ["tf2", "serving"])
def test_a_base_path_serves_its_newest_version_and_its_warmup_records_run(tmp_path, warmup_files, loader):
    base = served_model(tmp_path, warmup_files, "good")
    run = probe(tmp_path, base, loader)
    assert run.check("model_load")["code"] == "PROBE_MODEL_LOADED", run.report
    warmup = run.check("warmup")
    assert (warmup["status"], warmup["code"]) == ("pass", "PROBE_WARMUP_OK"), warmup
    assert "replayed 2 of 2" in warmup["message"]
    assert run.report["model"]["path"] == str(base)
    assert run.exit_code == 0


@pytest.mark.parametrize("records, code, words", [
    ("wrong_dtype", "PROBE_WARMUP_FAILED", "warmup record 1"),
    ("classify", "PROBE_WARMUP_FAILED", "classify"),  # the model has no 'classify' signature
    ("session_run", "PROBE_WARMUP_UNSUPPORTED", "session_run"),
])
def test_a_model_that_loads_but_fails_its_warmup_fails_the_probe(tmp_path, warmup_files, records, code, words):
    run = probe(tmp_path, served_model(tmp_path, warmup_files, records) / "3")
    assert run.check("model_load")["code"] == "PROBE_MODEL_LOADED"
    warmup = run.check("warmup")
    assert (warmup["status"], warmup["code"]) == ("fail", code), warmup
    assert words in warmup["message"]
    assert run.exit_code == 1  # enforce: the init container fails, as TF Serving's load would
    assert code in run.summary


def test_a_corrupted_warmup_file_is_what_tf_serving_refuses(tmp_path, warmup_files):
    version = served_model(tmp_path, warmup_files, "good") / "3"
    warmup = version / "assets.extra" / "tf_serving_warmup_requests"
    data = bytearray(warmup.read_bytes())
    data[-6] ^= 0xFF  # inside the second record's data: its checksum no longer matches
    warmup.write_bytes(bytes(data))
    run = probe(tmp_path, version)
    check = run.check("warmup")
    assert (check["status"], check["code"]) == ("fail", "PROBE_WARMUP_UNREADABLE"), check
    assert "checksum" in check["message"]


def test_the_stdlib_reader_agrees_with_tensorflows_writer_record_by_record(tmp_path, warmup_files):
    version = served_model(tmp_path, warmup_files, "mixed") / "3"
    warmup = probe_module.read_warmup(str(version))
    assert warmup["count"] == 3
    kinds = [r["type"] for r in warmup["records"]]
    assert kinds == ["predict", "classify", "session_run"]
    assert warmup["records"][0]["signature"] == "serving_default" and set(warmup["records"][0]["inputs"]) == {"x"}
    assert warmup["records"][1]["signature"] == "classify" and len(warmup["records"][1]["examples"]) == 1


def test_the_stdlib_reader_refuses_what_tf_serving_refuses(tmp_path, warmup_files):
    version = served_model(tmp_path, warmup_files, "good") / "3"
    assert probe_module.read_warmup(str(tmp_path)) is None  # no warmup file: nothing to replay
    warmup = version / "assets.extra" / "tf_serving_warmup_requests"
    warmup.write_bytes(warmup.read_bytes()[:-3])
    assert "truncated" in probe_module.read_warmup(str(version))["error"]
