"""Node objects with the label sets GPU Feature Discovery and Node Feature Discovery put on real nodes.

Label names and value formats as NVIDIA's k8s-device-plugin documents them for GFD
(docs/gpu-feature-discovery/README.md: `nvidia.com/cuda.driver-version.*`, the deprecated
`nvidia.com/cuda.driver.*`, `nvidia.com/gpu.compute.*`, `nvidia.com/gpu.product`, MIG strategies) and
as NFD names CPUID flags (`feature.node.kubernetes.io/cpu-cpuid.AVX2=true`).
"""

from __future__ import annotations

from typing import Any, Optional

# What NFD labels on an x86 server CPU with AVX-512 (an excerpt of the cpuid flags it sets).
CPUID_SERVER = ("ADX", "AESNI", "AVX", "AVX2", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512F", "AVX512VL",
                "AVX512VNNI", "FMA3", "SHA", "VMX")
CPUID_NO_AVX = ("AESNI", "SSE4", "VMX")  # an old Atom/Celeron-class CPU: no AVX at all


def gfd_labels(driver: str = "535.104.05", cuda: str = "12.2", compute: str = "8.0",
               product: str = "NVIDIA-A100-SXM4-40GB", family: str = "ampere", count: int = 8,
               deprecated: bool = False, mig: Optional[str] = None) -> dict[str, str]:
    major, minor, *rest = driver.split(".")
    cmajor, cminor = cuda.split(".")
    labels = {
        "nvidia.com/gfd.timestamp": "1700000000",
        "nvidia.com/gpu.compute.major": compute.split(".")[0],
        "nvidia.com/gpu.compute.minor": compute.split(".")[1],
        "nvidia.com/gpu.count": str(count),
        "nvidia.com/gpu.family": family,
        "nvidia.com/gpu.machine": "DGX-A100",
        "nvidia.com/gpu.memory": "40960",
        "nvidia.com/gpu.product": product,
        "nvidia.com/gpu.replicas": "1",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/mig.capable": "true" if family in ("ampere", "hopper") else "false",
    }
    if deprecated:  # GFD before v0.8 (and still written alongside, for compatibility)
        labels.update({"nvidia.com/cuda.driver.major": major, "nvidia.com/cuda.driver.minor": minor,
                       "nvidia.com/cuda.driver.rev": rest[0] if rest else "",
                       "nvidia.com/cuda.runtime.major": cmajor, "nvidia.com/cuda.runtime.minor": cminor})
    else:
        labels.update({"nvidia.com/cuda.driver-version.major": major, "nvidia.com/cuda.driver-version.minor": minor,
                       "nvidia.com/cuda.driver-version.revision": rest[0] if rest else "",
                       "nvidia.com/cuda.driver-version.full": driver,
                       "nvidia.com/cuda.runtime-version.major": cmajor, "nvidia.com/cuda.runtime-version.minor": cminor,
                       "nvidia.com/cuda.runtime-version.full": cuda})
    if mig:
        labels["nvidia.com/mig.strategy"] = mig
        if mig == "single":
            labels["nvidia.com/gpu.product"] = f"{product}-MIG-1g.5gb"
            labels["nvidia.com/gpu.count"] = "56"
        else:
            labels["nvidia.com/mig-1g.5gb.count"] = "14"
    return labels


def nfd_labels(flags=CPUID_SERVER, arch: str = "amd64") -> dict[str, str]:
    labels = {f"feature.node.kubernetes.io/cpu-cpuid.{f}": "true" for f in flags}
    labels.update({"feature.node.kubernetes.io/kernel-version.major": "6", "kubernetes.io/arch": arch,
                   "kubernetes.io/os": "linux", "feature.node.kubernetes.io/cpu-model.vendor_id": "Intel"})
    return labels


def node(name: str, labels: Optional[dict[str, str]] = None, gpus: int = 0, taints: Optional[list] = None,
         resources: Optional[dict[str, str]] = None, unschedulable: bool = False) -> dict[str, Any]:
    allocatable = {"cpu": "64", "memory": "512Gi", "pods": "110", **(resources or {})}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": list(taints or [])},
        "status": {"allocatable": allocatable, "capacity": dict(allocatable)},
    }
    if unschedulable:
        body["spec"]["unschedulable"] = True
    return body


def gpu_node(name: str, gpus: int = 8, taints: Optional[list] = None, cpu=CPUID_SERVER, **gfd) -> dict[str, Any]:
    return node(name, {**gfd_labels(**gfd), **nfd_labels(cpu)}, gpus=gpus, taints=taints)
