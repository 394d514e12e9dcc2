"""`crossload_matrix.py data` on a machine whose cache holds only part of the matrix: the committed data
is kept where the cache has nothing to say, and a remade artifact keeps its cells only if it is the
same model."""

from __future__ import annotations

import json
import zipfile

import pytest

from harness.matrix import data, store

RUNTIME = "2.15.1"
VENV = "tf-2.15.1-0123456789ab"


@pytest.fixture
def matrix(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGUARD_CACHE", str(tmp_path / "cache"))
    committed = tmp_path / "committed"
    committed.mkdir()
    for name, file in (("DATA", ""), ("ARTIFACTS", "artifacts.jsonl"), ("CELLS", "cells.jsonl.gz"),
                       ("STACKS", "stacks.jsonl"), ("FACTS", "facts.jsonl"), ("UNJUDGED", "unjudged-cells.jsonl.gz")):
        monkeypatch.setattr(data, name, committed / file if file else committed)
    monkeypatch.setattr(data, "write_docs", lambda: None)
    monkeypatch.setattr(data, "REPO", tmp_path)
    return committed


def keras_zip(path, dense_units: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": dense_units}}]}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 32)
    return path


def artifact_row(recipe: str, digest: str) -> dict:
    return {"id": f"{recipe}@2.20.0", "recipe": recipe, "producer": "2.20.0", "format": "keras_v3", "made": True,
            "artifact": "model.keras", "digest": digest}


def cell(recipe: str, runtime: str, outcome: str = "loads") -> dict:
    return {"artifact": f"{recipe}@2.20.0", "producer": "2.20.0", "runtime": runtime, "loader": "keras",
            "outcome": outcome}


def commit(committed, artifacts, cells, facts):
    (committed / "artifacts.jsonl").write_text(data._jsonl(artifacts))
    data._write_gzip(committed / "cells.jsonl.gz", data._jsonl(cells))
    (committed / "stacks.jsonl").write_text(data._jsonl([{"stack": "2.1.4", "usable": True, "venv": "tf-2.1.4-x"}]))
    (committed / "facts.jsonl").write_text(data._jsonl(facts))


def remake(recipe: str, dense_units: int) -> dict:
    """The cache's record of `recipe` made again here, with one new cell on RUNTIME."""
    folder = store.artifact_dir("2.20.0", recipe)
    digest = store.digest(keras_zip(folder / "model.keras", dense_units))
    store.write_json(folder / "record.json", artifact_row(recipe, digest))
    store.write_json(store.root() / "stacks" / f"{RUNTIME}.json", {"stack": RUNTIME, "usable": True, "venv": VENV})
    store.write_json(store.cell_path(VENV, "keras", (), digest),
                     {**cell(recipe, RUNTIME), "digest": digest, "venv": VENV, "loader_revision": store.LOADER_REVISION})
    return data._facts_rows([artifact_row(recipe, digest)])[f"{recipe}@2.20.0"]


def test_the_cache_adds_to_the_committed_matrix_and_keeps_what_it_does_not_hold(matrix):
    recipe = "keras_sequential_raw_keras"
    fresh = remake(recipe, dense_units=4)
    old_facts = {**fresh, "digest": "sha256:old"}
    old_facts["facts"] = {k: v for k, v in fresh["facts"].items() if k != "keras_model_class"}  # an older inspect
    commit(matrix,
           [artifact_row(recipe, "sha256:old"), artifact_row("keras_functional_raw_keras", "sha256:e")],
           [cell(recipe, "2.1.4", "fails"), cell("keras_functional_raw_keras", "2.1.4")],
           [old_facts, {"artifact": "keras_functional_raw_keras@2.20.0", "digest": "sha256:e", "facts": {"format": "keras_v3"}}])

    counts = data.export()

    cells = {(c["artifact"], c["runtime"]): c["outcome"] for c in data.load_cells()}
    assert cells == {(f"{recipe}@2.20.0", "2.1.4"): "fails", (f"{recipe}@2.20.0", RUNTIME): "loads",
                     ("keras_functional_raw_keras@2.20.0", "2.1.4"): "loads"}
    assert {a["id"] for a in data.load_artifacts()} == {f"{recipe}@2.20.0", "keras_functional_raw_keras@2.20.0"}
    assert {s["stack"] for s in data.load_stacks()} == {"2.1.4", RUNTIME}
    assert set(data.load_facts()) == {f"{recipe}@2.20.0", "keras_functional_raw_keras@2.20.0"}
    assert counts["artifacts remade with other facts (their committed cells dropped)"] == 0


def test_a_remade_artifact_that_is_another_model_loses_its_committed_cells(matrix):
    recipe = "keras_sequential_raw_keras"
    fresh = remake(recipe, dense_units=4)
    other = {**fresh, "digest": "sha256:old", "facts": {**fresh["facts"], "keras_classes": {"keras.layers:Conv2D": []}}}
    commit(matrix, [artifact_row(recipe, "sha256:old")], [cell(recipe, "2.1.4", "fails")], [other])

    counts = data.export()

    assert [(c["runtime"], c["outcome"]) for c in data.load_cells()] == [(RUNTIME, "loads")]
    assert counts["artifacts remade with other facts (their committed cells dropped)"] == 1


def test_new_cells_of_held_runtimes_stay_unjudged_until_judged(matrix):
    recipe = "keras_sequential_raw_keras"
    fresh = remake(recipe, dense_units=4)
    commit(matrix, [artifact_row(recipe, "sha256:old")], [cell(recipe, "2.1.4", "fails")], [{**fresh, "digest": "sha256:old"}])

    data.export(hold=frozenset({RUNTIME}))

    assert [c["runtime"] for c in data.load_cells()] == ["2.1.4"]
    assert [c["runtime"] for c in data.load_unjudged_cells()] == [RUNTIME]
    data.export()  # a later export keeps a held cell held
    assert [c["runtime"] for c in data.load_unjudged_cells()] == [RUNTIME]

    assert data.judge(frozenset({RUNTIME})) == 1
    assert sorted(c["runtime"] for c in data.load_cells()) == ["2.1.4", RUNTIME] and data.load_unjudged_cells() == []


def test_judging_classifies_a_failure_again_from_what_was_kept(matrix):
    recipe = "keras_subclassed_raw_keras"
    kept = {**cell(recipe, RUNTIME, "fails"), "exception": "TypeError", "error_kind": "keras_compile_config",
            "first_line": "TypeError: Could not locate class 'TinySubclassed'. Full object config: "
                          "{'compile_config': {'optimizer': {'config': {}}}}"}
    commit(matrix, [artifact_row(recipe, "sha256:x")], [], [])
    data._write_gzip(data.UNJUDGED, data._jsonl([kept]))

    data.judge()

    assert [c["error_kind"] for c in data.load_cells()] == ["keras_class_not_found"]


def test_the_same_bytes_keep_their_cells_whatever_inspection_now_says_about_them(matrix):
    recipe = "keras_sequential_raw_keras"
    fresh = remake(recipe, dense_units=4)
    learnt = {**fresh, "facts": {**fresh["facts"], "keras_custom_classes": {"my:Layer": "Layer"}}}
    commit(matrix, [artifact_row(recipe, fresh["digest"])], [cell(recipe, "2.1.4", "fails")], [learnt])

    counts = data.export()

    assert sorted(c["runtime"] for c in data.load_cells()) == ["2.1.4", RUNTIME]
    assert counts["artifacts remade with other facts (their committed cells dropped)"] == 0
