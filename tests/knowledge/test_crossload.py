"""Real models saved by one TensorFlow release and really loaded by another.

Two matrices:
- the 40 fixture cases the rest of the suite uses (harness/crossload.py): the tf-marked tests build
  every fixture model with OLD_TF (2.15.1) and NEW_TF (2.20.0), load each with both releases and
  both loaders, and pin what happened;
- the wide matrix (harness/matrix/, tools/crossload_matrix.py) committed as data under
  tests/data/matrix/: its tests check that data is whole and consistent (no TensorFlow needed), and
  that the fork server it was loaded with isolates crashes, hangs and memory hogs (tf-marked).
"""

from __future__ import annotations

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
def test_crossload_table(outcomes):
    table = markdown_table(outcomes)
    assert "| new_op_saved_model | saved_model | 2.20.0 | 2.15.1 | saved_model | fails: op_not_registered |" in table


# ---------------------------------------------------------------- the wide matrix, as committed data

from harness.matrix import data as matrix_data  # noqa: E402
from harness.matrix import errors as matrix_errors  # noqa: E402
from harness.matrix import hostile  # noqa: E402
from harness.matrix.recipes import RECIPES  # noqa: E402
from harness.matrix.run import LOADERS  # noqa: E402
from harness.matrix.stacks import Stack  # noqa: E402


@pytest.fixture(scope="module")
def matrix():
    artifacts, cells = matrix_data.load_artifacts(), matrix_data.load_cells()
    if not artifacts:
        pytest.skip("tests/data/matrix/ holds no matrix yet (tools/crossload_matrix.py data writes it)")
    return {a["id"]: a for a in artifacts}, cells


def test_every_cell_loads_an_artifact_that_was_made(matrix):
    artifacts, cells = matrix
    assert cells
    for cell in cells:
        assert artifacts[cell["artifact"]]["made"], cell
        assert cell["producer"] == artifacts[cell["artifact"]]["producer"]


def test_every_cell_has_a_known_loader_outcome_and_error_kind(matrix):
    _, cells = matrix
    for cell in cells:
        assert cell["loader"] in LOADERS
        assert cell["outcome"] in ("loads", "fails")
        if cell["outcome"] == "fails":
            assert cell["error_kind"] in matrix_errors.KINDS, cell
            assert cell.get("first_line") or cell["error_kind"] in ("crash", "timeout", "memory"), cell
        else:
            assert "error_kind" not in cell


def test_each_cell_appears_once(matrix):
    _, cells = matrix
    keys = [(c["artifact"], c["runtime"], c["loader"], tuple(c.get("imports", []))) for c in cells]
    assert len(keys) == len(set(keys))


def test_artifacts_name_their_recipe_and_a_known_producer(matrix):
    artifacts, _ = matrix
    for artifact in artifacts.values():
        assert artifact["recipe"] in RECIPES
        assert artifact["id"] == f"{artifact['recipe']}@{artifact['producer']}"
        Stack.parse(artifact["producer"])  # a release, "nightly-..." or "X+extra"
        assert artifact["made"] or artifact.get("reason"), artifact
        if artifact["made"]:
            assert artifact["digest"].startswith("sha256:")


def test_no_cache_path_or_host_name_leaks_into_the_data(matrix):
    text = matrix_data.ARTIFACTS.read_text() + matrix_data.STACKS.read_text()
    text += "".join(str(c) for c in matrix[1][:5000])
    assert "/root/" not in text and "/home/" not in text


def test_every_made_artifact_has_its_model_facts(matrix):
    artifacts, _ = matrix
    facts = matrix_data.load_facts()
    made = {i for i, a in artifacts.items() if a["made"]}
    assert made == set(facts), "run `python tools/crossload_matrix.py facts` after changing the corpus"
    for artifact_id, found in facts.items():
        assert "inspect_error" in found or found.get("format"), artifact_id


def test_the_summary_doc_is_generated_from_the_data(matrix, tmp_path, monkeypatch):
    monkeypatch.setattr(matrix_data, "DOC", tmp_path / "crossload.md")
    matrix_data.write_docs()
    assert (tmp_path / "crossload.md").read_text() == (matrix_data.REPO / "docs" / "crossload.md").read_text(), \
        "run `python tools/crossload_matrix.py docs`"


@pytest.mark.parametrize(
    "result, kind",
    [
        ({"exception": "NotFoundError", "message": "Op type not registered 'DatasetFingerprint' in binary running on vm."},
         "op_not_registered"),
        ({"exception": "OSError", "message": "SavedModel file does not exist at: /m/model.h5/{saved_model.pbtxt|saved_model.pb}"},
         "not_a_saved_model"),
        ({"exception": "ValueError", "message": "File format not supported: filepath=/m. Keras 3 only supports V3 `.keras` files"},
         "keras_format"),
        ({"exception": "TypeError", "message": "Could not deserialize class 'Functional' because its parent module "
                                               "keras.src.engine.functional cannot be imported."}, "keras_module_not_found"),
        ({"exception": "ValueError", "message": "Could not deserialize 'keras.metrics.mse' because it is not a KerasSaveable"},
         "keras_compile_config"),
        ({"exception": "InvalidArgumentError", "message": "Restoring from checkpoint failed. ... Cannot assign a device for "
                                                          "operation y: {{node y}} was explicitly assigned to /device:GPU:0"},
         "device_placement"),
        ({"exception": "FileNotFoundError", "message": "Unsuccessful TensorSliceReader constructor: Failed to find any "
                                                       "matching files for /m/variables/variables"}, "variables_restore"),
        ({"exception": "IndexError", "message": "Read less bytes than requested",
          "frames": ["/v/tensorflow/python/training/py_checkpoint_reader.py:get_tensor"]}, "variables_restore"),
        ({"exception": "IndexError", "message": "list index out of range", "loader": "keras",
          "frames": ["/v/keras/src/saving/legacy/saved_model/load.py:_generate_object_paths"]}, "keras_not_a_model"),
        ({"exception": "OSError", "message": "Cannot parse file b'/m/saved_model.pb': Error parsing message."},
         "proto_parse"),
        ({"exception": "AttributeError", "message": "'_UserObject' object has no attribute 'add_slot'"},
         "unknown_object_kind"),
        ({"exception": "ValueError", "message": "NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp; ...>"},
         "attr_not_in_opdef"),
        ({"exception": "ValueError", "message": "Importing a SavedModel with tf.saved_model.load requires a 'tags=' "
                                                "argument if there is more than one MetaGraph."}, "multiple_metagraphs"),
        ({"kind": "crash", "message": "the process died (killed by SIGABRT) without a result"}, "crash"),
        ({"exception": "ValueError", "message": "shapes mismatch", "phase": "call"}, "call_failed"),
        ({"exception": "TypeError", "message": "Could not locate class 'TinySubclassed'. Full object config: "
                                               "{'compile_config': {'optimizer': {'config': {}}}}"},
         "keras_class_not_found"),
        ({"exception": "TypeError", "message": "'str' object is not callable",
          "frames": ["/v/keras/src/engine/functional.py:reconstruct_from_config",
                     "/v/keras/src/engine/functional.py:process_node"]}, "keras_class_not_found"),
        ({"exception": "RuntimeError", "message": "Out of memory while allocating"}, "other"),
    ],
)
def test_matrix_errors_are_classified_by_what_tf_raised(result, kind):
    assert matrix_errors.classify(result) == kind


def _proto_depth(data: bytes, depth: int = 0) -> int:
    """The deepest nesting of length-delimited fields that parse as messages (a rough walk)."""
    deepest = depth
    try:
        fields = hostile._fields(data)
    except (ValueError, IndexError):
        return depth
    for _, wire, raw in fields:
        if wire == 2:
            deepest = max(deepest, _proto_depth(hostile._payload(raw), depth + 1))
    return deepest


def test_the_deep_nesting_cut_keeps_the_file_and_nests_past_protobufs_limit(tmp_path):
    node = hostile._field(1, b"n") + hostile._field(2, b"Const")
    graph_def = hostile._field(1, node)
    meta_graph = hostile._field(2, graph_def)
    saved_model = b"\x08\x01" + hostile._field(2, meta_graph)
    (tmp_path / "saved_model.pb").write_bytes(saved_model)
    hostile.deep_nesting(tmp_path, depth=120)
    data = (tmp_path / "saved_model.pb").read_bytes()
    assert data.startswith(b"\x08\x01")
    assert _proto_depth(data) > 300  # 3 messages a level: AttrValue, NameAttrList, the map entry


def test_the_oversize_cut_is_sparse(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x08\x01")
    hostile.oversize_pb(tmp_path)
    st = (tmp_path / "saved_model.pb").stat()
    assert st.st_size > hostile.TWO_GIB
    assert st.st_blocks * 512 < 1 << 20


@pytest.mark.parametrize("text", ["2.20.0", "2.20.0+tf_keras", "2.20.0+text", "nightly-2.23.0.dev20261026"])
def test_stack_ids_round_trip(text):
    assert Stack.parse(text).id == text


# ---------------------------------------------------------------- the fork server the matrix runs on


@pytest.fixture(scope="module")
def fork_server():
    from harness.matrix.worker import Worker

    worker = Worker(Stack(OLD_TF), max_rss_mb=1500)
    yield worker
    worker.close()


@pytest.mark.tf
def test_a_load_in_the_fork_server_runs_the_serving_signature(fork_server):
    from harness.models import model_path

    path = str(model_path("plain_saved_model", OLD_TF))
    for loader in ("tf2", "serving"):
        result = fork_server.run({"id": "x", "op": "load", "path": path, "loader": loader})
        assert result["ok"] and result["called"] == "serving_default", result


@pytest.mark.tf
def test_a_child_that_aborts_is_a_crash_and_the_server_goes_on(fork_server):
    result = fork_server.run({"id": "x", "op": "selftest", "what": "abort"})
    assert not result["ok"] and matrix_errors.classify(result) == "crash"
    assert "SIGABRT" in result["message"]
    assert fork_server.run({"id": "y", "op": "selftest", "what": "nothing"})["ok"]


@pytest.mark.tf
def test_a_child_that_hangs_is_killed_at_its_timeout(fork_server):
    result = fork_server.run({"id": "x", "op": "selftest", "what": "hang", "timeout": 2})
    assert matrix_errors.classify(result) == "timeout"


@pytest.mark.tf
def test_a_child_that_hogs_memory_is_killed_at_the_limit(fork_server):
    result = fork_server.run({"id": "x", "op": "selftest", "what": "hog"})
    assert matrix_errors.classify(result) == "memory"
