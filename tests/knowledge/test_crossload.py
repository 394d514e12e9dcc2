"""Real models saved by one TensorFlow release and really loaded by another.

The tf-marked tests build every fixture model with OLD_TF (2.15.1) and NEW_TF (2.20.0), load each
with both releases and both loaders, and pin what happened. docs/crossload.md is this matrix;
`TFGUARD_WRITE_DOCS=1 pytest tests/knowledge -m tf` rewrites it from the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.crossload import (
    CASES,
    GRAPH_VERSION,
    KERAS_FORMAT,
    NOT_A_SAVED_MODEL,
    OP_NOT_REGISTERED,
    OTHER,
    Case,
    classify,
    markdown_table,
    observe_all,
)
from harness.models import MODEL_NAMES, NEW_OP, build_record, models_for
from harness.tfenvs import NEW_TF, OLD_TF

DOC = Path(__file__).resolve().parents[2] / "docs" / "crossload.md"

LOADS = None
# (model, producer, runtime, loader) -> None when it loads, else the error_kind observed.
EXPECTED: dict[tuple[str, str, str, str], str | None] = {}


def _expect(model, producer, runtime, saved_model_loader, keras_loader):
    EXPECTED[(model, producer, runtime, "saved_model")] = saved_model_loader
    EXPECTED[(model, producer, runtime, "keras")] = keras_loader


for _producer in (OLD_TF, NEW_TF):
    # TF loads a plain or Keras-exported SavedModel of either release; Keras 2 (tf.keras in 2.15)
    # also loads any SavedModel, Keras 3 (tf.keras in 2.20) refuses every SavedModel directory.
    for _model in ("plain_saved_model", "keras_saved_model"):
        _expect(_model, _producer, OLD_TF, LOADS, LOADS)
        _expect(_model, _producer, NEW_TF, LOADS, KERAS_FORMAT)
    # A .keras or .h5 file is not a SavedModel for any release.
    for _model in ("keras_v3", "keras_h5"):
        for _runtime in (OLD_TF, NEW_TF):
            EXPECTED[(_model, _producer, _runtime, "saved_model")] = NOT_A_SAVED_MODEL
# Each Keras loads its own .keras and .h5 ...
_expect("keras_v3", OLD_TF, OLD_TF, NOT_A_SAVED_MODEL, LOADS)
_expect("keras_h5", OLD_TF, OLD_TF, NOT_A_SAVED_MODEL, LOADS)
_expect("keras_v3", NEW_TF, NEW_TF, NOT_A_SAVED_MODEL, LOADS)
_expect("keras_h5", NEW_TF, NEW_TF, NOT_A_SAVED_MODEL, LOADS)
# ... but across the Keras 2/3 boundary only Keras 3's legacy .h5 reader gets through: Keras 3
# cannot deserialize Keras 2's .keras config, and Keras 2 reads neither of Keras 3's files.
_expect("keras_v3", OLD_TF, NEW_TF, NOT_A_SAVED_MODEL, KERAS_FORMAT)
_expect("keras_h5", OLD_TF, NEW_TF, NOT_A_SAVED_MODEL, LOADS)
_expect("keras_v3", NEW_TF, OLD_TF, NOT_A_SAVED_MODEL, KERAS_FORMAT)
_expect("keras_h5", NEW_TF, OLD_TF, NOT_A_SAVED_MODEL, KERAS_FORMAT)
# The graph using an op only NEW_TF registers: OLD_TF fails with either loader, naming the op.
_expect("new_op_saved_model", NEW_TF, OLD_TF, OP_NOT_REGISTERED, OP_NOT_REGISTERED)
_expect("new_op_saved_model", NEW_TF, NEW_TF, LOADS, KERAS_FORMAT)
# A GatherNd node setting an attr 2.15's OpDef does not declare (to a non-default value): 2.15's
# tf.saved_model.load still loads and runs it.
_expect("new_attr_saved_model", NEW_TF, OLD_TF, LOADS, LOADS)
_expect("new_attr_saved_model", NEW_TF, NEW_TF, LOADS, KERAS_FORMAT)


def test_every_case_has_an_expectation():
    assert {(c.model, c.producer, c.runtime, c.loader) for c in CASES} == set(EXPECTED)


def test_the_matrix_covers_every_model_release_and_loader():
    assert set(models_for(OLD_TF)) == set(MODEL_NAMES) - {"new_op_saved_model", "new_attr_saved_model"}
    assert set(models_for(NEW_TF)) == set(MODEL_NAMES)
    assert len(CASES) == (len(models_for(OLD_TF)) + len(models_for(NEW_TF))) * 2 * 2


@pytest.mark.parametrize(
    "message, loader, kind",
    [
        ("Op type not registered 'DatasetFingerprint' in binary running on vm.", "saved_model", OP_NOT_REGISTERED),
        ("GraphDef min consumer version 3000 above current version 1645 for TensorFlow", "saved_model", GRAPH_VERSION),
        ("SavedModel file does not exist at: /m/model.h5/{saved_model.pbtxt|saved_model.pb}", "saved_model",
         NOT_A_SAVED_MODEL),
        ("File format not supported: filepath=/m. Keras 3 only supports V3 `.keras` files", "keras", KERAS_FORMAT),
        ("Could not deserialize 'keras.metrics.mse' because it is not a KerasSaveable subclass", "keras", KERAS_FORMAT),
        ("Out of memory while allocating", "saved_model", OTHER),
    ],
)
def test_load_errors_are_classified_by_what_they_say(message, loader, kind):
    assert classify(message, loader=loader) == kind


def test_a_keras_error_without_a_known_message_is_still_a_keras_error():
    frames = ["/v/lib/python3.11/site-packages/keras/src/saving/serialization_lib.py"]
    assert classify("Error when deserializing class 'InputLayer'", "TypeError", frames, "keras") == KERAS_FORMAT


# Loading ~40 cases, each in a fresh interpreter that imports TF, takes 5-15 minutes on a busy
# 2-core machine; the module fixture runs inside the first test's timeout.
LONG = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def outcomes():
    """Every case of the matrix, really loaded now (not from the outcome cache)."""
    return observe_all(CASES, fresh=True)


@pytest.mark.tf
def test_models_record_what_each_release_wrote():
    old, new = build_record("keras_saved_model", OLD_TF), build_record("keras_saved_model", NEW_TF)
    assert old["keras_version"].startswith("2.") and old["keras_metadata"] is True
    assert new["keras_version"].startswith("3.") and new["keras_metadata"] is False
    assert new["method"] == "model.export(dir)"
    assert build_record("new_op_saved_model", NEW_TF)["tf_version"] == NEW_TF


@pytest.mark.tf
@LONG
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cross_load(case: Case, outcomes):
    outcome = outcomes[case]
    expected = EXPECTED[(case.model, case.producer, case.runtime, case.loader)]
    if expected is LOADS:
        assert outcome.ok, f"{case.id} failed: {outcome.error_kind}: {outcome.message}"
    else:
        assert not outcome.ok, f"{case.id} loaded, expected {expected}"
        assert outcome.error_kind == expected, f"{case.id}: {outcome.exception}: {outcome.message}"


@pytest.mark.tf
@LONG
def test_old_release_names_the_missing_op(outcomes):
    case = Case("new_op_saved_model", NEW_TF, OLD_TF, "saved_model")
    assert f"Op type not registered '{NEW_OP}'" in outcomes[case].message


@pytest.mark.tf
@LONG
def test_crossload_doc(outcomes):
    table = markdown_table(outcomes)
    if os.environ.get("TFGUARD_WRITE_DOCS") == "1":
        DOC.write_text(table)
    assert "| new_op_saved_model | saved_model | 2.20.0 | 2.15.1 | saved_model | fails: op_not_registered |" in table
