"""What a TensorFlow GPU build needs from a node: the one place to ask (data/gpu.json, data/ngc_tensorflow.json).

    build = gpu_build("2.15.1")            # SASS sm_50..sm_80, PTX compute_80 (ISA 8.1), CUDA 12.2
    driver_support("12.2", "525.60.13")    # DriverSupport(ok=True, below_toolkit=True, ...)
    compute_support(build, "9.0")          # "jit": no sm_9x SASS, PTX compute_80 is compiled at load
    ptx_min_driver("8.1")                  # "530.30.02": the GA driver of CUDA 12.1
    ngc_container("23.01")                 # TF 2.11.0 on CUDA 12.0.1, driver 525+, CC 6.0+

The SASS/PTX lists are measured from each release's GPU wheel by tools/gen_gpu_facts.py (which
also writes the documented tables with their sources); see docs/gpu.md for the rules built on them.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard.records import record


DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
GPU_FILE = os.path.join(DATA_DIR, "gpu.json")
NGC_FILE = os.path.join(DATA_DIR, "ngc_tensorflow.json")

NATIVE, JIT, UNSUPPORTED = "native", "jit", "unsupported"


def version_tuple(text: Optional[str]) -> tuple[int, ...]:
    """(535, 104, 5) from "535.104.05"; () when there are no digits."""
    return tuple(int(p) for p in re.findall(r"\d+", text or "")[:3])


def _cuda_minor(text: Optional[str]) -> Optional[str]:
    parts = version_tuple(text)
    return f"{parts[0]}.{parts[1]}" if len(parts) >= 2 else None


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    with open(path, "rb") as f:
        return json.loads(f.read())


@record(frozen=True)
class GpuBuild:
    series: str
    cuda: Optional[str]  # CUDA of the tested build, "12.2"
    cudnn: Optional[str]
    measured: bool  # SASS/PTX read from the wheel
    sass: tuple[int, ...]  # (50, 60, 70, 75, 80): sm_XX cubins
    ptx: tuple[int, ...]  # (80,): compute_XX PTX
    ptx_isa: Optional[str]  # "8.1": the newest PTX ISA the wheel carries
    min_compute_capability: Optional[str]  # below it TensorFlow ignores the GPU
    and_cuda_range: bool = False  # the and-cuda pins are ranges: an install pulls the newest CUDA of the major

    @property
    def cuda_major(self) -> Optional[str]:
        return self.cuda.split(".")[0] if self.cuda else None


@record(frozen=True)
class DriverSupport:
    ok: bool  # the driver runs this CUDA's build (minor-version compatibility included)
    floor: Optional[str]  # the oldest driver that runs any build of this CUDA major
    toolkit_driver: Optional[str]  # the GA driver of the build's own CUDA minor
    below_toolkit: bool  # ok only through minor-version compatibility: PTX newer than the driver cannot JIT


@record(frozen=True)
class NgcContainer:
    tag: str
    tf2: Optional[str]
    tf1: Optional[str]
    cuda: str
    driver: str
    datacenter_drivers: tuple[str, ...]
    min_compute_capability: Optional[str]
    source: str


def gpu_build(version: Optional[str]) -> Optional[GpuBuild]:
    """The GPU facts of the release series `version` belongs to ("2.15.1", "2.15"); None if unknown."""
    series = _cuda_minor(version)
    if series is None:
        return None
    raw = _load(GPU_FILE)["releases"].get(series)
    if raw is None:
        return None
    arch = lambda targets: tuple(sorted(int(re.sub(r"\D", "", t)) for t in targets or ()))  # noqa: E731
    return GpuBuild(
        series=series, cuda=raw.get("cuda"), cudnn=raw.get("cudnn"), measured=bool(raw.get("measured")),
        sass=arch(raw.get("sass")), ptx=arch(raw.get("ptx")), ptx_isa=raw.get("ptx_isa"),
        min_compute_capability=raw.get("min_compute_capability"), and_cuda_range=bool(raw.get("and_cuda_range")),
    )


def toolkit_driver(cuda: Optional[str]) -> Optional[str]:
    """The GA driver of a CUDA toolkit minor ("12.2" or "12.2.140" -> "535.54.03")."""
    minor = _cuda_minor(cuda)
    row = _load(GPU_FILE)["cuda_toolkits"].get(minor) if minor else None
    return row["min_driver"] if row else None


def minor_version_floor(cuda: Optional[str]) -> Optional[str]:
    """The oldest driver that runs any build of CUDA's major (11 -> 450.80.02, 12 -> 525.60.13).
    Before CUDA 11 there is none: the toolkit's own driver is the floor."""
    parts = version_tuple(cuda)
    if not parts:
        return None
    row = _load(GPU_FILE)["minor_version_floor"].get(str(parts[0]))
    return row["min_driver"] if row else toolkit_driver(cuda)


def newest_cuda_of_driver(driver: Optional[str]) -> Optional[str]:
    """The newest CUDA minor whose GA driver this driver is at least: what it fully supports."""
    have = version_tuple(driver)
    if not have:
        return None
    fits = [m for m, row in _load(GPU_FILE)["cuda_toolkits"].items() if have >= version_tuple(row["min_driver"])]
    return max(fits, key=version_tuple, default=None)


def driver_support(cuda: Optional[str], driver: Optional[str]) -> Optional[DriverSupport]:
    """Whether `driver` runs a build of CUDA `cuda`; None when either is unknown."""
    have, floor, toolkit = version_tuple(driver), minor_version_floor(cuda), toolkit_driver(cuda)
    if not have or floor is None:
        return None
    ok = have >= version_tuple(floor)
    below = ok and toolkit is not None and have < version_tuple(toolkit)
    return DriverSupport(ok=ok, floor=floor, toolkit_driver=toolkit, below_toolkit=below)


def ptx_cuda(isa: Optional[str]) -> Optional[str]:
    """The CUDA release that introduced PTX ISA `isa` ("8.1" -> "12.1")."""
    row = _load(GPU_FILE)["ptx_isa"].get(isa or "")
    return row["cuda"] if row else None


def ptx_min_driver(isa: Optional[str]) -> Optional[str]:
    """The oldest driver that JIT-compiles PTX of ISA `isa`: the GA driver of the CUDA that introduced it."""
    return toolkit_driver(ptx_cuda(isa))


def compute_capability(text: Optional[str]) -> Optional[int]:
    """"8.6" -> 86; None when not a compute capability."""
    parts = version_tuple(text)
    if len(parts) < 2 or not (1 <= parts[0] <= 20 and 0 <= parts[1] <= 9):
        return None
    return parts[0] * 10 + parts[1]


def compute_support(build: GpuBuild, capability: Optional[str]) -> Optional[str]:
    """How a GPU of compute capability `capability` runs this build's kernels: NATIVE (a cubin of the
    same major and no newer minor), JIT (PTX of no newer architecture, compiled by the driver at
    load: minutes), UNSUPPORTED (below the build's lowest target, TF ignores the GPU; or nothing it
    can run). None when not known."""
    cc = compute_capability(capability)
    if cc is None or not build.measured or not (build.sass or build.ptx):
        return None
    if cc < min(build.sass + build.ptx):
        return UNSUPPORTED
    if any(s // 10 == cc // 10 and s <= cc for s in build.sass):
        return NATIVE
    if any(p <= cc for p in build.ptx):
        return JIT
    return UNSUPPORTED


def targets(build: GpuBuild) -> str:
    """"SASS sm_50, sm_60; PTX compute_80" for messages."""
    sass = ", ".join(f"sm_{a}" for a in build.sass) or "none"
    ptx = ", ".join(f"compute_{a}" for a in build.ptx) or "none"
    return f"SASS {sass}; PTX {ptx}"


def ngc_container(tag: Optional[str]) -> Optional[NgcContainer]:
    """An NGC TensorFlow container by its YY.MM release ("23.01")."""
    raw = _load(NGC_FILE)["tags"].get(tag or "")
    if raw is None:
        return None
    return NgcContainer(
        tag=tag or "", tf2=raw.get("tf2"), tf1=raw.get("tf1"), cuda=raw["cuda"], driver=raw["driver"],
        datacenter_drivers=tuple(raw.get("datacenter_drivers") or ()),
        min_compute_capability=raw.get("min_compute_capability"), source=raw["source"],
    )


def cuda_toolkit_drivers() -> dict[str, str]:
    """CUDA minor -> its GA driver, oldest first (the probe keeps a generated copy)."""
    rows = _load(GPU_FILE)["cuda_toolkits"]
    return {m: rows[m]["min_driver"] for m in sorted(rows, key=version_tuple)}


def minor_version_floors() -> dict[str, str]:
    return {major: row["min_driver"] for major, row in _load(GPU_FILE)["minor_version_floor"].items()}
