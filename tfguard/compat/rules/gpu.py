"""GPUs: a GPU request against the image's build, and the node's driver against its CUDA."""

from __future__ import annotations

from tfguard.compat import releases
from tfguard.compat.judgement import Judgement, version_key


def build_and_driver(j: Judgement) -> None:
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
    cuda = stack.cuda_version or (j.release.cuda_version if j.release is not None else None)
    if not (cuda and stack.driver_version):
        return
    needed = releases.min_driver_for_cuda(cuda)
    have = version_key(stack.driver_version)
    if needed and have and have < version_key(needed):
        j.add(
            "CUDA_DRIVER_TOO_OLD", severity,
            f"{j.runtime_label} uses CUDA {cuda}, which needs NVIDIA driver {needed} or newer; "
            f"the node has {stack.driver_version}, so TensorFlow sees no GPU for the {j.model_label}",
            cuda=cuda, driver=stack.driver_version, min_driver=needed,
        )
