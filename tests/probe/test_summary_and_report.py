"""The termination-log summary stays within what kubectl shows; the parser reads both forms."""

from __future__ import annotations

import json
import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfguard.compat.probe_report import parse_probe_report
from tfguard.probes.probe import TERMINATION_LOG_LIMIT, _check, termination_summary


def report(ops=(), failures=(), warnings=(), message_len=80, status=None):
    checks = [_check("import", "pass", "PROBE_IMPORT_OK", "TensorFlow 2.15.1 imports")]
    checks += [_check("model_load", "fail", code, "x" * message_len) for code in failures]
    checks += [_check("requirements", "warn", code, "w" * message_len) for code in warnings]
    return {
        "probe": "tfguard", "report_version": 1, "status": status or ("fail" if failures else "pass"),
        "mode": "enforce", "checks": checks,
        "stack": {"source": "probe", "tensorflow_version": "2.15.1", "python_version": "3.11.7",
                  "numpy_version": "1.26.4", "import_ok": True, "cpu_simd": ["avx", "avx2"],
                  "cpu_flags": ["fpu"] * 200, "build_info": {"is_cuda_build": "False"}},
        "model": {"path": "/models/m/1", "format": "saved_model", "tensorflow_version": "2.20.0",
                  "graph_producer": 2119, "ops": sorted(ops), "op_attrs": {op: ["T", "dtype"] for op in ops},
                  "digest": "sha256:" + "0" * 64, "signatures": ["serving_default"], "source": "probe"},
        "timings": {"total_s": 6.2, "import_s": 5.1},
    }


def op_names(n, seed=0):
    rng = random.Random(seed)
    return sorted({"".join(rng.choices(string.ascii_letters, k=rng.randint(6, 40))) for _ in range(n)})


def test_a_small_report_keeps_everything_in_plain_json():
    text = termination_summary(report(ops=["AddV2", "MatMul"], failures=["PROBE_MISSING_OP"]))
    parsed = parse_probe_report(text)
    assert parsed.summary and parsed.status == "fail"
    assert [(c.code, c.severity) for c in parsed.checks] == [("PROBE_MISSING_OP", "error")]
    assert parsed.model.ops == ["AddV2", "MatMul"] and parsed.model.graph_producer == 2119
    assert parsed.model.source == "probe" and parsed.stack.source == "probe"
    assert parsed.stack.tensorflow_version == "2.15.1" and "cpu_flags" not in text


WORDS = ("Conv2D", "Backprop", "Input", "Filter", "Fused", "Batch", "Norm", "Resource", "Apply", "Adam",
         "Sparse", "Tensor", "Dense", "Var", "Handle", "Read", "Assign", "Stateful", "Partitioned", "Call",
         "Quantize", "V2", "V3", "Dataset", "Reduce", "Scatter", "Gather", "Nd", "Max", "Pool", "Grad")


def tf_like_op_names(n, seed=0):
    """Names shaped like TF's (CamelCase words from a small vocabulary): they compress like real ones."""
    rng = random.Random(seed)
    names = set()
    while len(names) < n:
        names.add("".join(rng.choices(WORDS, k=rng.randint(2, 4))))
    return sorted(names)


def test_ops_that_do_not_fit_plain_are_compressed_and_come_back_intact():
    ops = tf_like_op_names(300)
    assert len("".join(ops)) > TERMINATION_LOG_LIMIT
    text = termination_summary(report(ops=ops))
    assert len(text.encode()) <= TERMINATION_LOG_LIMIT
    assert '"ops_z"' in text
    assert parse_probe_report(text).model.ops == ops


def test_ops_that_do_not_fit_even_compressed_are_dropped_and_said_so():
    text = termination_summary(report(ops=op_names(5000), failures=["PROBE_MISSING_OP"]))
    data = json.loads(text)
    assert len(text.encode()) <= TERMINATION_LOG_LIMIT
    assert data["model"]["ops_dropped"] is True and data["model"]["op_count"] > 4000
    assert data["failed"][0]["code"] == "PROBE_MISSING_OP"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6000), st.lists(st.sampled_from(["PROBE_MISSING_OP", "PROBE_IMPORT_ERROR", "PROBE_NUMPY_ABI"]),
                                      max_size=40), st.integers(0, 5000))
def test_never_over_the_limit(n_ops, failures, message_len):
    text = termination_summary(report(ops=op_names(n_ops), failures=failures, message_len=message_len))
    assert len(text.encode("utf-8")) <= TERMINATION_LOG_LIMIT
    parsed = parse_probe_report(text)
    assert {c.code for c in parsed.checks if c.severity == "error"} == set(failures)


def test_the_full_report_parses_with_every_check():
    full = report(ops=["MatMul"], failures=["PROBE_MISSING_OP"], warnings=["PROBE_REQUIREMENT_VIOLATED"])
    parsed = parse_probe_report(json.dumps(full, indent=2))
    assert not parsed.summary
    assert [(c.code, c.severity, c.details["check"]) for c in parsed.checks] == [
        ("PROBE_IMPORT_OK", "info", "import"), ("PROBE_MISSING_OP", "error", "model_load"),
        ("PROBE_REQUIREMENT_VIOLATED", "warning", "requirements")]
    assert parsed.model.op_attrs == {"MatMul": ["T", "dtype"]}
    assert parsed.stack_extra["cpu_simd"] == ["avx", "avx2"]
    assert parsed.timings["import_s"] == 5.1


def test_log_lines_before_the_report_are_skipped():
    text = "2026-01-01 I tensorflow/core/util/port.cc:113] oneDNN ...\n" + json.dumps(report())
    assert parse_probe_report(text).status == "pass"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty probe report"),
        ("Segmentation fault (core dumped)", "no JSON object"),
        ('{"probe": "tfguard", "status": "pass", "checks": [', "not valid JSON"),
        ("[1, 2]", "no JSON object"),
        ('{"status": "maybe", "checks": []}', "no valid status"),
        ('{"status": "pass"}', "'checks' is missing"),
        ('{"status": "pass", "checks": [{"name": "x"}]}', "without a code"),
        ('{"status": "pass", "checks": [], "model": "yes"}', "'model' is not an object"),
        ('{"status": "pass", "checks": [], "stack": [1]}', "'stack' is not an object"),
        ('{"summary": 1, "status": "fail", "failed": "PROBE_X"}', "'failed' is not a list"),
        ('{"summary": 1, "status": "pass", "model": {"ops_z": "!!!"}}', "cannot decode 'ops_z'"),
    ],
)
def test_garbage_raises_a_clear_value_error(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_probe_report(text)


def test_a_truncated_summary_is_an_error_not_a_pass():
    text = termination_summary(report(ops=op_names(50), failures=["PROBE_MISSING_OP"]))
    for cut in (10, len(text) // 2, len(text) - 1):
        with pytest.raises(ValueError):
            parse_probe_report(text[:cut])


def test_a_zip_bomb_in_ops_z_is_refused():
    import base64
    import zlib

    bomb = base64.b64encode(zlib.compress(b"A" * (8 << 20))).decode()
    with pytest.raises(ValueError, match="4 MiB"):
        parse_probe_report(json.dumps({"summary": 1, "status": "pass", "model": {"ops_z": bomb}}))
