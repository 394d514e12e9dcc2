""".keras zips and Keras .h5 files, written here without TensorFlow."""

from __future__ import annotations

import hashlib

import pytest
from inspect_synthetic import write_h5, write_keras_zip

from tfguard.compat.inspect import InspectError, inspect_model


def test_keras_zip_gives_keras_version_and_format(tmp_path):
    path = write_keras_zip(tmp_path / "model.keras", keras_version="3.6.0")
    facts = inspect_model(path)

    assert facts.format == "keras_v3" and facts.keras_format == "keras_v3"
    assert facts.keras_version == "3.6.0"
    assert facts.ops == [] and facts.tensorflow_version is None
    assert facts.digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_keras_zip_names_the_modules_its_config_deserializes_from(tmp_path):
    keras2_functional = {
        "module": "keras.src.engine.functional",
        "class_name": "Functional",
        "config": {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {}}]},
    }
    facts = inspect_model(write_keras_zip(tmp_path / "m.keras", "2.15.0", config=keras2_functional))

    assert facts.keras_modules == ["keras.layers", "keras.src.engine.functional"]


def test_keras_zip_says_which_custom_classes_were_saved_registered(tmp_path):
    subclassed = {"module": "my_models", "class_name": "Tiny", "registered_name": "Tiny", "config": {"layers": [
        {"module": "my_layers", "class_name": "Scale", "registered_name": "MyLayers>Scale", "config": {}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "config": {}}]}}
    facts = inspect_model(write_keras_zip(tmp_path / "m.keras", "3.6.0", config=subclassed))

    assert facts.keras_custom_classes == {"my_layers:Scale": "MyLayers>Scale", "my_models:Tiny": "Tiny"}


def test_a_legacy_config_names_a_registered_class_by_its_registered_name():
    from tfguard.compat.inspect.keras_config import custom_classes

    legacy = {"class_name": "Functional", "config": {"layers": [{"class_name": "Matrix>Scale", "config": {}},
                                                                {"class_name": "Dense", "config": {}}]}}
    assert custom_classes(legacy) == {"Matrix>Scale": "Matrix>Scale"}


def test_keras_zip_is_recognised_by_content_not_name(tmp_path):
    path = write_keras_zip(tmp_path / "exported.bin", keras_version="2.15.0")

    assert inspect_model(path).keras_version == "2.15.0"


def test_keras_zip_without_metadata_has_unknown_version(tmp_path):
    facts = inspect_model(write_keras_zip(tmp_path / "model.keras", keras_version=None))

    assert facts.format == "keras_v3" and facts.keras_version is None


def test_zip_without_config_is_not_a_keras_model(tmp_path):
    import zipfile

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")

    with pytest.raises(InspectError, match=r"model.keras: not a Keras model archive: no config.json"):
        inspect_model(path)


def test_config_without_class_name_is_refused(tmp_path):
    path = write_keras_zip(tmp_path / "model.keras", config={"config": {}})

    with pytest.raises(InspectError, match=r"config.json\): names no model class"):
        inspect_model(path)


def test_config_that_is_not_json_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{not json")

    with pytest.raises(InspectError, match=r"config.json\): is not valid JSON"):
        inspect_model(path)


def test_h5_gives_keras_version_and_backend(tmp_path):
    facts = inspect_model(write_h5(tmp_path / "model.h5"))

    assert facts.format == "h5" and facts.keras_format == "h5"
    assert facts.keras_version == "2.15.0" and facts.keras_backend == "tensorflow"
    assert facts.weights_only is False


def test_h5_attributes_stored_as_bytes(tmp_path):
    import numpy as np

    path = write_h5(tmp_path / "model.h5", {"keras_version": np.bytes_(b"2.4.0"), "backend": np.bytes_(b"tensorflow"),
                                           "model_config": np.bytes_(b"{}")})

    assert inspect_model(path).keras_version == "2.4.0"


def test_h5_without_model_config_is_weights_only(tmp_path):
    facts = inspect_model(write_h5(tmp_path / "model.weights.h5", {"keras_version": "3.6.0"}))

    assert facts.weights_only is True and facts.keras_version == "3.6.0"


def test_h5_with_a_user_block(tmp_path):
    import h5py

    path = tmp_path / "model.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["model_config"] = "{}"

    assert inspect_model(path).keras_version == "2.11.0"
