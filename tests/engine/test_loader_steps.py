"""The steps each loader takes before the graph: reading the files, choosing the MetaGraph, placing
the nodes. Each rule is backed by matrix cells (docs/crossload.md); these tests state the facts that
make the difference."""

from __future__ import annotations

import pytest

from tfguard.compat.facts import ModelFacts
from tfguard.compat.verdict import evaluate

from test_verdict_rules import codes_of, finding, image, saved_model

pytestmark = pytest.mark.usefixtures("knowledge")


@pytest.mark.parametrize("loader", ["tf2", "serving", "keras", "keras_nocompile"])
def test_a_model_tensorflow_cannot_parse_is_incompatible_with_every_loader(loader):
    broken = ModelFacts(path="/models/m", format="saved_model",
                        unloadable="not a valid SavedModel protobuf: nested deeper than protobuf's recursion limit (100)")
    v = evaluate(broken, image(), loader=loader)
    assert v.verdict == "incompatible" and codes_of(v) == ["MODEL_UNLOADABLE"]
    assert "recursion limit" in finding(v, "MODEL_UNLOADABLE").message


@pytest.mark.parametrize("variables, words", [
    ("missing_index", "no variables/variables.index"),
    ("missing_directory", "no variables/ directory"),
    ("missing_shard", "lacks a data shard"),
    ("truncated_shard", "shorter than variables.index says"),
])
def test_a_broken_checkpoint_fails_every_savedmodel_loader(variables, words):
    for loader in ("tf2", "serving"):
        v = evaluate(saved_model(variables=variables), image(), loader=loader)
        assert v.verdict == "incompatible" and words in finding(v, "VARIABLES_BROKEN").message


def test_a_whole_checkpoint_or_none_needed_is_no_finding():
    for variables in ("whole", "none", None):
        assert evaluate(saved_model(variables=variables), image(), loader="tf2").verdict == "compatible"


def test_several_metagraphs_fail_tf2_and_keras_2_but_not_serving():
    two = saved_model(meta_graph_tags=[["serve"], ["train"]])
    assert "SAVED_MODEL_SEVERAL_METAGRAPHS" in codes_of(evaluate(two, image(), loader="tf2"))
    assert "SAVED_MODEL_SEVERAL_METAGRAPHS" in codes_of(evaluate(two, image(), loader="keras"))  # Keras 2 in 2.15
    assert evaluate(two, image(), loader="serving").verdict == "compatible"


def test_serving_needs_a_metagraph_tagged_exactly_serve():
    gpu_only = saved_model(meta_graph_tags=[["gpu", "serve"]])
    v = evaluate(gpu_only, image(), loader="serving")
    assert v.verdict == "incompatible" and "exactly 'serve'" in finding(v, "SAVED_MODEL_NO_SERVE_TAG_SET").message
    assert evaluate(gpu_only, image(), loader="tf2").verdict == "compatible"  # the only MetaGraph


def test_nodes_pinned_to_a_gpu_fail_serving_unless_the_pod_has_one():
    pinned = saved_model(pinned_devices=["GPU"])
    v = evaluate(pinned, image(), loader="serving")
    assert v.verdict == "incompatible" and "GPU" in finding(v, "NODES_PINNED_TO_MISSING_DEVICE").message
    assert "NODES_PINNED_TO_MISSING_DEVICE" not in codes_of(
        evaluate(pinned, image(cuda_build=True), loader="serving", gpu="required"))
    assert "NODES_PINNED_TO_MISSING_DEVICE" not in codes_of(evaluate(pinned, image(), loader="tf2"))


def test_nodes_pinned_only_inside_functions_load_under_serving_with_a_warning():
    in_functions = saved_model(pinned_devices=["GPU"], main_graph_pinned_devices=[])
    v = evaluate(in_functions, image(), loader="serving")
    assert v.verdict == "risky" and codes_of(v) == ["FUNCTION_NODES_PINNED_TO_MISSING_DEVICE"]


def test_tf2_runs_a_tf1_graph_pinned_to_a_missing_gpu_only_from_2_1_on():
    tf1_graph = saved_model(pinned_devices=["GPU"], main_graph_pinned_devices=["GPU"], object_graph=False)
    assert "NODES_PINNED_TO_MISSING_DEVICE" in codes_of(evaluate(tf1_graph, image("2.0.4"), loader="tf2"))
    assert "NODES_PINNED_TO_MISSING_DEVICE" not in codes_of(evaluate(tf1_graph, image(), loader="tf2"))
