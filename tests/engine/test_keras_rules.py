"""Keras load_model against the Keras the loader really runs, with the measured Keras facts
(tfguard/compat/data/keras.json). Each case is one the cross-load matrix measured
(docs/verdicts.md)."""

from __future__ import annotations

from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.verdict import evaluate
from tfguard.records import replace


def image(tf: str, **facts) -> StackFacts:
    return StackFacts(image=f"example/tf:{tf}", source="probe", tensorflow_version=tf, **facts)


def keras_file(fmt: str, keras: str, classes: dict, modules=None, compile=None, path=None) -> ModelFacts:
    return ModelFacts(path=path or f"/models/m.{'keras' if fmt == 'keras_v3' else 'h5'}", format=fmt,
                      keras_version=keras, keras_format=fmt, keras_classes=classes, keras_modules=modules,
                      keras_compile=compile)


def codes(v) -> list[str]:
    return [f.code for f in v.findings]


DENSE_2 = {"Dense": ["activation", "name", "units", "use_bias"], "InputLayer": ["batch_input_shape", "dtype", "name"]}


def test_a_keras_2_15_file_names_a_module_keras_3_does_not_have():
    model = keras_file("keras_v3", "2.15.0", {"keras.src.engine.functional:Functional": ["layers"]},
                       modules=["keras.layers", "keras.src.engine.functional"])
    v = evaluate(model, image("2.20.0"), loader="keras")
    assert v.verdict == "incompatible"
    assert "keras.src.engine.functional" in next(f for f in v.findings if f.code == "KERAS_MODULE_NOT_IN_RUNTIME").message


def test_keras_3_refuses_the_dtype_a_tf_1_initializer_config_carries_and_keras_2_drops_it():
    model = keras_file("h5", "2.2.4-tf", {**DENSE_2, "GlorotUniform": ["dtype", "seed"]})
    assert "KERAS_CONFIG_REJECTED" in codes(evaluate(model, image("2.20.0"), loader="keras_nocompile"))
    assert evaluate(model, image("2.15.1"), loader="keras_nocompile").verdict == "compatible"


def test_keras_2_refuses_keras_3_input_layer_arguments():
    model = keras_file("h5", "2.15.0", {"InputLayer": ["batch_shape", "name", "optional"]})
    v = evaluate(model, image("2.12.1"), loader="keras_nocompile")
    assert "KERAS_CONFIG_REJECTED" in codes(v) and "batch_shape" in str(v.findings)


def test_a_functional_keras_savedmodel_revives_its_input_layers_without_their_config_but_a_sequential_one_does_not():
    inputs = {"InputLayer": ["batch_input_shape", "dtype", "name", "optional", "sparse"]}
    functional = keras_saved_model("2.21.0", "Functional", keras_version="2.21.0", keras_classes=inputs)
    sequential = keras_saved_model("2.21.0", "Sequential", keras_version="2.21.0", keras_classes=inputs)
    assert "KERAS_CONFIG_REJECTED" not in codes(evaluate(functional, image("2.11.1"), loader="keras_nocompile"))
    assert "KERAS_CONFIG_REJECTED" in codes(evaluate(sequential, image("2.11.1"), loader="keras_nocompile"))


def test_tf_keras_of_1_15_does_not_know_the_functional_class_2_4_writes():
    model = keras_file("h5", "2.15.0", {"Functional": ["layers", "name"], **DENSE_2})
    assert "KERAS_CLASS_NOT_IN_RUNTIME" in codes(evaluate(model, image("1.15.5"), loader="keras_nocompile"))
    assert evaluate(model, image("2.12.1"), loader="keras_nocompile").verdict == "compatible"


def test_an_optimizer_saved_as_custom_adam_compiles_only_on_keras_2_11_to_2_15():
    compiled = {"optimizer": "Custom>Adam", "optimizer_config_keys": [], "loss": ["mse"], "metrics": []}
    model = keras_file("h5", "2.15.0", DENSE_2, compile=compiled)
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" in codes(evaluate(model, image("2.5.3"), loader="keras"))
    assert evaluate(model, image("2.12.1"), loader="keras").verdict == "compatible"
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" not in codes(evaluate(model, image("2.5.3"), loader="keras_nocompile"))


def test_keras_3_does_not_compile_a_keras_2_training_config_but_loads_without_compiling():
    compiled = {"optimizer": "Adam", "optimizer_config_keys": [], "loss": ["mse"], "metrics": ["mae"]}
    model = keras_file("h5", "2.15.0", DENSE_2, compile=compiled)
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" in codes(evaluate(model, image("2.20.0"), loader="keras"))
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" not in codes(evaluate(model, image("2.20.0"), loader="keras_nocompile"))


def test_a_keras_2_15_dot_keras_file_is_not_read_by_keras_2_13():
    model = keras_file("keras_v3", "2.15.0", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert "KERAS_NEWER_THAN_RUNTIME" in codes(evaluate(model, image("2.13.1"), loader="keras_nocompile"))


def test_keras_3_reads_a_dot_keras_path_only_as_a_zip():
    model = keras_file("h5", "2.2.4-tf", DENSE_2, path="/models/m.keras")
    assert "KERAS_FORMAT_NOT_READ" in codes(evaluate(model, image("2.20.0"), loader="keras_nocompile"))
    assert "KERAS_FORMAT_NOT_READ" not in codes(evaluate(model, image("2.12.1"), loader="keras_nocompile"))


def test_keras_2_before_the_dot_keras_format_cannot_read_it():
    model = keras_file("keras_v3", "2.15.0", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert "KERAS_FORMAT_NOT_READ" in codes(evaluate(model, image("2.10.1"), loader="keras"))


def test_a_keras_2_13_dot_keras_file_is_not_read_by_a_later_keras_2():
    model = keras_file("keras_v3", "2.13.1", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert "KERAS_OLDER_THAN_RUNTIME" in codes(evaluate(model, image("2.15.1"), loader="keras_nocompile"))
    assert "KERAS_OLDER_THAN_RUNTIME" in codes(evaluate(model, image("2.18.1"), loader="tf_keras"))
    newest = keras_file("keras_v3", "2.15.0", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert "KERAS_OLDER_THAN_RUNTIME" not in codes(evaluate(newest, image("2.18.1"), loader="tf_keras"))


def test_tf_keras_reads_the_bare_keras_module_a_keras_2_sequential_names_as_tf_keras():
    sequential = keras_file("keras_v3", "2.15.0", {"keras.layers:Dense": ["units"], "keras:Sequential": ["layers"]},
                            modules=["keras", "keras.layers"])
    assert evaluate(sequential, image("2.18.1"), loader="tf_keras").verdict == "compatible"
    assert "KERAS_MODULE_NOT_IN_RUNTIME" not in codes(evaluate(sequential, image("2.18.1"), loader="tf_keras"))


def test_a_keras_2_13_file_under_a_nightlys_keras_3_fails_on_its_modules_not_on_a_keras_2_minor():
    model = keras_file("keras_v3", "2.13.1", {"keras.src.engine.functional:Functional": ["layers"]},
                       modules=["keras.layers", "keras.src.engine.functional"])
    nightly = image("2.23.0-dev20261026", keras_version="3.16.0.dev2026102704", tf_keras_major=3)
    v = evaluate(model, nightly, loader="keras_nocompile")
    assert "KERAS_OLDER_THAN_RUNTIME" not in codes(v)
    assert "KERAS_MODULE_NOT_IN_RUNTIME" in codes(v) and v.verdict == "incompatible"  # measured: it fails there


def test_a_newer_keras_2_dot_keras_file_fails_under_older_minors_from_2_12_on_but_tf_keras_files_load_under_2_15():
    for writer, reader in (("2.14.0", "2.12.1"), ("2.15.0", "2.12.1"), ("2.17.0", "2.12.1"), ("2.20.0", "2.14.1")):
        model = keras_file("keras_v3", writer, {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
        assert "KERAS_NEWER_THAN_RUNTIME" in codes(evaluate(model, image(reader), loader="keras_nocompile")), (writer, reader)
    tf_keras_file = keras_file("keras_v3", "2.17.0", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert evaluate(tf_keras_file, image("2.15.1"), loader="keras_nocompile").verdict == "compatible"
    keras_2_13_file = keras_file("keras_v3", "2.13.1", {"keras.layers:Dense": ["units"]}, modules=["keras.layers"])
    assert evaluate(keras_2_13_file, image("2.12.1"), loader="keras_nocompile").verdict == "compatible"


def subclassed_keras_file(keras: str, registered_name: str) -> ModelFacts:
    model = keras_file("keras_v3", keras, {"my_models:TinySubclassed": ["name"]}, modules=["my_models"])
    return replace(model, keras_custom_classes={"my_models:TinySubclassed": registered_name})


def test_a_custom_class_saved_unregistered_fails_plain_load_model_in_every_keras_its_own_included():
    model = subclassed_keras_file("2.15.0", "TinySubclassed")
    plain = evaluate(model, image("2.15.1"), loader="keras", imports=())
    assert plain.verdict == "incompatible" and "KERAS_CUSTOM_CLASS_NOT_REGISTERED" in codes(plain)
    assert "custom_objects" in plain.findings[0].message


def test_a_custom_class_saved_unregistered_is_risky_when_the_server_code_is_not_known():
    verdict = evaluate(subclassed_keras_file("3.11.3", "TinySubclassed"), image("2.20.0"), loader="keras")
    assert verdict.verdict == "risky" and "KERAS_CUSTOM_CLASS_NOT_REGISTERED" in codes(verdict)


def test_a_registered_custom_class_needs_its_module_imported_by_the_server():
    model = subclassed_keras_file("3.11.3", "MyModels>TinySubclassed")
    unknown = evaluate(model, image("2.20.0"), loader="keras")
    assert codes(unknown) == ["KERAS_CUSTOM_MODULES"] and unknown.verdict == "risky"
    not_imported = evaluate(model, image("2.20.0"), loader="keras", imports=("tensorflow_text",))
    assert codes(not_imported) == ["KERAS_CUSTOM_MODULE_NOT_IMPORTED"] and not_imported.verdict == "incompatible"
    imported = evaluate(model, image("2.20.0"), loader="keras", imports=("my_models",))
    assert imported.verdict == "compatible", imported.findings


def keras_saved_model(producer: str, model_class: str = "Functional", **facts) -> ModelFacts:
    facts = {"keras_version": "2.5.0", "keras_classes": {}, **facts}
    facts["keras_classes"] = {model_class: ["layers", "name"], **facts["keras_classes"]}
    return ModelFacts(path="/models/m", format="saved_model", tensorflow_version=producer,
                      keras_format="saved_model_keras", object_graph=True, ops=["Const"], op_attrs={"Const": ["dtype", "value"]},
                      keras_model_class=model_class, **facts)


def test_keras_before_2_6_reads_keras_savedmodels_of_2_5_but_not_of_2_6():
    assert "KERAS_METADATA_NOT_READ" in codes(evaluate(keras_saved_model("2.6.5"), image("2.5.3"), loader="keras"))
    old_keras = evaluate(keras_saved_model("2.5.3"), image("2.4.4"), loader="keras")
    assert old_keras.verdict != "incompatible", old_keras.findings


def test_keras_of_2_5_revives_a_subclassed_model_of_2_6_without_the_object_graph_metadata():
    subclassed = evaluate(keras_saved_model("2.6.5", "TinySubclassed"), image("2.5.3"), loader="keras_nocompile")
    assert "KERAS_METADATA_NOT_READ" not in codes(subclassed)
    assert "KERAS_METADATA_NOT_READ" in codes(evaluate(keras_saved_model("2.6.5", "TinySubclassed"), image("2.4.4"),
                                                       loader="keras_nocompile"))
    assert "KERAS_METADATA_NOT_READ" in codes(evaluate(keras_saved_model("2.6.5", "Sequential"), image("2.5.3"),
                                                       loader="keras_nocompile"))


def exported_keras_model(producer: str = "2.12.1") -> ModelFacts:
    """What Keras's model.export() writes: a plain SavedModel whose object graph still holds Keras layers."""
    return ModelFacts(path="/models/m", format="saved_model", tensorflow_version=producer, object_graph=True,
                      ops=["Const"], op_attrs={"Const": ["dtype", "value"]},
                      keras_objects_without_metadata=["_tf_keras_input_layer", "_tf_keras_layer"])


def test_keras_of_2_4_to_2_15_cannot_load_an_exported_model_whose_layers_have_no_metadata():
    for runtime in ("2.4.4", "2.9.3", "2.12.1", "2.15.1"):
        verdict = evaluate(exported_keras_model(), image(runtime), loader="keras_nocompile")
        assert verdict.verdict == "incompatible" and "KERAS_LAYERS_WITHOUT_METADATA" in codes(verdict)
    assert "KERAS_LAYERS_WITHOUT_METADATA" not in codes(evaluate(exported_keras_model(), image("2.7.4"), loader="tf2"))
    plain_module = replace(exported_keras_model(), keras_objects_without_metadata=[])
    assert "KERAS_LAYERS_WITHOUT_METADATA" not in codes(evaluate(plain_module, image("2.7.4"), loader="keras"))


def test_keras_of_2_1_revives_a_newer_functional_keras_savedmodel_as_a_plain_object():
    verdict = evaluate(keras_saved_model("2.5.3"), image("2.1.4"), loader="keras_nocompile")
    assert "KERAS_SAVEDMODEL_NEWER_THAN_RUNTIME" in codes(verdict) and verdict.verdict == "incompatible"
    subclassed = evaluate(keras_saved_model("2.5.3", "TinySubclassed"), image("2.1.4"), loader="keras_nocompile")
    assert "KERAS_SAVEDMODEL_NEWER_THAN_RUNTIME" not in codes(subclassed)


def test_keras_of_2_2_compiles_a_revived_functional_model_whose_training_config_names_no_sample_weight_mode():
    compiled = {"optimizer": "Adam", "optimizer_config_keys": [], "loss": ["mse"], "metrics": [], "sample_weight_mode": False}
    model = keras_saved_model("2.4.4", "Functional", keras_compile=compiled)
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" in codes(evaluate(model, image("2.2.3"), loader="keras"))
    assert evaluate(model, image("2.2.3"), loader="keras_nocompile").verdict == "compatible"
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" not in codes(evaluate(model, image("2.0.4"), loader="keras"))


def test_tf_keras_before_2_3_compiles_only_training_configs_that_name_a_sample_weight_mode():
    compiled = {"optimizer": "Adam", "optimizer_config_keys": [], "loss": ["mse"], "metrics": [], "sample_weight_mode": False}
    model = keras_file("h5", "2.4.0", {"Sequential": ["layers", "name"], **DENSE_2}, compile=compiled)
    v = evaluate(model, image("2.2.3"), loader="keras")
    assert v.verdict == "incompatible" and "sample_weight_mode" in next(
        f for f in v.findings if f.code == "KERAS_COMPILE_CONFIG_UNKNOWN").message
    assert evaluate(model, image("2.2.3"), loader="keras_nocompile").verdict == "compatible"
    assert evaluate(model, image("2.5.3"), loader="keras").verdict == "compatible"
    named = keras_file("h5", "2.4.0", {"Sequential": ["layers", "name"], **DENSE_2},
                       compile={**compiled, "sample_weight_mode": True})
    assert evaluate(named, image("2.2.3"), loader="keras").verdict == "compatible"


def test_keras_before_2_2_cannot_rebuild_a_sequential_model_whose_build_shape_is_an_encoded_tensorshape():
    model = keras_saved_model("2.5.3", "Sequential", keras_sequential_shape_encoded=True)
    assert "KERAS_METADATA_NOT_READ" in codes(evaluate(model, image("1.15.5"), loader="keras_nocompile"))
    assert "KERAS_METADATA_NOT_READ" not in codes(evaluate(model, image("2.2.3"), loader="keras_nocompile"))


def test_keras_of_1_15_revives_a_compiled_subclassed_model_without_compiling_into_one_it_cannot_call():
    compiled = {"optimizer": "Adam", "optimizer_config_keys": [], "loss": ["mse"], "metrics": [], "sample_weight_mode": False}
    model = keras_saved_model("2.5.3", "TinySubclassed", keras_compile=compiled)
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" in codes(evaluate(model, image("1.15.5"), loader="keras_nocompile"))
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" not in codes(evaluate(model, image("2.0.4"), loader="keras_nocompile"))
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" in codes(evaluate(model, image("2.0.4"), loader="keras"))
    functional = keras_saved_model("2.2.3", "Model", keras_compile=compiled)
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" in codes(evaluate(functional, image("1.15.5"), loader="keras_nocompile"))
    later = keras_saved_model("2.4.4", "Functional", keras_compile=compiled)
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" not in codes(evaluate(later, image("1.15.5"), loader="keras_nocompile"))


def test_a_compiled_model_tf_saved_model_save_wrote_in_1_15_is_told_by_its_optimizers_slot_variables():
    def saved_by_1_15(fields):
        return ModelFacts(path="/models/m", format="saved_model", tensorflow_version="1.15.5", object_graph=True,
                          saved_object_fields=fields, ops=["Const"])
    compiled, raw = saved_by_1_15([1, 3, 4, 6, 7, 8]), saved_by_1_15([1, 4, 6, 7, 8])
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" in codes(evaluate(compiled, image("1.15.5"), loader="keras_nocompile"))
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" not in codes(evaluate(compiled, image("1.15.5"), loader="keras"))
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" not in codes(evaluate(compiled, image("2.0.4"), loader="keras_nocompile"))
    assert "KERAS_REVIVED_MODEL_NOT_CALLABLE" not in codes(evaluate(raw, image("1.15.5"), loader="keras_nocompile"))



def test_a_legacy_h5_names_no_module_so_only_a_server_that_imports_nothing_is_sure_to_fail():
    model = replace(keras_file("h5", "2.11.0", {"Matrix>Scale": ["factor"], **DENSE_2}),
                    keras_custom_classes={"Matrix>Scale": "Matrix>Scale"})
    bare = evaluate(model, image("2.11.1"), loader="keras", imports=())
    assert "KERAS_CUSTOM_MODULE_NOT_IMPORTED" in codes(bare) and bare.verdict == "incompatible"
    some_imports = evaluate(model, image("2.11.1"), loader="keras", imports=("my_layers",))
    assert codes(some_imports) == ["KERAS_CUSTOM_MODULES"] and some_imports.verdict == "risky"
