"""Every rule of the verdict engine, with hand-built facts (see conftest.py for the two releases)."""

from __future__ import annotations

import pytest

from tfguard.compat import codes
from tfguard.compat.facts import ModelFacts, StackFacts, Verdict
from tfguard.compat.verdict import evaluate

pytestmark = pytest.mark.usefixtures("knowledge")

SERVING_OPS = ["AddV2", "Const", "MatMul", "Placeholder", "ReadVariableOp", "Relu", "StatefulPartitionedCall"]
SERVING_ATTRS = {"MatMul": ["T", "transpose_a"], "Placeholder": ["dtype", "shape"], "AddV2": ["T"],
                 "StatefulPartitionedCall": ["Tin", "Tout", "f", "_read_only_resource_inputs"]}


def image(tf="2.15.1", name="registry.example/serving:test", **facts) -> StackFacts:
    return StackFacts(image=name, source="probe", tensorflow_version=tf, **facts)


def saved_model(producer="2.15.1", ops=SERVING_OPS, attrs=SERVING_ATTRS, keras=None, **facts) -> ModelFacts:
    facts = {
        "graph_producer": {"2.15.1": 1766, "2.20.0": 2199}.get(producer, 1766), "graph_min_consumer": 12, **facts
    }
    return ModelFacts(
        path="/models/m", format="saved_model", tensorflow_version=producer, ops=sorted(ops), op_attrs=attrs,
        keras_version=keras, keras_format="saved_model_keras" if keras else None, **facts,
    )


def keras_file(fmt="keras_v3", keras="3.11.3", producer=None) -> ModelFacts:
    return ModelFacts(path=f"/models/m.{'keras' if fmt == 'keras_v3' else 'h5'}", format=fmt,
                      keras_version=keras, keras_format=fmt, tensorflow_version=producer)


def codes_of(v: Verdict) -> list[str]:
    return [f.code for f in v.findings]


def finding(v: Verdict, code: str):
    return next(f for f in v.findings if f.code == code)


# --- what the engine needs to know ---


def test_unknown_stack_is_unknown_and_says_how_to_provide_the_version():
    v = evaluate(saved_model(), StackFacts(image="registry.example/mystery:1", source="unknown"))
    assert v.verdict == "unknown"
    f = finding(v, "STACK_UNKNOWN")
    assert "registry.example/mystery:1" in f.message
    assert "tfguard.io/tensorflow-version" in f.fix and "probe" in f.fix.lower()


def test_moving_tag_is_named_as_the_reason_the_stack_is_unknown():
    v = evaluate(saved_model(), StackFacts(image="tensorflow/tensorflow:latest", source="unknown"))
    assert v.verdict == "unknown"
    assert "moves" in finding(v, "STACK_UNKNOWN").message


def test_no_model_facts_is_unknown_but_still_judges_the_image():
    v = evaluate(None, image(cuda_build=False), gpu="required")
    assert v.verdict == "incompatible"
    assert {"MODEL_FACTS_MISSING", "GPU_ON_CPU_ONLY_BUILD"} <= set(codes_of(v))
    assert evaluate(ModelFacts(source="annotation"), image()).verdict == "unknown"


def test_failed_import_in_the_image_is_incompatible_with_the_probe_code():
    v = evaluate(saved_model(), image(import_ok=False, import_error_code="NUMPY_ABI"))
    assert v.verdict == "incompatible"
    assert "NUMPY_ABI" in finding(v, "STACK_IMPORT_FAILED").message


def test_failed_import_is_incompatible_even_when_the_version_is_unknown():
    v = evaluate(saved_model(), StackFacts(image="x:1", source="probe", import_ok=False, import_error_code="NO_TF"))
    assert v.verdict == "incompatible"


# --- GraphDef versions (versions.cc) ---


def test_same_release_saved_model_is_compatible():
    v = evaluate(saved_model(), image())
    assert v.verdict == "compatible", v.findings
    assert v.findings == []


def test_graph_min_consumer_above_runtime_graph_version_is_incompatible():
    v = evaluate(saved_model(graph_min_consumer=1800), image())
    assert v.verdict == "incompatible"
    assert "1800" in finding(v, "GRAPH_MIN_CONSUMER").message and "1766" in finding(v, "GRAPH_MIN_CONSUMER").message


def test_runtime_listed_as_bad_consumer_is_incompatible():
    v = evaluate(saved_model(graph_bad_consumers=[1766]), image())
    assert codes_of(v) == ["GRAPH_BAD_CONSUMER"] and v.verdict == "incompatible"


def test_bad_consumers_naming_other_versions_do_not_matter():
    assert evaluate(saved_model(graph_bad_consumers=[1765, 1767]), image()).verdict == "compatible"


def test_graph_producer_below_runtime_min_producer_is_incompatible(knowledge):
    knowledge["2.15"].graph_def_min_producer = 100
    v = evaluate(saved_model(graph_producer=21), image())
    assert "GRAPH_PRODUCER_TOO_OLD" in codes_of(v) and v.verdict == "incompatible"


# --- ops and attrs ---


def test_op_missing_from_the_runtime_is_named_with_the_release_that_introduced_it():
    model = saved_model("2.20.0", ops=SERVING_OPS + ["DatasetFingerprint"])
    v = evaluate(model, image(), model_name="fingerprinter")
    assert v.verdict == "incompatible"
    f = finding(v, "OP_NOT_REGISTERED")
    assert "DatasetFingerprint (first in TensorFlow 2.20)" in f.message
    assert "fingerprinter" in f.message and "registry.example/serving:test" in f.message
    assert f.details["ops"] == ["DatasetFingerprint"]
    assert f.fix == codes.CODES["OP_NOT_REGISTERED"].fix


def test_op_in_no_known_release_is_reported_as_a_possible_custom_op():
    v = evaluate(saved_model(ops=SERVING_OPS + ["MyCustomOp"]), image())
    assert "MyCustomOp (in no release tfguard knows: a custom op?)" in finding(v, "OP_NOT_REGISTERED").message


def test_model_from_newer_release_with_only_old_ops_is_not_incompatible():
    v = evaluate(saved_model("2.20.0"), image("2.15.1"))
    assert v.verdict == "compatible"
    assert codes_of(v) == ["PRODUCER_NEWER_OPS_PRESENT"]
    assert finding(v, "PRODUCER_NEWER_OPS_PRESENT").severity == "info"


def test_newer_model_without_attr_facts_is_only_risky():
    v = evaluate(saved_model("2.20.0", attrs={}), image("2.15.1"))
    assert v.verdict == "risky"
    assert codes_of(v) == ["PRODUCER_NEWER_UNVERIFIED"]


def test_an_attr_the_runtime_opdef_lacks_is_ignored_from_2_5_on():
    attrs = {**SERVING_ATTRS, "MatMul": ["T", "grad_a"]}
    for loader in ("tf2", "serving"):
        v = evaluate(saved_model("2.20.0", attrs=attrs), image("2.15.1"), loader=loader)
        assert v.verdict == "compatible" and v.loader == loader
        assert "MatMul.grad_a (first in TensorFlow 2.20)" in finding(v, "OP_ATTR_IGNORED").message


def test_before_2_5_the_graph_import_refuses_an_unknown_attr_set_to_a_non_default_value():
    attrs = {**SERVING_ATTRS, "MatMul": ["T", "grad_a"]}
    trained = saved_model("2.20.0", attrs=attrs, main_graph_non_default_attrs={"MatMul": ["grad_a"]})
    served = evaluate(trained, image("2.4.4"), loader="serving")
    assert served.verdict == "incompatible"
    f = finding(served, "OP_ATTR_NOT_IN_OPDEF")
    assert "NodeDef mentions attr" in f.message and f.details["attrs"] == {"MatMul": ["grad_a"]}
    defaults_only = saved_model("2.20.0", attrs=attrs, main_graph_non_default_attrs={})
    assert "OP_ATTR_IGNORED" in codes_of(evaluate(defaults_only, image("2.4.4"), loader="serving"))
    unrecorded = evaluate(saved_model("2.20.0", attrs=attrs), image("2.4.4"), loader="serving")
    assert unrecorded.verdict == "risky" and "OP_ATTR_NOT_IN_OPDEF_UNCHECKED" in codes_of(unrecorded)


def test_before_2_5_a_function_refuses_an_unknown_attr_default_or_not_and_the_main_graph_is_not_imported():
    attrs = {**SERVING_ATTRS, "MatMul": ["T", "grad_a"]}
    in_function = saved_model("2.20.0", attrs=attrs, object_graph=True, function_new_attrs={"MatMul": ["grad_a"]})
    v = evaluate(in_function, image("2.4.4"), loader="tf2")
    assert v.verdict == "incompatible" and "instantiates the function" in finding(v, "OP_ATTR_NOT_IN_OPDEF").message
    main_graph_only = saved_model("2.20.0", attrs=attrs, object_graph=True, function_new_attrs={})
    assert "OP_ATTR_IGNORED" in codes_of(evaluate(main_graph_only, image("2.4.4"), loader="tf2"))


def test_same_attr_is_fine_where_the_opdef_declares_it():
    attrs = {**SERVING_ATTRS, "MatMul": ["T", "grad_a"]}
    assert evaluate(saved_model("2.20.0", attrs=attrs), image("2.20.0")).verdict == "compatible"


def test_underscore_attrs_are_never_checked_against_the_opdef():
    attrs = {"MatMul": ["T", "_class", "_output_shapes"]}
    assert evaluate(saved_model(attrs=attrs), image()).verdict == "compatible"


def test_op_without_cpu_kernel_is_risky_without_a_gpu():
    v = evaluate(saved_model(ops=SERVING_OPS + ["CudnnRNNV3"]), image(cuda_build=False))
    assert v.verdict == "risky"
    assert "CudnnRNNV3" in finding(v, "OP_NO_CPU_KERNEL").message


def test_op_without_cpu_kernel_is_fine_when_a_gpu_is_required_on_a_cuda_build():
    v = evaluate(saved_model(ops=SERVING_OPS + ["CudnnRNNV3"]), image(cuda_build=True), gpu="required")
    assert v.verdict == "compatible", v.findings


# --- version facts only (the producer-version annotation) ---


def annotated(producer: str) -> ModelFacts:
    return ModelFacts(tensorflow_version=producer, source="annotation")


def test_version_only_newer_producer_is_risky_never_incompatible():
    v = evaluate(annotated("2.20.0"), image("2.15.1"))
    assert v.verdict == "risky"
    f = finding(v, "PRODUCER_NEWER_UNVERIFIED")
    assert "only its producer version is known" in f.message
    assert "ModelProfile" in f.fix


def test_version_only_older_producer_is_compatible_and_says_what_was_not_checked():
    v = evaluate(annotated("2.12.0"), image("2.15.1"))
    assert v.verdict == "compatible"
    assert codes_of(v) == ["VERSION_FACTS_ONLY"]


def test_version_only_with_keras_loader_across_keras_majors_is_risky():
    v = evaluate(annotated("2.15.1"), image("2.20.0"), loader="keras")
    assert v.verdict == "risky"
    assert "KERAS_FORMAT_UNKNOWN" in codes_of(v)


# --- releases the knowledge did not measure ---


def test_unmeasured_runtime_falls_back_to_version_facts_and_says_so():
    v = evaluate(saved_model("2.15.1"), image("2.3.0"))
    assert v.verdict == "risky"
    assert {"RELEASE_NOT_MEASURED", "PRODUCER_NEWER_UNVERIFIED"} <= set(codes_of(v))


def test_older_model_on_unmeasured_runtime_is_compatible_with_a_note():
    model = saved_model("2.3.0", graph_producer=440)
    v = evaluate(model, image("2.3.4"))
    assert v.verdict == "compatible"
    assert codes_of(v) == ["RELEASE_NOT_MEASURED"]


def test_op_introduced_after_the_oldest_measured_release_is_missing_on_an_unmeasured_runtime():
    v = evaluate(saved_model("2.20.0", ops=SERVING_OPS + ["DatasetFingerprint"]), image("2.3.0"))
    assert v.verdict == "incompatible"
    assert "DatasetFingerprint" in finding(v, "OP_NOT_REGISTERED").message


def test_a_release_unknown_to_the_knowledge_is_never_more_than_risky():
    v = evaluate(saved_model("2.15.1"), image("2.99.0"))
    assert v.verdict == "risky"  # nothing of 2.99 was measured: no step could be checked
    assert codes_of(v) == ["RELEASE_UNKNOWN"]
    assert evaluate(saved_model("2.100.0"), image("2.99.0")).verdict == "risky"


# --- loaders and Keras formats ---


def test_saved_model_loader_on_a_keras_file_is_impossible():
    for fmt in ("keras_v3", "h5"):
        v = evaluate(keras_file(fmt, "2.15.0"), image(), loader="saved_model")
        assert v.verdict == "incompatible"
        assert "SAVED_MODEL_LOADER_ON_KERAS_FILE" in codes_of(v)


def test_keras_loader_on_a_saved_model_under_keras3_is_incompatible_and_points_to_tfsmlayer():
    for model in (saved_model(keras="2.15.0"), saved_model()):
        v = evaluate(model, image("2.20.0"), loader="keras")
        assert v.verdict == "incompatible"
        f = finding(v, "KERAS3_CANNOT_LOAD_SAVEDMODEL")
        assert "TFSMLayer" in f.fix and "Keras 3" in f.message


def test_keras3_loader_fact_comes_from_the_probe_when_tf_keras_is_legacy():
    v = evaluate(saved_model(keras="2.15.0"), image("2.20.0", tf_keras_major=2), loader="keras")
    assert v.verdict == "compatible", v.findings


def test_keras2_loader_on_a_plain_saved_model_returns_an_object_not_a_model():
    v = evaluate(saved_model(), image("2.15.1"), loader="keras")
    assert v.verdict == "risky"
    assert codes_of(v) == ["KERAS2_LOADS_SAVEDMODEL_AS_OBJECT"]


def test_keras2_saved_model_with_keras2_loader_is_compatible():
    assert evaluate(saved_model(keras="2.15.0"), image("2.15.1"), loader="keras").verdict == "compatible"


def test_auto_loader_warns_when_a_keras2_saved_model_meets_keras3():
    v = evaluate(saved_model(keras="2.15.0"), image("2.20.0"))
    assert v.verdict == "risky"
    assert "KERAS_LOADER_MAY_FAIL" in codes_of(v)
    assert evaluate(saved_model(keras="2.15.0"), image("2.20.0"), loader="saved_model").verdict == "compatible"


def test_keras3_file_under_keras2_is_incompatible():
    for fmt in ("keras_v3", "h5"):
        v = evaluate(keras_file(fmt, "3.11.3", producer="2.20.0"), image("2.15.1"))
        assert v.verdict == "incompatible"
        assert "KERAS3_FILE_ON_KERAS2" in codes_of(v)


def test_keras2_file_under_keras3_is_risky_not_incompatible():
    for fmt in ("keras_v3", "h5"):
        v = evaluate(keras_file(fmt, "2.15.0"), image("2.20.0"))
        assert v.verdict == "risky"
        assert codes_of(v) == ["KERAS2_FILE_ON_KERAS3"]


def test_keras_version_of_the_image_decides_keras_major_before_2_16():
    v = evaluate(keras_file("keras_v3", "3.0.0"), image("2.15.1", keras_version="3.0.0"))
    assert v.verdict == "compatible", v.findings


# --- TF Serving ---


def serving(tf="2.15.0", gpu=False) -> StackFacts:
    return StackFacts(image=f"tensorflow/serving:{tf}", source="catalog", tensorflow_version=tf,
                      cuda_build=gpu, loaders=["serving"])


def test_tf_serving_cannot_serve_keras_files():
    v = evaluate(keras_file("keras_v3", "2.15.0"), serving())
    assert v.verdict == "incompatible"
    assert codes_of(v) == ["KERAS_FILE_NOT_SERVABLE"]


def test_tf_serving_has_no_keras_loader():
    v = evaluate(saved_model(), serving(), loader="keras")
    assert codes_of(v) == ["KERAS_LOADER_NOT_IN_IMAGE"] and v.verdict == "incompatible"


def test_tf_serving_serves_keras2_saved_models_whatever_its_keras_would_do():
    assert evaluate(saved_model(keras="2.15.0"), serving("2.20.0")).verdict == "compatible"


# --- GPUs ---


def test_gpu_required_on_cpu_only_build_is_incompatible():
    v = evaluate(saved_model(), image(cuda_build=False), gpu="required")
    assert v.verdict == "incompatible"
    assert codes_of(v) == ["GPU_ON_CPU_ONLY_BUILD"]


def test_gpu_optional_on_cpu_only_build_is_risky():
    v = evaluate(saved_model(), image(cuda_build=False), gpu="optional")
    assert v.verdict == "risky"
    assert finding(v, "GPU_ON_CPU_ONLY_BUILD").severity == "warning"


def test_gpu_required_when_the_build_is_not_known_is_risky():
    v = evaluate(saved_model(), image(), gpu="required")
    assert codes_of(v) == ["GPU_BUILD_UNKNOWN"] and v.verdict == "risky"


def test_driver_older_than_the_cuda_of_the_build_is_incompatible():
    v = evaluate(saved_model(), image(cuda_build=True, driver_version="470.82.01"), gpu="required")
    assert v.verdict == "incompatible"
    f = finding(v, "CUDA_DRIVER_TOO_OLD")
    assert "525.60.13" in f.message and "470.82.01" in f.message and "12.2" in f.message
    ok = evaluate(saved_model(), image(cuda_build=True, driver_version="535.104.05"), gpu="required")
    assert ok.verdict == "compatible"


# --- the shape of a verdict ---


def test_findings_come_errors_first_and_in_a_stable_order():
    model = saved_model("2.20.0", ops=SERVING_OPS + ["CudnnRNNV3", "DatasetFingerprint"])
    first = evaluate(model, image(cuda_build=False), gpu="optional")
    again = evaluate(model, image(cuda_build=False), gpu="optional")
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in again.findings]
    severities = [f.severity for f in first.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert first.summary.startswith("incompatible: [OP_NOT_REGISTERED]")


def test_every_finding_has_a_registered_code_a_severity_and_a_fix():
    cases = [
        (saved_model("2.20.0", ops=SERVING_OPS + ["DatasetFingerprint", "CudnnRNNV3"], graph_min_consumer=9999),
         image(cuda_build=False, import_ok=False), "auto", "required"),
        (keras_file("h5", "3.1.0"), image("2.15.1"), "keras", "optional"),
        (annotated("2.20.0"), image("2.3.0"), "keras", "none"),
        (None, StackFacts(image="tensorflow/serving:latest"), "auto", "none"),
    ]
    for model, stack, loader, gpu in cases:
        for f in evaluate(model, stack, loader=loader, gpu=gpu).findings:
            assert f.code in codes.CODES, f.code
            assert f.severity in ("error", "warning", "info")
            assert f.fix and f.message


def test_verdict_round_trips_through_json():
    v = evaluate(saved_model("2.20.0", ops=SERVING_OPS + ["DatasetFingerprint"]), image())
    assert Verdict.from_dict(v.to_dict()).to_dict() == v.to_dict()


def test_bad_arguments_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="loader"):
        evaluate(saved_model(), image(), loader="torch")
    with pytest.raises(ValueError, match="gpu"):
        evaluate(saved_model(), image(), gpu="yes")


# --- modules named by a .keras config ---


def test_custom_modules_in_a_keras_file_must_be_importable_in_the_image():
    model = keras_file("keras_v3", "3.11.3")
    model.keras_modules = ["keras.layers", "my_project.layers"]
    v = evaluate(model, image("2.20.0"))
    assert v.verdict == "risky"
    assert "my_project.layers" in finding(v, "KERAS_CUSTOM_MODULES").message


def test_a_newer_patch_release_of_the_same_series_is_not_a_newer_producer():
    assert evaluate(saved_model("2.15.1"), image("2.15.0")).findings == []
    assert evaluate(annotated("2.15.1"), image("2.15")).verdict == "compatible"
