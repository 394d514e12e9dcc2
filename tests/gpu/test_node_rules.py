"""The verdict on the nodes a pod can land on: driver vs CUDA, compute capability vs SASS/PTX, CPU flags.

Against the real GPU facts (tfguard/compat/data/gpu.json): TensorFlow 2.15.1's wheel, measured, ships
SASS sm_50/60/70/75/80 and PTX compute_80 of ISA 8.1, built for CUDA 12.2.
"""

from __future__ import annotations

from gfd import CPUID_NO_AVX, gpu_node, nfd_labels, node

from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.verdict import evaluate
from tfguard.workload.nodes import NodeStore

MODEL = ModelFacts(path="/models/m", format="saved_model", tensorflow_version="2.15.1", ops=["Const"])
TF215 = StackFacts(image="tensorflow/tensorflow:2.15.0-gpu", source="catalog", tensorflow_version="2.15.0", cuda_build=True)
GPU_POD = {"containers": [{"name": "s", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}


def judge(*nodes, stack=TF215, gpu="required", spec=GPU_POD):
    store = NodeStore()
    store.apply("LISTED", {"items": list(nodes)})
    return evaluate(MODEL, stack, gpu=gpu, nodes=store.candidates(spec))


def codes(v) -> dict[str, str]:
    return {f.code: f.severity for f in v.findings}


def test_every_node_runs_it():
    v = judge(gpu_node("a100-1"), gpu_node("a100-2"))
    assert v.verdict == "compatible"
    assert "2 of the 2 node(s)" in next(f for f in v.findings if f.code == "NODES_CAN_RUN").message


def test_a_driver_below_the_cuda_12_floor_runs_nowhere():
    v = judge(gpu_node("old-1", driver="470.82.01", cuda="11.4"), gpu_node("old-2", driver="470.82.01", cuda="11.4"))
    assert v.verdict == "incompatible"
    assert codes(v)["NODES_NONE_CAN_RUN"] == "error" and codes(v)["CUDA_DRIVER_TOO_OLD"] == "error"
    worst = v.findings[0]
    assert worst.code == "NODES_NONE_CAN_RUN" and "old-1, old-2" in worst.message and "525.60.13" in worst.message


def test_a_driver_of_an_older_12_minor_runs_it_through_minor_version_compatibility():
    v = judge(gpu_node("r525", driver="525.60.13", cuda="12.0"))
    assert v.verdict == "risky"  # runs; only PTX newer than the driver could not be compiled
    assert codes(v) == {"CUDA_DRIVER_BELOW_TOOLKIT": "warning", "NODES_CAN_RUN": "info"}


def test_some_nodes_cannot_and_are_named():
    v = judge(gpu_node("new"), gpu_node("old", driver="470.82.01", cuda="11.4"))
    assert v.verdict == "risky"
    some = next(f for f in v.findings if f.code == "NODES_SOME_CANNOT_RUN")
    assert "1 of the 2" in some.message and "old" in some.message and some.details["nodes"] == {"old": [
        next(w for w in some.details["nodes"]["old"])]}
    assert codes(v)["CUDA_DRIVER_TOO_OLD"] == "warning"


def test_a_gpu_below_the_lowest_target_is_ignored_by_tensorflow():
    v = judge(gpu_node("k80", compute="3.7", product="Tesla-K80", family="kepler", driver="470.82.01", cuda="11.4"),
              stack=StackFacts(image="x", source="catalog", tensorflow_version="2.12.1", cuda_build=True))
    assert "GPU_COMPUTE_CAPABILITY_UNSUPPORTED" not in codes(v)  # 2.12 still ships sm_35
    v = judge(gpu_node("k80", compute="3.7", product="Tesla-K80", family="kepler"))
    assert v.verdict == "incompatible" and codes(v)["GPU_COMPUTE_CAPABILITY_UNSUPPORTED"] == "error"


def test_an_ampere_86_runs_the_sm_80_sass_natively():
    v = judge(gpu_node("a10", compute="8.6", product="NVIDIA-A10", family="ampere"))
    assert v.verdict == "compatible"


def test_a_hopper_gpu_jit_compiles_the_ptx_of_2_15():
    v = judge(gpu_node("h100", compute="9.0", product="NVIDIA-H100-80GB-HBM3", family="hopper"))
    assert v.verdict == "risky" and codes(v)["GPU_PTX_JIT"] == "warning"
    jit = next(f for f in v.findings if f.code == "GPU_PTX_JIT")
    assert "compute_80" in jit.message and "h100" in jit.message


def test_jit_with_a_driver_older_than_the_ptx_isa_fails():
    # PTX ISA 8.1 needs CUDA 12.1's driver (530.30.02); 525.60.13 runs the SASS but cannot compile it.
    v = judge(gpu_node("h100", compute="9.0", product="NVIDIA-H100-80GB-HBM3", family="hopper",
                       driver="525.60.13", cuda="12.0"))
    assert v.verdict == "incompatible" and codes(v)["GPU_PTX_TOO_NEW_FOR_DRIVER"] == "error"
    assert "530.30.02" in next(f for f in v.findings if f.code == "GPU_PTX_TOO_NEW_FOR_DRIVER").message


def test_optional_gpus_lost_everywhere_are_a_warning_the_model_runs_on_the_cpu():
    v = judge(gpu_node("old", driver="470.82.01", cuda="11.4"), gpu="optional")
    assert v.verdict == "risky" and codes(v)["NODES_NONE_CAN_RUN"] == "warning"


def test_a_cpu_without_avx_kills_the_import_whatever_the_gpu():
    no_gpu_pod = {"containers": [{"name": "s"}]}
    cpu = StackFacts(image="tensorflow/tensorflow:2.15.0", source="catalog", tensorflow_version="2.15.0", cuda_build=False)
    v = judge(node("atom", nfd_labels(CPUID_NO_AVX)), stack=cpu, gpu="none", spec=no_gpu_pod)
    assert v.verdict == "incompatible" and codes(v)["CPU_INSTRUCTIONS_MISSING"] == "error"
    arm = judge(node("graviton", nfd_labels(("ASIMD",), arch="arm64")), stack=cpu, gpu="none", spec=no_gpu_pod)
    assert "CPU_INSTRUCTIONS_MISSING" not in codes(arm)  # AVX is an x86 matter


def test_nodes_without_labels_are_counted_not_judged():
    v = judge(node("bare", gpus=1))
    assert v.verdict == "compatible"
    assert "1 without GPU Feature Discovery" in next(f for f in v.findings if f.code == "NODES_CAN_RUN").message


def test_no_candidate_is_said_but_blocks_nothing():
    v = judge(node("cpu-only", nfd_labels()))
    assert v.verdict == "compatible" and codes(v) == {"NODES_NO_CANDIDATE": "info"}


def test_ngc_containers_are_judged_by_their_own_cuda():
    from tfguard.compat.catalog import lookup

    ngc = lookup("nvcr.io/nvidia/tensorflow:23.01-tf2-py3")  # TF 2.11 on CUDA 12.0.1, not the wheel's 11.2
    assert (ngc.tensorflow_version, ngc.cuda_version, ngc.gpu_build) == ("2.11.0", "12.0", "ngc:23.01")
    v = judge(gpu_node("r470", driver="470.82.01", cuda="11.4"), stack=ngc)
    # R470 is a data-center branch its forward-compatibility package supports: a warning, not a failure.
    assert v.verdict == "risky" and codes(v)["CUDA_DRIVER_BELOW_TOOLKIT"] == "warning"
    v = judge(gpu_node("r460", driver="460.106.00", cuda="11.2"), stack=ngc)
    assert v.verdict == "incompatible" and codes(v)["CUDA_DRIVER_TOO_OLD"] == "error"
    v = judge(gpu_node("m60", compute="5.2", product="Tesla-M60", family="maxwell"), stack=ngc)
    assert codes(v)["GPU_COMPUTE_CAPABILITY_UNSUPPORTED"] == "error"  # NGC 23.01 supports 6.0 and later


def test_the_probes_driver_is_judged_by_the_same_floor():
    seen = StackFacts(image="x", source="probe", tensorflow_version="2.15.1", cuda_build=True, cuda_version="12.2",
                      driver_version="525.85.12")
    v = evaluate(MODEL, seen, gpu="required")
    assert v.verdict == "risky" and [f.code for f in v.findings] == ["CUDA_DRIVER_BELOW_TOOLKIT"]
    old = StackFacts(**{**seen.to_dict(), "driver_version": "515.65.01"})
    v = evaluate(MODEL, old, gpu="required")
    assert v.verdict == "incompatible" and "below 525.60.13" in v.findings[0].message
