"""Regenerate the GPU facts (tfguard/compat/data/gpu.json, ngc_tensorflow.json) from GPU wheels and NVIDIA's notes.

    .venv/bin/python tools/gen_gpu_facts.py             # measure what is not cached, then write the data
    .venv/bin/python tools/gen_gpu_facts.py --only 2.21.0
    .venv/bin/python tools/gen_gpu_facts.py --write-only   # from the cached measurements alone

Measured: the Linux x86_64 `tensorflow` wheel of each release in GPU_WHEELS is downloaded (one at
a time: they are 400-700 MB), every shared object in it is unpacked in turn, and the `.nv_fatbin`
section is read (tools/fatbin.py): the SASS targets (sm_XX cubins), the PTX targets (compute_XX)
and the PTX ISA version of that PTX. The wheel's `and-cuda` requirements come from its METADATA.
The wheel is deleted after; the measurement is kept under $TFGUARD_CACHE/gpu-facts/, keyed by
the version and the hash of the reader, so a rerun downloads nothing. `make test` never runs this.

Documented (tables below, the source named on every row): the GA driver of each CUDA toolkit and
the minor-version-compatibility floor of each CUDA major (NVIDIA CUDA Toolkit Release Notes, CUDA
Compatibility guide), the CUDA that introduced each PTX ISA (PTX ISA release history), the CUDA and
cuDNN of TF's tested Linux GPU builds, and each NGC TensorFlow container's TensorFlow, CUDA, driver
requirement and minimum compute capability (NGC TensorFlow release notes, per tag).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fatbin  # noqa: E402

DATA_DIR = ROOT / "tfguard" / "compat" / "data"

# The wheel measured per series (the newest patch), and the interpreter tag its wheel is fetched for.
GPU_WHEELS = {
    "2.4": ("2.4.4", "3.8"), "2.5": ("2.5.3", "3.8"), "2.6": ("2.6.5", "3.8"), "2.7": ("2.7.4", "3.8"),
    "2.8": ("2.8.4", "3.8"), "2.9": ("2.9.3", "3.8"), "2.10": ("2.10.1", "3.8"), "2.11": ("2.11.1", "3.8"),
    "2.12": ("2.12.1", "3.11"), "2.13": ("2.13.1", "3.11"), "2.14": ("2.14.1", "3.11"),
    "2.15": ("2.15.1", "3.11"), "2.16": ("2.16.2", "3.11"), "2.17": ("2.17.1", "3.11"),
    "2.18": ("2.18.1", "3.11"), "2.19": ("2.19.1", "3.11"), "2.20": ("2.20.0", "3.11"),
    "2.21": ("2.21.0", "3.11"),
}

RELEASE_NOTES = "NVIDIA CUDA Toolkit Release Notes, 'CUDA Toolkit and Corresponding Driver Versions' (Linux x86_64)"
COMPAT_GUIDE = "NVIDIA CUDA Compatibility guide, 'Minor Version Compatibility'"
PTX_HISTORY = "NVIDIA PTX ISA, 'Release Notes' > PTX ISA release history (as cuda-python's _ptx_utils maps it)"
TF_TESTED = "TensorFlow 'Build from source' > 'Tested build configurations', Linux GPU"

# (CUDA minor, GA release, its minimum Linux x86_64 driver). The GA row of each minor: an update
# release of the same minor needs no newer driver under minor-version compatibility.
CUDA_TOOLKITS = (
    ("10.0", "10.0.130", "410.48"), ("10.1", "10.1.105", "418.39"), ("10.2", "10.2.89", "440.33"),
    ("11.0", "11.0.2 GA", "450.51.05"), ("11.1", "11.1.0", "455.23"), ("11.2", "11.2.0 GA", "460.27.03"),
    ("11.3", "11.3.0 GA", "465.19.01"), ("11.4", "11.4.0 GA", "470.42.01"), ("11.5", "11.5.0 GA", "495.29.05"),
    ("11.6", "11.6.0 GA", "510.39.01"), ("11.7", "11.7 GA", "515.43.04"), ("11.8", "11.8 GA", "520.61.05"),
    ("12.0", "12.0 GA", "525.60.13"), ("12.1", "12.1 GA", "530.30.02"), ("12.2", "12.2 GA", "535.54.03"),
    ("12.3", "12.3 GA", "545.23.06"), ("12.4", "12.4 GA", "550.54.14"), ("12.5", "12.5 GA", "555.42.02"),
    ("12.6", "12.6 GA", "560.28.03"), ("12.8", "12.8 GA", "570.26"), ("12.9", "12.9 GA", "575.51.03"),
    ("13.0", "13.0 GA", "580.65.06"),
)

# CUDA major -> the oldest driver that runs any CUDA major.x application (minor-version
# compatibility, CUDA 11 onwards). Below it, or a driver of an older major, TF sees no GPU.
MINOR_VERSION_FLOOR = {"11": "450.80.02", "12": "525.60.13", "13": "580.65.06"}

# PTX ISA version -> the CUDA release that introduced it: a driver older than that CUDA's GA driver
# cannot JIT-compile that PTX (CUDA_ERROR_UNSUPPORTED_PTX_VERSION).
PTX_ISA = {
    "6.3": "10.0", "6.4": "10.1", "6.5": "10.2", "7.0": "11.0", "7.1": "11.1", "7.2": "11.2", "7.3": "11.3",
    "7.4": "11.4", "7.5": "11.5", "7.6": "11.6", "7.7": "11.7", "7.8": "11.8", "8.0": "12.0", "8.1": "12.1",
    "8.2": "12.2", "8.3": "12.3", "8.4": "12.4", "8.5": "12.5", "8.6": "12.7", "8.7": "12.8", "8.8": "12.9",
    "9.0": "13.0",
}

# TF's tested Linux GPU build configurations: series -> (CUDA, cuDNN).
TF_TESTED_BUILDS = {
    "1.15": ("10.0", "7.4"), "2.0": ("10.0", "7.4"), "2.1": ("10.1", "7.6"), "2.2": ("10.1", "7.6"),
    "2.3": ("10.1", "7.6"), "2.4": ("11.0", "8.0"), "2.5": ("11.2", "8.1"), "2.6": ("11.2", "8.1"),
    "2.7": ("11.2", "8.1"), "2.8": ("11.2", "8.1"), "2.9": ("11.2", "8.1"), "2.10": ("11.2", "8.1"),
    "2.11": ("11.2", "8.1"), "2.12": ("11.8", "8.6"), "2.13": ("11.8", "8.6"), "2.14": ("11.8", "8.7"),
    "2.15": ("12.2", "8.9"), "2.16": ("12.3", "8.9"), "2.17": ("12.3", "8.9"), "2.18": ("12.5", "9.3"),
    "2.19": ("12.5", "9.3"), "2.20": ("12.5", "9.3"), "2.21": ("12.5", "9.3"),
}
TF_TESTED_NOTE = {
    "2.21": "not in TF's table when measured; the wheel's and-cuda floor (nvidia-cuda-runtime-cu12>=12.5.82) is taken",
    "2.20": "and-cuda pins are ranges (<13.0,>=12.5.82): an install pulls the newest 12.x",
}

NGC_NOTES = "https://docs.nvidia.com/deeplearning/frameworks/tensorflow-release-notes/rel-{tag}.html"
# NGC TensorFlow containers, per monthly tag: (tf2, tf1 or None, CUDA, driver the notes require,
# data-center drivers the forward-compatibility package allows, minimum compute capability, checked).
# `checked`: the row was read again from that tag's release notes when this table was written; the
# others follow the same notes' series (each row names the page to read).
_DC_R450 = ("450.51", "470.57", "510.47")
NGC = {
    "20.01": ("2.0.0", "1.15.2", "10.2.89", "440.33.01", ("396", "384.111", "410", "418.xx", "440.30"), "6.0", False),
    "20.02": ("2.1.0", "1.15.2", "10.2.89", "440.33.01", ("396", "384.111", "410", "418.xx", "440.30"), "6.0", False),
    "20.03": ("2.1.0", "1.15.2", "10.2.89", "440.33.01", ("396", "384.111", "410", "418.xx", "440.30"), "6.0", True),
    "20.06": ("2.2.0", "1.15.2", "11.0.167", "450", ("418.xx", "440.30"), "6.0", True),
    "20.07": ("2.2.0", "1.15.2", "11.0.194", "450.51", ("418.xx", "440.30"), "6.0", False),
    "20.08": ("2.2.0", "1.15.2", "11.0.194", "450.51", ("418.xx", "440.30"), "6.0", False),
    "20.09": ("2.3.0", "1.15.2", "11.0.3", "450.51.06", ("418.xx", "440.30"), "6.0", False),
    "20.10": ("2.3.1", "1.15.4", "11.1.0", "455", ("418.xx", "440.30", "450.xx"), "6.0", True),
    "20.11": ("2.3.1", "1.15.4", "11.1.0", "455", ("418.xx", "440.30", "450.xx"), "6.0", False),
    "20.12": ("2.3.1", "1.15.4", "11.1.1", "455.32", ("418.xx", "440.30", "450.xx"), "6.0", False),
    "21.02": ("2.4.0", "1.15.5", "11.2.0", "460.27.04", ("418.xx", "440.30", "450.xx"), "6.0", False),
    "21.03": ("2.4.0", "1.15.5", "11.2.1", "460.32.03", ("418.xx", "440.30", "450.xx"), "6.0", False),
    "21.04": ("2.4.0", "1.15.5", "11.3.0", "465.19.01", ("418.xx", "440.30", "450.xx", "460.xx"), "6.0", True),
    "21.05": ("2.4.0", "1.15.5", "11.3.0", "465.19.01", ("418.xx", "440.30", "450.xx", "460.xx"), "6.0", True),
    "21.06": ("2.5.0", "1.15.5", "11.3.1", "465.19.01", ("418.xx", "440.30", "450.xx", "460.xx"), "6.0", True),
    "21.07": ("2.5.0", "1.15.5", "11.4.0", "470", ("418.40", "440.33", "450.51", "460.27"), "6.0", False),
    "21.08": ("2.5.0", "1.15.5", "11.4.1", "470", ("418.40", "440.33", "450.51", "460.27"), "6.0", False),
    "21.09": ("2.6.0", "1.15.5", "11.4.2", "470", ("418.40", "440.33", "450.51", "460.73"), "6.0", False),
    "21.10": ("2.6.0", "1.15.5", "11.4.2", "470", ("418.40", "440.33", "450.51", "460.73"), "6.0", False),
    "21.11": ("2.6.2", "1.15.5", "11.5.0", "495", ("418.40", "440.33", "450.51", "460.73", "470.57"), "6.0", False),
    "21.12": ("2.6.2", "1.15.5", "11.5.0", "495", ("418.40", "440.33", "450.51", "460.73", "470.57"), "6.0", False),
    "22.01": ("2.7.0", "1.15.5", "11.6.0", "510", ("450.51", "460.27", "470.57"), "6.0", False),
    "22.02": ("2.7.0", "1.15.5", "11.6.0", "510", ("450.51", "460.27", "470.57"), "6.0", False),
    "22.03": ("2.8.0", "1.15.5", "11.6.1", "510", ("450.51", "460.27", "470.57"), "6.0", False),
    "22.04": ("2.8.0", "1.15.5", "11.6.2", "510", ("450.51", "470.57"), "6.0", False),
    "22.05": ("2.8.0", "1.15.5", "11.7.0", "515", _DC_R450, "6.0", False),
    "22.06": ("2.9.1", "1.15.5", "11.7 Update 1 Preview", "515", _DC_R450, "6.0", True),
    "22.07": ("2.9.1", "1.15.5", "11.7.1", "515", _DC_R450, "6.0", False),
    "22.08": ("2.9.1", "1.15.5", "11.7.1", "515", _DC_R450, "6.0", False),
    "22.09": ("2.9.1", "1.15.5", "11.8.0", "520", _DC_R450 + ("515.65",), "6.0", False),
    "22.10": ("2.10.0", "1.15.5", "11.8.0", "520", _DC_R450 + ("515.65",), "6.0", True),
    "22.11": ("2.10.0", "1.15.5", "11.8.0", "520", _DC_R450 + ("515.65",), "6.0", False),
    "22.12": ("2.10.1", "1.15.5", "11.8.0", "520", _DC_R450 + ("515.65",), "6.0", False),
    "23.01": ("2.11.0", "1.15.5", "12.0.1", "525", _DC_R450 + ("515.65", "525.85"), "6.0", True),
    "23.02": ("2.11.0", "1.15.5", "12.0.1", "525", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.03": ("2.11.0", "1.15.5", "12.1.0", "530", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.04": ("2.12.0", None, "12.1.0", "530", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.05": ("2.12.0", None, "12.1.1", "530", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.06": ("2.12.0", None, "12.1.1", "530", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.07": ("2.12.0", None, "12.1.1", "530", _DC_R450 + ("515.65", "525.85"), "6.0", False),
    "23.08": ("2.13.0", None, "12.2.1", "535", ("450.51", "470.57", "525.85"), "6.0", False),
    "23.09": ("2.13.0", None, "12.2.1", "535", ("450.51", "470.57", "525.85"), "6.0", False),
    "23.10": ("2.13.0", None, "12.2.2", "535", ("450.51", "470.57", "525.85", "535.86"), "6.0", False),
    "23.11": ("2.14.0", None, "12.3.0", "545", ("470.57", "525.85", "535.86"), "6.0", False),
    "23.12": ("2.14.0", None, "12.3.2", "545", ("470.57", "525.85", "535.86"), "6.0", False),
    "24.01": ("2.14.0", None, "12.3.2", "545", ("470.57", "525.85", "535.86"), "6.0", False),
    "24.02": ("2.15.0", None, "12.3.2", "545", ("470.57", "525.85", "535.86"), "6.0", False),
    "24.03": ("2.15.0", None, "12.4.0", "550", ("470.57", "525.85", "535.154", "545.23"), "6.0", False),
    "24.04": ("2.15.0", None, "12.4.1", "550", ("470.57", "525.85", "535.154", "545.23"), "6.0", False),
    "24.05": ("2.15.0", None, "12.4.1", "550", ("470.57", "525.85", "535.154", "545.23"), "6.0", False),
    "24.06": ("2.16.1", None, "12.5.0", "555", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.07": ("2.16.1", None, "12.5.1", "555", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.08": ("2.16.1", None, "12.6.0", "560", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.09": ("2.16.1", None, "12.6.1", "560", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.10": ("2.16.1", None, "12.6.2", "560", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.11": ("2.17.0", None, "12.6.3", "560", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "24.12": ("2.17.0", None, "12.6.3", "560", ("470.57", "525.85", "535.154", "545.23", "550.54"), "6.0", False),
    "25.01": ("2.17.0", None, "12.8.0", "570", ("470.57", "525.85", "535.86", "545.23", "550.54", "560.35"), "7.5", False),
    "25.02": ("2.17.0", None, "12.8.0", "570", ("470.57", "525.85", "535.86", "545.23", "550.54", "560.35"), "7.5", False),
}

SOURCES = {
    "sass_ptx": "measured: the .nv_fatbin section of every shared object in the Linux x86_64 `tensorflow` wheel "
    "(tools/fatbin.py, cross-checked against cuobjdump --list-elf --list-ptx for 2.15.1)",
    "and_cuda": "measured: the Requires-Dist lines with extra == 'and-cuda' in the same wheel's METADATA",
    "cuda_toolkits": RELEASE_NOTES,
    "minor_version_floor": COMPAT_GUIDE,
    "ptx_isa": PTX_HISTORY,
    "tested_builds": TF_TESTED,
    "min_compute_capability": "TensorFlow common_runtime/gpu/gpu_device.cc: a GPU whose compute capability is below "
    "the lowest of the build's compute capabilities is ignored ('Ignoring visible gpu device ... The minimum "
    "required Cuda capability is ...'); the lowest is the lowest measured SASS or PTX target",
    "ngc": "NGC TensorFlow release notes, one page per tag (each row names it)",
}


def cache_root() -> Path:
    from harness.tfenvs import cache_dir

    return cache_dir() / "gpu-facts"


def _reader_hash() -> str:
    return hashlib.sha256((Path(__file__).parent / "fatbin.py").read_bytes()).hexdigest()[:12]


def _download(version: str, python: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", python, "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
           "--platform", "manylinux_2_27_x86_64",  # 2.21 ships only manylinux_2_27 wheels
           f"tensorflow=={version}", "-d", str(into)]
    subprocess.run(cmd, check=True, timeout=3600)
    wheels = sorted(into.glob(f"tensorflow-{version}-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip downloaded no tensorflow {version} wheel into {into}")
    return wheels[0]


def _and_cuda(metadata: str) -> dict[str, str]:
    pins = {}
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:") and "and-cuda" in line:
            requirement = line.split(":", 1)[1].split(";", 1)[0].strip()
            match = re.match(r"([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*\(?([^()]*)\)?", requirement)
            if match:
                pins[match.group(1).lower()] = ",".join(sorted(s.strip() for s in match.group(2).split(",") if s.strip()))
    return dict(sorted(pins.items()))


def measure_wheel(version: str, python: str) -> dict:
    """Download the wheel, read every shared object's fat binary, delete it all again."""
    work = Path(tempfile.mkdtemp(prefix=f"tfguard-gpu-{version}-"))
    try:
        wheel = _download(version, python, work)
        files: dict[str, dict] = {}
        with zipfile.ZipFile(wheel) as z:
            metadata = next((z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA")), "")
            for info in z.infolist():
                if not re.search(r"\.so(\.\d+)*$", info.filename) or info.file_size < 1 << 20:
                    continue
                target = work / "so"
                with z.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
                found = fatbin.read(target)
                target.unlink()
                if found["entries"]:
                    files[info.filename] = found
        return {
            "version": version,
            "wheel": wheel.name,
            "wheel_bytes": wheel.stat().st_size,
            "reader": _reader_hash(),
            "files": files,
            "and_cuda": _and_cuda(metadata),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measured(version: str, python: str, fresh: bool) -> tuple[dict, bool]:
    path = cache_root() / f"{version}.json"
    if path.exists() and not fresh:
        cached = json.loads(path.read_text())
        if cached.get("reader") == _reader_hash():
            return cached, True
    result = measure_wheel(version, python)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result, False


def _arch(target: str) -> int:
    return int(re.sub(r"\D", "", target))


def _cc(arch: int) -> str:
    return f"{arch // 10}.{arch % 10}"


def release_entry(series: str, m: dict | None) -> dict:
    cuda, cudnn = TF_TESTED_BUILDS.get(series, (None, None))
    entry: dict = {"cuda": cuda, "cudnn": cudnn, "cuda_source": TF_TESTED}
    if series in TF_TESTED_NOTE:
        entry["note"] = TF_TESTED_NOTE[series]
    if m is None:
        entry["measured"] = False
        return entry
    sass = sorted({t for f in m["files"].values() for t in f["sass"]}, key=_arch)
    ptx = sorted({t for f in m["files"].values() for t in f["ptx"]}, key=_arch)
    isa = sorted({v for f in m["files"].values() for v in f["ptx_isa"]}, key=lambda v: tuple(map(int, v.split("."))))
    lowest = min((_arch(t) for t in sass + ptx), default=None)
    pins = m["and_cuda"]
    runtime = pins.get("nvidia-cuda-runtime-cu12") or pins.get("nvidia-cuda-runtime-cu11")
    entry.update({
        "measured": True,
        "wheel": m["wheel"],
        "sass": sass,
        "ptx": ptx,
        "ptx_isa": isa[-1] if isa else None,  # the newest: what a JIT must accept
        "min_compute_capability": _cc(lowest) if lowest else None,
        "files": {name: {k: f[k] for k in ("sass", "ptx", "ptx_isa", "entries")} for name, f in sorted(m["files"].items())},
        "and_cuda": pins,
        "and_cuda_range": bool(runtime) and "<" in runtime,
    })
    return entry


def ngc_entry(tag: str) -> dict:
    tf2, tf1, cuda, driver, datacenter, min_cc, checked = NGC[tag]
    return {
        "tf2": tf2, "tf1": tf1, "cuda": cuda, "driver": driver, "datacenter_drivers": list(datacenter),
        "min_compute_capability": min_cc, "checked": checked, "source": NGC_NOTES.format(tag=tag.replace(".", "-")),
    }


def write(measurements: dict[str, dict], output: Path) -> None:
    stamp = {"generated_by": "tools/gen_gpu_facts.py", "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    series = sorted(TF_TESTED_BUILDS, key=lambda s: tuple(map(int, s.split("."))))
    data = {
        "schema": 1,
        **stamp,
        "sources": SOURCES,
        "cuda_toolkits": {minor: {"ga": ga, "min_driver": driver, "source": RELEASE_NOTES} for minor, ga, driver in CUDA_TOOLKITS},
        "minor_version_floor": {major: {"min_driver": d, "source": COMPAT_GUIDE} for major, d in MINOR_VERSION_FLOOR.items()},
        "ptx_isa": {isa: {"cuda": cuda, "source": PTX_HISTORY} for isa, cuda in PTX_ISA.items()},
        "releases": {s: release_entry(s, measurements.get(s)) for s in series},
    }
    (output / "gpu.json").write_text(json.dumps(data, indent=1) + "\n")
    ngc = {
        "about": "NVIDIA NGC TensorFlow containers (nvidia/tensorflow:YY.MM-tf2-py3 and -tf1-py3), per monthly tag: "
        "the TensorFlow each is based on, its own CUDA, the driver its release notes require, the data-center "
        "drivers its forward-compatibility package allows, and the lowest compute capability it supports. "
        "25.02 is the last TensorFlow container NVIDIA published; 23.03 the last with a -tf1-py3 image.",
        **stamp,
        "source": SOURCES["ngc"],
        "tags": {tag: ngc_entry(tag) for tag in NGC},
    }
    (output / "ngc_tensorflow.json").write_text(json.dumps(ngc, indent=1) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="measure these TF versions again")
    parser.add_argument("--write-only", action="store_true", help="use cached measurements only")
    parser.add_argument("--output", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for s, (version, python) in GPU_WHEELS.items():
        cached = cache_root() / f"{version}.json"
        if args.write_only:
            if cached.exists():
                results[s] = json.loads(cached.read_text())
            continue
        t0 = time.monotonic()
        try:
            results[s], reused = measured(version, python, fresh=version in args.only)
        except Exception as exc:  # a wheel that will not download stays unmeasured
            print(f"TensorFlow {version}: NOT MEASURED: {exc}", flush=True)
            continue
        r = release_entry(s, results[s])
        how = "reused" if reused else f"{time.monotonic() - t0:.0f}s"
        print(f"TensorFlow {version}: SASS {' '.join(r['sass'])}; PTX {' '.join(r['ptx'])} (ISA {r['ptx_isa']}) ({how})", flush=True)
    write(results, args.output)
    print(f"wrote {args.output / 'gpu.json'} and {args.output / 'ngc_tensorflow.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
