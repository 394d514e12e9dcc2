"""Ops of custom-op libraries (tensorflow-text, TF-DF, TF-Addons): known when the server loads the
library, else OP_LIBRARY_NOT_LOADED naming the library and the fix. The libraries' op lists are the
measured data (tfguard/compat/data/oplibs.json); the TF releases are conftest.py's."""

from __future__ import annotations

import pytest

from tfguard.compat import catalog, oplibs
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.verdict import evaluate

pytestmark = pytest.mark.usefixtures("knowledge")

TF_OPS = ["Const", "Placeholder", "StatefulPartitionedCall"]
TEXT_OP = "TFText>WhitespaceTokenizeWithOffsetsV2"


def library_op(library: str, shared_object: str) -> str:
    """An op that a measured release of `library` registers from `shared_object`."""
    ops = set().union(*(oplibs.release_ops(r, (shared_object,)) for r in oplibs.libraries()[library]["releases"]))
    return sorted(ops)[0]


def model(*extra_ops: str) -> ModelFacts:
    return ModelFacts(path="/models/m", format="saved_model", tensorflow_version="2.15.1",
                      graph_producer=1766, graph_min_consumer=12, ops=sorted(TF_OPS + list(extra_ops)))


def python_image(**facts) -> StackFacts:
    return StackFacts(image="registry.example/text:1", source="probe", tensorflow_version="2.15.1", **facts)


def finding(verdict, code):
    return next(f for f in verdict.findings if f.code == code)


def test_measured_data_has_every_library_with_ops_per_release():
    libraries = oplibs.libraries()
    assert {"tensorflow-text", "tensorflow-decision-forests", "tensorflow-addons"} <= set(libraries)
    for name, entry in libraries.items():
        measured = [r for r in entry["releases"] if oplibs.release_ops(r)]
        assert measured, f"{name}: no release with measured ops"
        assert all(r["built_for"] for r in measured), name
    assert "tensorflow-text" in oplibs.providers(TEXT_OP)


def test_a_text_op_in_an_image_without_the_library_names_the_library_built_for_its_tensorflow():
    verdict = evaluate(model(TEXT_OP), python_image(), loader="tf2")
    assert verdict.verdict == "incompatible"
    f = finding(verdict, "OP_LIBRARY_NOT_LOADED")
    assert TEXT_OP in f.message and "tensorflow-text 2.15" in f.message
    assert "import tensorflow_text" in f.fix and "tensorflow-text 2.15" in f.fix
    assert f.details["libraries"]["tensorflow-text"]["state"] == "not loaded"
    assert "OP_NOT_REGISTERED" not in [x.code for x in verdict.findings]


def test_installed_and_known_not_imported_is_incompatible_and_says_so():
    # Measured: the +text stacks fail exactly like the plain ones unless tensorflow_text is imported.
    stack = python_image(op_libraries={"tensorflow-text": "2.15.0"})
    verdict = evaluate(model(TEXT_OP), stack, loader="serving", imports=[])
    f = finding(verdict, "OP_LIBRARY_NOT_LOADED")
    assert verdict.verdict == "incompatible" and "is installed but the server does not import it" in f.message
    assert f.details["libraries"]["tensorflow-text"]["state"] == "not imported"


def test_installed_with_imports_unknown_is_a_warning_not_a_block():
    # A Python server's own code may import the library first: the admission path cannot see it.
    stack = python_image(op_libraries={"tensorflow-text": "2.15.0"})
    verdict = evaluate(model(TEXT_OP), stack, loader="serving")
    f = finding(verdict, "OP_LIBRARY_NOT_LOADED")
    assert verdict.verdict == "risky" and f.severity == "warning"
    assert "cannot tell whether the server imports it" in f.message


def test_imported_library_makes_its_ops_known():
    stack = python_image(op_libraries={"tensorflow-text": "2.15.0"})
    verdict = evaluate(model(TEXT_OP), stack, loader="tf2", imports=["tensorflow_text"])
    assert verdict.verdict == "compatible", verdict.findings


def test_ops_no_library_provides_stay_op_not_registered():
    verdict = evaluate(model(TEXT_OP, "MyCustomOp"), python_image(), loader="tf2", imports=["tensorflow_text"])
    assert [f.code for f in verdict.findings if f.severity == "error"] == ["OP_NOT_REGISTERED"]
    assert "MyCustomOp" in finding(verdict, "OP_NOT_REGISTERED").message


def test_importing_tf_addons_registers_no_kernels_until_register_all():
    op = library_op("tensorflow-addons", "custom_ops/image/_image_ops.so")
    verdict = evaluate(model(op), python_image(), loader="tf2", imports=["tensorflow_addons"])
    f = finding(verdict, "OP_LIBRARY_NOT_LOADED")
    assert f.details["libraries"]["tensorflow-addons"]["state"] == "registered on first use"
    assert "register_all(custom_kernels=True)" in f.message


def test_tf_serving_links_tensorflow_text_ops():
    stack = catalog.lookup("tensorflow/serving:2.15.0")
    assert "tensorflow-text" in stack.op_libraries
    assert evaluate(model(TEXT_OP), stack).verdict == "compatible"


def test_tf_serving_links_only_the_inference_ops_of_decision_forests():
    stack = catalog.lookup("tensorflow/serving:2.15.0")
    inference = library_op("tensorflow-decision-forests", "tensorflow/ops/inference/inference.so")
    assert evaluate(model(inference), stack).verdict == "compatible"
    training = library_op("tensorflow-decision-forests", "tensorflow/ops/training/training.so")
    f = finding(evaluate(model(training), stack), "OP_LIBRARY_NOT_LOADED")
    assert f.details["libraries"]["tensorflow-decision-forests"]["state"] == "partly linked"
    assert "Python TensorFlow image" in f.fix


def test_a_model_server_without_the_library_does_not_have_its_ops():
    stack = StackFacts(image="registry.example/model-server:1", source="catalog", tensorflow_version="2.15.1",
                       loaders=["serving"], op_libraries={"tensorflow-text": "2.15.0"})
    inference = library_op("tensorflow-decision-forests", "tensorflow/ops/inference/inference.so")
    f = finding(evaluate(model(inference), stack), "OP_LIBRARY_NOT_LOADED")
    assert f.details["libraries"]["tensorflow-decision-forests"]["state"] == "not linked"
    assert "does not link" in f.message
    assert evaluate(model(TEXT_OP), stack).verdict == "compatible"


def test_which_tf_serving_releases_link_which_libraries():
    assert oplibs.serving_op_libraries("1.15.0") == {}
    assert set(oplibs.serving_op_libraries("2.10.0")) == {"tensorflow-text"}
    assert oplibs.serving_op_libraries("2.11.0")["tensorflow-decision-forests"] == "1.3.0"
    assert oplibs.serving_op_libraries("2.12.0") == {"tensorflow-text": "2.12.0", "tensorflow-decision-forests": "1.3.0"}


def test_tf_serving_after_its_notes_stop_naming_the_text_release_has_the_ops_of_its_own_era():
    named = oplibs.serving_op_libraries("2.15.0")["tensorflow-text"]
    assert named == "2.12.0"  # the last release whose notes name one
    era = oplibs.release_built_for("tensorflow-text", "2.15.0")
    newer = oplibs.release_ops(oplibs.measured("tensorflow-text", era)) - oplibs.release_ops(
        oplibs.measured("tensorflow-text", named))
    assert newer, "the measured text releases of 2.12 and 2.15 register the same ops"
    assert oplibs.linked_ops("tensorflow-text", named, "2.15.0") >= oplibs.release_ops(oplibs.measured("tensorflow-text", era))
    assert evaluate(model(sorted(newer)[0]), catalog.lookup("tensorflow/serving:2.15.0")).verdict == "compatible"
