"""The engine agrees with real TensorFlow on every case of the cross-load matrix.

Each model of harness.models, saved by each test release, is really loaded by each test
release with each loader (harness.crossload). The engine judges the same case from what
it would see in production: `inspect_model(artifact)` for the model, and the stack facts the
probe reports from inside the runtime's venv. A load that failed must be `incompatible`; a load
that worked must be `compatible` or `risky`. The whole matrix is checked without TF by
test_matrix_agreement.py (docs/verdicts.md).
"""

from __future__ import annotations

import json

import pytest

from harness.crossload import CASES, observe
from harness.verdicts import agrees, judge

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_engine_verdict_agrees_with_the_real_load(case):
    outcome = observe(case)
    verdict = judge(case)
    assert agrees(outcome, verdict), json.dumps({"actual": outcome.to_dict(), "verdict": verdict.to_dict()}, indent=1)


def test_the_matrix_covers_both_directions_both_loaders_and_a_new_op():
    assert any(c.model == "new_op_saved_model" and c.runtime != c.producer for c in CASES)
    assert {c.loader for c in CASES} == {"saved_model", "keras"}
    assert {(c.producer, c.runtime) for c in CASES} >= {("2.15.1", "2.20.0"), ("2.20.0", "2.15.1")}

