"""A TensorFlow build outside the release knowledge (tf-nightly 2.23.0-dev of the matrix): it inherits
the failures its three measured predecessors agree on, and nothing its newer release number or its
own Keras may have changed. The models and the nightly's stack are the matrix's (real artifacts)."""

from __future__ import annotations

import pytest

from harness.agreement import model_facts, runtime_stack
from harness.matrix import data as matrix
from tfguard.compat.verdict import evaluate
from tfguard.records import replace

NIGHTLY = "nightly-2.23.0.dev20261026"


@pytest.fixture(scope="module")
def facts():
    return matrix.load_facts()


@pytest.fixture(scope="module")
def nightly():
    return next(runtime_stack(row) for row in matrix.load_stacks() if row["stack"] == NIGHTLY)


def _judge(facts, stack, artifact, loader):
    verdict = evaluate(model_facts(facts[artifact]), stack, loader=loader, model_name=artifact)
    return verdict, {f.code: f for f in verdict.findings}


def test_a_custom_op_library_the_nightly_lacks_fails_there_as_on_every_release_before_it(facts, nightly):
    verdict, found = _judge(facts, nightly, "text_module@2.15.1+text", "serving")
    assert verdict.verdict == "incompatible"
    assert found["OP_LIBRARY_NOT_LOADED"].details["measured_on"] == ["2.19", "2.20", "2.21"]
    assert "2.23.0-dev20261026" in found["OP_LIBRARY_NOT_LOADED"].message
    assert "RELEASE_UNKNOWN" in found


def test_an_optimizer_tf_saved_model_load_cannot_revive_is_inherited(facts, nightly):
    verdict, found = _judge(facts, nightly, "keras_functional_compiled_tf@2.9.3", "tf2")
    assert verdict.verdict == "incompatible"
    assert "OPTIMIZER_SLOTS_NOT_REVIVED" in found


def test_the_nightlys_own_keras_is_measured_and_judged_with_its_facts(facts, nightly):
    # Keras 3.15 cannot compile a Keras 2 training config; the nightly's Keras 3.16.0-dev, measured, does.
    assert nightly.keras_version.startswith("3.16.0.dev")
    verdict, found = _judge(facts, nightly, "keras_functional_compiled_h5@2.15.1", "keras")
    assert verdict.verdict == "risky"
    assert "KERAS_COMPILE_CONFIG_UNKNOWN" not in found


def test_what_the_predecessors_judge_from_their_own_keras_is_not_inherited_by_an_unmeasured_keras(facts, nightly):
    unmeasured = replace(nightly, keras_version="3.99.0.dev1")
    verdict, found = _judge(facts, unmeasured, "keras_sequential_raw_keras@2.15.1", "keras")
    assert verdict.verdict == "risky"
    assert "KERAS_CONFIG_REJECTED" not in found
    _, on_measured = _judge(facts, nightly, "keras_sequential_raw_keras@2.15.1", "keras")
    assert on_measured["KERAS_CONFIG_REJECTED"].severity == "error"


def test_a_model_newer_than_every_predecessor_inherits_nothing(facts, nightly):
    nightly_models = [a for a in facts if a.endswith("@" + NIGHTLY) and "inspect_error" not in facts[a]]
    assert nightly_models
    for artifact in nightly_models:
        verdict, found = _judge(facts, nightly, artifact, "tf2")
        assert not any("measured_on" in f.details for f in verdict.findings), artifact
