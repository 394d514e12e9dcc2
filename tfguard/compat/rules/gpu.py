"""GPUs and CPUs: a GPU request against the image's build, the driver against its CUDA, and the
nodes the pod can land on against both (docs/gpu.md).

The facts come from tfguard.compat.gpu_facts: each release's SASS/PTX measured from its GPU wheel,
NVIDIA's driver tables, the NGC containers' own CUDA. A node is judged from its GPU Feature
Discovery and Node Feature Discovery labels (tfguard.workload.nodes reads them).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard.compat import gpu_facts as G
from tfguard.compat.facts import NodeFacts
from tfguard.compat.judgement import Judgement, listing
from tfguard.records import field, record

# Every official x86-64 TensorFlow wheel since 1.6 is compiled with AVX (TensorFlow 1.6.0 release
# notes: "Prebuilt binaries will use AVX instructions"); the builds' cpu_feature_guard aborts the
# import without it. NFD names the flag `AVX`.
X86_BUILD_INSTRUCTIONS = ("AVX",)
_NAMED = 4  # nodes named per group in a message


def build_and_driver(j: Judgement) -> None:
    """The build against the GPU request, and against the driver the probe saw in the image's Pod."""
    if j.gpu == "none":
        return
    stack = j.stack
    severity = "error" if j.gpu == "required" else "warning"
    if stack.cuda_build is False:
        j.add(
            "GPU_ON_CPU_ONLY_BUILD", severity,
            f"GPUs are {j.gpu} for the {j.model_label}, but {j.runtime_label} is a CPU-only TensorFlow build"
            + ("" if j.gpu == "required" else ": it will run on CPU only"),
        )
        return
    if stack.cuda_build is None:
        if j.gpu == "required" and j.tf_key is not None:
            j.add(
                "GPU_BUILD_UNKNOWN", "warning",
                f"GPUs are required for the {j.model_label}, but whether {j.runtime_label} is a CUDA build is not known",
            )
        return
    build = _Build.of(j)
    if not (build.cuda and stack.driver_version):
        return
    problem = _driver_problem(build, stack.driver_version)
    if problem is not None:
        code, fatal, text = problem
        j.add(code, severity if fatal else "warning", f"{j.runtime_label}: {text}",
              cuda=build.cuda, driver=stack.driver_version, floor=G.minor_version_floor(build.cuda),
              toolkit_driver=G.toolkit_driver(build.cuda))


@record
class _Build:
    """The CUDA build judged: its CUDA, its measured targets (upstream wheels), or an NGC container's floor."""

    label: str
    cuda: Optional[str]
    wheel: Optional[G.GpuBuild] = None
    ngc: Optional[G.NgcContainer] = None

    @classmethod
    def of(cls, j: Judgement) -> "_Build":
        stack = j.stack
        if (stack.gpu_build or "").startswith("ngc:"):
            ngc = G.ngc_container(stack.gpu_build[4:])
            if ngc is not None:
                return cls(f"NGC TensorFlow {ngc.tag} (CUDA {ngc.cuda})", stack.cuda_version or ngc.cuda, ngc=ngc)
        wheel = G.gpu_build(j.tf) if j.tf_key else None
        cuda = stack.cuda_version or (wheel.cuda if wheel else None) or (j.release.cuda_version if j.release else None)
        return cls(f"TensorFlow {j.tf}'s CUDA {cuda} build" if cuda else f"TensorFlow {j.tf}'s CUDA build", cuda, wheel=wheel)


def _driver_problem(build: _Build, driver: str) -> Optional[tuple[str, bool, str]]:
    """(code, fatal, text) when `driver` cannot run the build, or runs it only by minor-version compatibility."""
    support = G.driver_support(build.cuda, driver)
    if support is None:
        return None
    major = (build.cuda or "?").split(".")[0]
    if not support.ok:
        if build.ngc is not None and _forward_compatible(build.ngc, driver):
            return ("CUDA_DRIVER_BELOW_TOOLKIT", False,
                    f"driver {driver} is below {support.floor}, the oldest that runs CUDA {major}.x; "
                    f"{build.label} ships the forward-compatibility package, which only data-center GPUs "
                    f"can use with this driver branch")
        return ("CUDA_DRIVER_TOO_OLD", True,
                f"driver {driver} is below {support.floor}, the oldest that runs CUDA {major}.x "
                f"(minor-version compatibility), so TensorFlow sees no GPU for {build.label}")
    if support.below_toolkit:
        return ("CUDA_DRIVER_BELOW_TOOLKIT", False,
                f"driver {driver} runs {build.label} through minor-version compatibility only "
                f"(CUDA {build.cuda}'s own driver is {support.toolkit_driver}): PTX newer than the driver cannot be JIT-compiled")
    return None


def _forward_compatible(ngc: G.NgcContainer, driver: str) -> bool:
    """Whether the driver is of a branch the container's forward-compatibility package supports
    (data-center GPUs only), at or above the listed release of that branch."""
    have = G.version_tuple(driver)
    for listed in ngc.datacenter_drivers:
        want = G.version_tuple(listed)
        if want and have[:1] == want[:1] and have >= want:
            return True
    return False


@record
class _NodeResult:
    node: NodeFacts
    fatal: list[tuple[str, str]] = field(default_factory=list)  # (code, why)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    checked: bool = False  # anything was known to check


def _judge_node(j: Judgement, build: Optional[_Build], node: NodeFacts) -> _NodeResult:
    result = _NodeResult(node)
    if node.cpu_flags is not None and _is_x86(node):
        result.checked = True
        missing = [f for f in X86_BUILD_INSTRUCTIONS if f not in node.cpu_flags]
        if missing:
            result.fatal.append(("CPU_INSTRUCTIONS_MISSING",
                                 f"its CPU has no {'/'.join(missing)}: `import tensorflow` dies with SIGILL"))
    if build is None or not node.driver_version and not node.compute_capability:
        return result
    result.checked = True
    if node.driver_version and build.cuda:
        problem = _driver_problem(build, node.driver_version)
        if problem is not None:
            code, fatal, text = problem
            (result.fatal if fatal else result.warnings).append((code, text))
    if node.compute_capability:
        _judge_compute(build, node, result)
    return result


def _judge_compute(build: _Build, node: NodeFacts, result: _NodeResult) -> None:
    cc = node.compute_capability
    gpu = f"{node.gpu_product or 'GPU'}, compute capability {cc}"
    if build.ngc is not None:
        floor = build.ngc.min_compute_capability
        if floor and G.compute_capability(cc) is not None and G.compute_capability(cc) < G.compute_capability(floor):
            result.fatal.append(("GPU_COMPUTE_CAPABILITY_UNSUPPORTED",
                                 f"its {gpu} is below {floor}, the lowest {build.label} supports: TensorFlow ignores the GPU"))
        return
    wheel = build.wheel
    support = G.compute_support(wheel, cc) if wheel is not None else None
    if support == G.UNSUPPORTED:
        result.fatal.append(("GPU_COMPUTE_CAPABILITY_UNSUPPORTED",
                             f"its {gpu} is below or outside what {build.label} targets ({G.targets(wheel)}): "
                             f"TensorFlow ignores the GPU"))
    elif support == G.JIT:
        needs = G.ptx_min_driver(wheel.ptx_isa)
        have = G.version_tuple(node.driver_version)
        if needs and have and have < G.version_tuple(needs):
            result.fatal.append(("GPU_PTX_TOO_NEW_FOR_DRIVER",
                                 f"its {gpu} has no SASS in {build.label} ({G.targets(wheel)}) and its PTX (ISA "
                                 f"{wheel.ptx_isa}) needs driver {needs} or newer to JIT-compile, the node has "
                                 f"{node.driver_version}"))
        else:
            result.warnings.append(("GPU_PTX_JIT",
                                    f"its {gpu} has no SASS in {build.label} ({G.targets(wheel)}): kernels are "
                                    f"JIT-compiled from PTX when TensorFlow starts, which takes minutes"))


def _is_x86(node: NodeFacts) -> bool:
    return node.arch in (None, "amd64")


def node_pool(j: Judgement, nodes: Optional[list[NodeFacts]]) -> None:
    """The nodes the pod can be scheduled on (None: not known) against the build: how many can run it,
    which cannot and why. `incompatible` when none can."""
    if nodes is None or j.tf_key is None:
        return
    total = sum(n.count for n in nodes)
    if total == 0:
        # Pending is visible to the user already, and an autoscaler may add a node: said, never blocking.
        j.add("NODES_NO_CANDIDATE", "info",
              f"no node matches the pod template of the {j.model_label} (nodeSelector, node affinity, "
              f"tolerations, GPU request): it stays Pending until one does")
        return
    wants_gpu = j.gpu != "none" and j.stack.cuda_build is not False
    build = _Build.of(j) if wants_gpu else None
    results = [_judge_node(j, build, n) for n in nodes]
    cannot = [r for r in results if r.fatal]
    cannot_count = sum(r.node.count for r in cannot)
    unchecked = sum(r.node.count for r in results if not r.checked)
    only_gpu = all(code != "CPU_INSTRUCTIONS_MISSING" for r in cannot for code, _ in r.fatal)
    # Without a GPU a model that may run on the CPU still runs: an optional GPU lost is a warning.
    blocking = "warning" if only_gpu and j.gpu == "optional" else "error"
    what = build.label if build is not None else f"TensorFlow {j.tf}"
    by_node = {", ".join(r.node.names): [why for _, why in r.fatal] for r in cannot}
    if cannot_count == total:
        j.add("NODES_NONE_CAN_RUN", blocking,
              f"none of the {total} node(s) the pod can be scheduled on can run {what} for the {j.model_label}: "
              + _reasons(cannot),
              nodes=by_node, candidates=total)
    elif cannot:
        j.add("NODES_SOME_CANNOT_RUN", "warning",
              f"{cannot_count} of the {total} node(s) the pod can be scheduled on cannot run {what}: "
              + _reasons(cannot) + "; the scheduler may place it there",
              nodes=by_node, candidates=total)
    severity = blocking if cannot_count == total else "warning"
    for code in _codes(r.fatal for r in cannot):
        groups = [r for r in cannot if any(c == code for c, _ in r.fatal)]
        j.add(code, severity, _per_code(groups, code), nodes=[n for r in groups for n in r.node.names[:_NAMED]])
    for code in _codes(r.warnings for r in results if not r.fatal):
        groups = [r for r in results if not r.fatal and any(c == code for c, _ in r.warnings)]
        j.add(code, "warning", _per_code(groups, code, warnings=True), nodes=[n for r in groups for n in r.node.names[:_NAMED]])
    can = total - cannot_count
    j.add("NODES_CAN_RUN", "info",
          f"{can} of the {total} node(s) the pod can be scheduled on can run {what}"
          + (f" ({unchecked} without GPU Feature Discovery or Node Feature Discovery labels, not checked)" if unchecked else ""),
          can=can, candidates=total, unchecked=unchecked)


def _codes(groups) -> list[str]:
    return list(dict.fromkeys(code for reasons in groups for code, _ in reasons))


def _names(node: NodeFacts) -> str:
    shown = listing(node.names[:_NAMED])
    more = node.count - min(len(node.names), _NAMED)
    return shown + (f" and {more} more" if more > 0 else "")


def _reasons(results: list[_NodeResult]) -> str:
    return "; ".join(f"{_names(r.node)} ({', '.join(why for _, why in r.fatal)})" for r in results[:6])


def _per_code(results: list[_NodeResult], code: str, warnings: bool = False) -> str:
    parts = []
    for r in results[:6]:
        why = next(w for c, w in (r.warnings if warnings else r.fatal) if c == code)
        parts.append(f"node {_names(r.node)}: {why}")
    return "; ".join(parts)
