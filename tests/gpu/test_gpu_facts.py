"""The GPU facts as kept (tfguard/compat/data/gpu.json, ngc_tensorflow.json), and the probe's copy of them."""

from __future__ import annotations

import pytest

from tfguard.compat import gpu_facts as G
from tfguard.compat import releases
from tfguard.probes import probe


def test_cuda_11_0_and_11_1_ga_drivers():
    assert G.toolkit_driver("11.0") == "450.51.05" and G.toolkit_driver("11.1.0") == "455.23"


def test_minor_version_compatibility_floors():
    assert G.minor_version_floor("12.5") == "525.60.13" and G.minor_version_floor("11.8") == "450.80.02"
    assert G.minor_version_floor("10.1") == "418.39"  # before CUDA 11: the toolkit's own driver
    assert releases.min_driver_for_cuda_major(12) == "525.60.13"


@pytest.mark.parametrize("cuda, driver, ok, below", [
    ("12.2", "535.54.03", True, False), ("12.5", "525.60.13", True, True), ("12.5", "525.60.12", False, False),
    ("12.2", "470.82.01", False, False), ("11.2", "450.80.02", True, True), ("11.8", "450.51.06", False, False),
])
def test_driver_support(cuda, driver, ok, below):
    support = G.driver_support(cuda, driver)
    assert (support.ok, support.below_toolkit) == (ok, below)


def test_ptx_isa_to_driver():
    assert G.ptx_cuda("8.1") == "12.1" and G.ptx_min_driver("8.1") == "530.30.02"
    assert G.ptx_cuda("8.6") == "12.7"  # no CUDA 12.6 ISA bump: 12.6 kept 8.5
    assert G.ptx_min_driver("9.9") is None


def measured(series):
    build = G.gpu_build(series)
    if build is None or not build.measured:
        pytest.skip(f"{series} not measured in gpu.json (tools/gen_gpu_facts.py measures it from the wheel)")
    return build


def test_2_15_sass_and_ptx_as_measured_from_the_wheel():
    b = measured("2.15.1")
    assert b.sass == (50, 60, 70, 75, 80) and b.ptx == (80,) and b.ptx_isa == "8.1" and b.cuda == "12.2"
    assert b.min_compute_capability == "5.0"


@pytest.mark.parametrize("series", ["2.17.1", "2.21.0"])
def test_2_17_and_2_21_sass_and_ptx(series):
    b = measured(series)
    assert set(b.sass) >= {60, 70, 80, 89} and 90 in b.ptx and b.min_compute_capability == "6.0"


def test_the_and_cuda_pins_of_2_20_are_ranges():
    b = measured("2.20.0")
    assert b.and_cuda_range and b.cuda == "12.5"


def test_release_cuda_versions_come_from_the_gpu_facts():
    assert releases.release("2.15.1").cuda_version == G.gpu_build("2.15").cuda == "12.2"
    assert releases.release("2.21").cuda_version == "12.5"


@pytest.mark.parametrize("tag, tf2, tf1, cuda", [
    ("20.03", "2.1.0", "1.15.2", "10.2.89"), ("20.10", "2.3.1", "1.15.4", "11.1.0"), ("21.02", "2.4.0", "1.15.5", "11.2.0"),
    ("23.01", "2.11.0", "1.15.5", "12.0.1"), ("23.03", "2.11.0", "1.15.5", "12.1.0"), ("23.04", "2.12.0", None, "12.1.0"),
])
def test_ngc_tags(tag, tf2, tf1, cuda):
    c = G.ngc_container(tag)
    assert (c.tf2, c.tf1, c.cuda) == (tf2, tf1, cuda) and c.source.endswith(f"rel-{tag.replace('.', '-')}.html")


def test_the_probe_keeps_the_same_driver_tables():
    assert probe.CUDA_DRIVERS == G.cuda_toolkit_drivers()
    assert probe.CUDA_DRIVER_FLOORS == G.minor_version_floors()
    assert probe.driver_floor("12.5") == G.minor_version_floor("12.5")


@pytest.mark.parametrize("cc, expected", [("5.0", "native"), ("8.6", "native"), ("8.9", "native"), ("9.0", "jit"),
                                          ("12.0", "jit"), ("3.7", "unsupported"), ("x", None)])
def test_compute_support_of_2_15(cc, expected):
    assert G.compute_support(measured("2.15"), cc) == expected
