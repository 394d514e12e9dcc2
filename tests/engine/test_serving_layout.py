"""TF Serving's model layout from a container's args and env, and the version it serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfguard.workload.serving_layout import ServingLayout, model_directory, newest_version, read_layout
from tfguard.workload.resolve import resolve
from tfguard.workload.store import FactStore


@pytest.mark.parametrize(
    "container, serving_image, expected",
    [
        # the tensorflow/serving entrypoint: MODEL_NAME (model) under MODEL_BASE_PATH (/models)
        ({"image": "tensorflow/serving:2.15.1"}, True, ServingLayout("model", "/models/model", source="env")),
        ({"image": "tensorflow/serving:2.15.1", "env": [{"name": "MODEL_NAME", "value": "resnet"}]}, True,
         ServingLayout("resnet", "/models/resnet", source="env")),
        ({"env": [{"name": "MODEL_NAME", "value": "resnet"}, {"name": "MODEL_BASE_PATH", "value": "/srv/m/"}]}, True,
         ServingLayout("resnet", "/srv/m/resnet", source="env")),
        ({"args": ["--model_name=half", "--model_base_path=/mnt/models", "--port=9000"]}, True,
         ServingLayout("half", "/mnt/models")),
        ({"command": ["/usr/bin/tensorflow_model_server"], "args": ["--model_name", "half", "--model_base_path", "/m/half/"]},
         False, ServingLayout("half", "/m/half")),
        ({"command": ["sh", "-c", "tensorflow_model_server --model_name=x --model_base_path=gs://b/x --port=8500"]}, False,
         ServingLayout("x", "gs://b/x")),
        ({"args": ["--model_config_file=/config/models.config"]}, True,
         ServingLayout(None, None, config_file="/config/models.config")),
        ({"args": ["--model_name=$(NAME)", "--model_base_path=/models/$(NAME)"], "env": [{"name": "NAME", "value": "bert"}]},
         True, ServingLayout("bert", "/models/bert")),
        ({"image": "tensorflow/tensorflow:2.15.1", "command": ["python3", "serve.py"]}, False, None),
        ({"image": "acme/server:1"}, False, None),
    ],
)
def test_the_layout_comes_from_flags_then_the_entrypoints_env(container, serving_image, expected):
    assert read_layout(container, serving_image=serving_image) == expected


def test_kserve_placeholders_are_substituted():
    container = {"args": ["--model_name={{.Name}}", "--model_base_path=/mnt/models"]}
    assert read_layout(container, True, substitutions={"Name": "flowers"}) == ServingLayout("flowers", "/mnt/models")


def _version(base: Path, number: str, pbtxt: bool = False) -> Path:
    (base / number).mkdir(parents=True)
    (base / number / ("saved_model.pbtxt" if pbtxt else "saved_model.pb")).write_bytes(b"")
    return base / number


def test_the_newest_numeric_version_with_a_saved_model_is_served(tmp_path):
    _version(tmp_path, "1")
    _version(tmp_path, "10", pbtxt=True)
    _version(tmp_path, "9")
    (tmp_path / "11").mkdir()  # no saved_model: not a servable version
    (tmp_path / "latest").mkdir()  # not numeric: ignored
    assert newest_version(str(tmp_path)) == str(tmp_path / "10")
    assert model_directory(str(tmp_path)) == str(tmp_path / "10")
    assert model_directory(str(tmp_path / "9")) == str(tmp_path / "9")
    assert newest_version(str(tmp_path / "missing")) is None


def test_resolve_takes_the_base_path_as_the_model_path_when_none_is_annotated():
    spec = {"containers": [{"name": "serve", "image": "tensorflow/serving:2.15.1",
                            "env": [{"name": "MODEL_NAME", "value": "resnet"}]}]}
    resolved = resolve(spec, "ns", {"tfguard.io/model-producer-version": "2.15.1"}, FactStore())
    assert resolved.model.path == "/models/resnet"
    assert resolved.model_name == "/models/resnet"
    annotated = resolve(spec, "ns", {"tfguard.io/model-path": "/models/resnet/3"}, FactStore())
    assert annotated.model.path == "/models/resnet/3"
