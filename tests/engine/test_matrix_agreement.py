"""The verdict engine against every cell of the measured cross-load matrix (tests/data/matrix/).

No TensorFlow is needed: each cell's artifact is judged from its committed `tfguard inspect` facts,
on the runtime's stack as the probe reports it, for the cell's loader (harness/agreement.py).
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from harness.agreement import document, judge_all


@pytest.fixture(scope="module")
def judged():
    return judge_all()


def _cells(judged, problem):
    return [f"{j.cell['artifact']} on {j.cell['runtime']} with {j.cell['loader']}: real {j.cell['outcome']}"
            f" ({j.cell.get('error_kind') or '-'}), engine {j.verdict.verdict} {j.codes}"
            for j in judged if j.problem == problem]


def test_the_matrix_is_large_enough_to_mean_something(judged):
    assert len(judged) >= 4000
    assert {j.cell["loader"] for j in judged} >= {"tf2", "serving", "keras", "keras_nocompile", "tf_keras"}
    assert len({j.cell["runtime"] for j in judged}) >= 23


def test_compatible_is_never_said_of_a_model_that_fails_to_load(judged):
    assert not _cells(judged, "miss")


def test_no_model_that_loads_is_judged_incompatible(judged):
    assert not _cells(judged, "false block")


def test_every_failure_judged_incompatible_names_its_cause(judged):
    assert not _cells(judged, "wrong cause")


def test_a_failure_judged_only_risky_says_what_is_unknown(judged):
    risky = [j for j in judged if j.problem in ("risky", "unknown")]
    for j in risky:
        assert any(f.severity == "warning" for f in j.verdict.findings), j.cell
    by_reason = collections.Counter(next(f.code for f in j.verdict.findings if f.severity == "warning") for j in risky)
    assert len(risky) <= 0.01 * sum(j.cell["outcome"] == "fails" for j in judged), by_reason


def test_docs_verdicts_md_is_the_table_of_the_committed_matrix(judged):
    path = Path(__file__).resolve().parents[2] / "docs" / "verdicts.md"
    assert path.read_text() == document(judged), "run python -m harness.agreement --doc > docs/verdicts.md"


def test_inspection_records_what_the_loaders_of_old_releases_trip_on():
    from harness.matrix import data as matrix

    facts = matrix.load_facts()
    assert facts["v1_device_pinned@1.15.5"]["main_graph_pinned_devices"] == ["GPU"]
    assert facts["module_device_pinned@2.15.1"]["main_graph_pinned_devices"] == []
    assert facts["module_device_pinned@2.15.1"]["pinned_devices"] == ["GPU"]
    assert "bad_indices_policy" in facts["module_new_attr@2.20.0"]["function_new_attrs"]["GatherNd"]
    assert facts["keras_sequential_compiled_tf@2.5.3"]["keras_sequential_shape_encoded"] is True
    assert facts["keras_functional_compiled_tf@2.5.3"]["keras_sequential_shape_encoded"] is False
    assert facts["keras_subclassed_compiled_tf@2.5.3"]["keras_model_class"] == "TinySubclassed"
    assert facts["keras_sequential_compiled_h5@2.4.4"]["keras_compile"]["sample_weight_mode"] is False
    assert facts["keras_sequential_compiled_h5@2.2.3"]["keras_compile"]["sample_weight_mode"] is True
    assert matrix.load_facts()["hostile_truncated_keras@2.15.1"]["inspect_format"] == "keras_v3"
