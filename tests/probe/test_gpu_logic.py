"""The GPU check's reasoning, fed fake /dev and /proc/driver files.

This machine has no GPU (and no GPU machine was lent to this session), so the real-hardware
path (TensorFlow listing a GPU) is covered by gpu_check's pure reasoning here and by the probe
run on this machine in test_broken_stacks.py (GPU required, none present).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tfguard.probes.probe import cuda_supported_by_driver, gpu_check, gpu_environment

PROC_535 = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n" \
           "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n"
PROC_OPEN_470 = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  470.42.01  Release Build  (dvs-builder@U16)\n"
CUDA_BUILD_123 = {"is_cuda_build": True, "cuda_version": "12.3"}
CPU_BUILD = {"is_cuda_build": False, "cuda_version": None}


def fake_node(tmp_path: Path, *device_nodes: str, proc: str | None = None) -> dict:
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in device_nodes:
        (dev / name).write_text("")
    version = tmp_path / "version"
    if proc is not None:
        version.write_text(proc)
    return gpu_environment(dev_dir=str(dev), proc_version=str(version), libcuda_names=(), nvidia_smi=None)


def test_reads_device_nodes_and_the_driver_version(tmp_path):
    env = fake_node(tmp_path, "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", proc=PROC_535)
    assert env["device_nodes"] == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"]
    assert env["driver_version"] == "535.104.05"
    assert env["driver_cuda_version_estimated"] == "12.2"  # libcuda not loadable here: from the table


def test_reads_the_open_kernel_module_line(tmp_path):
    assert fake_node(tmp_path, proc=PROC_OPEN_470)["driver_version"] == "470.42.01"


def test_no_libcuda_on_this_machine_is_reported():
    env = gpu_environment(dev_dir="/nonexistent", proc_version="/nonexistent", nvidia_smi=None)
    assert "libcuda" not in env and "libcuda.so" in env["libcuda_error"]


def test_tf_sees_gpus_passes(tmp_path):
    env = fake_node(tmp_path, "nvidia0", "nvidiactl", proc=PROC_535)
    env["libcuda"], env["driver_cuda_version"] = "libcuda.so.1", "12.2"
    check = gpu_check("required", env, {"is_cuda_build": True, "cuda_version": "12.2"}, tf_gpus=2)
    assert (check["status"], check["code"]) == ("pass", "PROBE_GPU_OK")


def test_no_device_node(tmp_path):
    env = fake_node(tmp_path, "nvidiactl")  # the control node alone is no GPU
    check = gpu_check("required", env, CUDA_BUILD_123, tf_gpus=0)
    assert (check["status"], check["code"]) == ("fail", "PROBE_GPU_NO_DEVICE")
    assert "found only nvidiactl" in check["message"]


def test_no_driver_library(tmp_path):
    env = fake_node(tmp_path, "nvidia0", "nvidiactl", proc=PROC_535)
    env["libcuda_error"] = "libcuda.so.1: cannot open shared object file: No such file or directory"
    check = gpu_check("required", env, CUDA_BUILD_123, tf_gpus=0)
    assert (check["status"], check["code"]) == ("fail", "PROBE_GPU_NO_DRIVER_LIBRARY")
    assert "libcuda.so.1" in check["message"]


def test_a_driver_of_an_older_minor_of_the_same_major_is_not_too_old(tmp_path):
    # CUDA minor-version compatibility: a 12.2 driver runs a CUDA 12.3 build (TF sees the GPU).
    env = fake_node(tmp_path, "nvidia0", "nvidiactl", proc=PROC_535)
    env["libcuda"], env["driver_cuda_version"] = "libcuda.so.1", "12.2"
    check = gpu_check("required", env, CUDA_BUILD_123, tf_gpus=0)
    assert check["code"] == "PROBE_GPU_NOT_VISIBLE"


def test_driver_too_old_for_the_builds_cuda_major(tmp_path):
    env = fake_node(tmp_path, "nvidia0", "nvidiactl", proc=PROC_OPEN_470)
    env["libcuda"], env["driver_cuda_version"] = "libcuda.so.1", "11.4"
    check = gpu_check("required", env, CUDA_BUILD_123, tf_gpus=0)
    assert (check["status"], check["code"]) == ("fail", "PROBE_GPU_DRIVER_TOO_OLD")
    assert "470.42.01 (supports CUDA up to 11.4) is older than 525.60.13" in check["message"]
    assert "CUDA 12.3" in check["message"]


def test_driver_too_old_from_proc_alone_when_libcuda_cannot_say(tmp_path):
    env = fake_node(tmp_path, "nvidia0", proc=PROC_OPEN_470)
    env["libcuda"] = "libcuda.so.1"  # loaded, but cuDriverGetVersion gave nothing
    check = gpu_check("required", env, {"is_cuda_build": True, "cuda_version": "12.0"}, tf_gpus=0)
    assert check["code"] == "PROBE_GPU_DRIVER_TOO_OLD" and "up to 11.4" in check["message"]


def test_cpu_only_build(tmp_path):
    env = fake_node(tmp_path, "nvidia0", "nvidiactl", proc=PROC_535)
    env["libcuda"], env["driver_cuda_version"] = "libcuda.so.1", "12.2"
    check = gpu_check("required", env, CPU_BUILD, tf_gpus=0)
    assert (check["status"], check["code"]) == ("fail", "PROBE_GPU_CPU_ONLY_BUILD")


def test_everything_present_but_invisible(tmp_path):
    env = fake_node(tmp_path, "nvidia0", proc=PROC_535)
    env["libcuda"], env["driver_cuda_version"] = "libcuda.so.1", "12.4"
    check = gpu_check("required", env, CUDA_BUILD_123, tf_gpus=0)
    assert check["code"] == "PROBE_GPU_NOT_VISIBLE"


def test_every_reason_is_listed_first_one_gives_the_code(tmp_path):
    env = fake_node(tmp_path)
    check = gpu_check("required", env, CPU_BUILD, tf_gpus=0)
    assert [r["code"] for r in check["details"]["reasons"]] == [
        "PROBE_GPU_NO_DEVICE", "PROBE_GPU_CPU_ONLY_BUILD", "PROBE_GPU_NO_DRIVER_LIBRARY"]
    assert check["code"] == "PROBE_GPU_NO_DEVICE"


@pytest.mark.parametrize("mode, status", [("required", "fail"), ("optional", "warn")])
def test_optional_turns_failures_into_warnings(tmp_path, mode, status):
    env = fake_node(tmp_path, "nvidia0", proc=PROC_535)
    env["libcuda"] = "libcuda.so.1"
    assert gpu_check(mode, env, CPU_BUILD, tf_gpus=0)["status"] == status


def test_optional_without_a_gpu_runs_on_cpu_as_asked(tmp_path):
    check = gpu_check("optional", fake_node(tmp_path), CPU_BUILD, tf_gpus=0)
    assert (check["status"], check["code"]) == ("skip", "PROBE_GPU_NO_DEVICE")


def test_none_skips_and_a_listing_error_is_its_own_code(tmp_path):
    assert gpu_check("none", {})["code"] == "PROBE_GPU_NOT_CHECKED"
    check = gpu_check("required", fake_node(tmp_path), CUDA_BUILD_123, error="TensorFlow hung while listing GPUs")
    assert (check["status"], check["code"]) == ("fail", "PROBE_GPU_CHECK_FAILED")


@pytest.mark.parametrize("driver, cuda", [("535.104.05", "12.2"), ("525.60.13", "12.0"), ("450.51.05", "11.0"),
                                          ("450.36.06", "10.2"), ("455.23", "11.1"),
                                          ("570.86.10", "12.8"), ("390.0", None)])
def test_driver_to_cuda_table(driver, cuda):
    assert cuda_supported_by_driver(driver) == cuda
