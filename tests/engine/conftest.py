"""Hand-built release knowledge for the engine's unit tests.

The rules are tested against two small, invented-but-shaped-like-TF releases, so each test states
exactly which fact makes the difference. The agreement test (test_agreement.py) uses the real data.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Optional

import pytest

from tfguard.compat import verdict

OLD_OPS = {"Const": [], "Placeholder": ["dtype", "shape"], "MatMul": ["T", "transpose_a", "transpose_b"],
           "AddV2": ["T"], "Relu": ["T"], "StatefulPartitionedCall": ["Tin", "Tout", "f", "config"],
           "CudnnRNNV3": ["T", "rnn_mode"], "ReadVariableOp": ["dtype"]}
NEW_ONLY_OPS = {"DatasetFingerprint": []}


@dataclass
class FakeRelease:
    series: str
    wheel_version: str
    measured: bool = True
    graph_def_version: Optional[int] = None
    graph_def_min_consumer: Optional[int] = 0
    graph_def_min_producer: Optional[int] = 0
    ops: frozenset = frozenset()
    op_attrs: dict = field(default_factory=dict)
    ops_without_cpu_kernel: frozenset = frozenset()
    keras_major: Optional[int] = None
    keras_version: Optional[str] = None
    tf_keras_version: Optional[str] = None
    requires: dict = field(default_factory=dict)
    python_tags: tuple = ()
    cuda_version: Optional[str] = None
    cudnn_version: Optional[str] = None
    keras: Optional[object] = None  # no Keras facts: the measured-Keras rules stand aside

    def proto(self, message):
        return None

    def lacks_cpu_kernel(self, op):
        return op in self.ops_without_cpu_kernel


def _release(series, wheel, graph, ops, keras_major, measured=True, cuda="12.2"):
    return FakeRelease(
        series=series, wheel_version=wheel, measured=measured, graph_def_version=graph,
        ops=frozenset(ops), op_attrs={k: frozenset(v) for k, v in ops.items()},
        ops_without_cpu_kernel=frozenset({"CudnnRNNV3"}) & frozenset(ops),
        keras_major=keras_major, cuda_version=cuda,
    )


RELEASES = {
    "2.4": _release("2.4", "2.4.4", 561, OLD_OPS, 2, cuda="11.0"),
    "2.3": FakeRelease("2.3", "2.3.4", measured=False, graph_def_version=440, keras_major=2),
    "2.12": _release("2.12", "2.12.1", 1395, OLD_OPS, 2),
    "2.15": _release("2.15", "2.15.1", 1766, OLD_OPS, 2),
    "2.20": _release("2.20", "2.20.0", 2199, {**OLD_OPS, **NEW_ONLY_OPS, "MatMul": OLD_OPS["MatMul"] + ["grad_a"]}, 3,
                     cuda="12.5"),
}


class FakeKnowledge(types.SimpleNamespace):
    @staticmethod
    def release(version):
        key = verdict.version_key(version)
        return RELEASES.get(f"{key[0]}.{key[1]}") if key else None

    @staticmethod
    def first_release_with_op(op):
        for series in ("2.4", "2.12", "2.15", "2.20"):
            if op in RELEASES[series].ops:
                return series
        return None

    @staticmethod
    def min_driver_for_cuda(cuda):
        return {"12.2": "525.60.13", "12.5": "525.60.13", "11.8": "450.80.02"}.get(cuda)

    @staticmethod
    def measured_releases():
        return [r for r in RELEASES.values() if r.measured]


@pytest.fixture
def knowledge(monkeypatch):
    """The engine sees the hand-built releases above, whatever the generated data holds."""
    from tfguard.compat import releases

    for name in ("release", "first_release_with_op", "min_driver_for_cuda", "measured_releases"):
        monkeypatch.setattr(releases, name, getattr(FakeKnowledge, name))
    return RELEASES
