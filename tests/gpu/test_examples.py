"""The GPU examples (examples/gpu-nodes) say what they are: judged against their own node pools."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tfguard.compat.catalog import lookup
from tfguard.compat.facts import ModelFacts
from tfguard.compat.verdict import evaluate
from tfguard.workload.nodes import NodeStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "gpu-nodes"


@pytest.mark.parametrize("example, code", [("driver-too-old", "CUDA_DRIVER_TOO_OLD"), ("no-sass", "GPU_PTX_TOO_NEW_FOR_DRIVER")])
def test_example(example, code):
    nodes = list(yaml.safe_load_all((EXAMPLES / "nodes.yaml").read_text()))
    for n in nodes:  # what the kubelet would report (the file's header says how to patch it in)
        n["status"] = {"allocatable": {"nvidia.com/gpu": "8"}}
    store = NodeStore()
    store.apply("LISTED", {"items": nodes})
    deployment = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    stack = lookup(spec["containers"][0]["image"])
    v = evaluate(ModelFacts(tensorflow_version="2.15.1", source="annotation"), stack, gpu="required",
                 nodes=store.candidates(spec))
    assert v.verdict == "incompatible" and v.findings[0].code == "NODES_NONE_CAN_RUN"
    assert code in {f.code for f in v.findings}
