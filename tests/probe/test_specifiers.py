"""The probe's stdlib PEP 440 / PEP 508 subset, checked against the `packaging` library."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version as PVersion

from tfguard.probes.probe import (
    Version,
    evaluate_marker,
    parse_requirement,
    requirement_violations,
    specifier_set_contains,
)

ENV = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
       "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix", "extra": "",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}

ORDERED = ["1.0.dev0", "1.0a1", "1.0a2.dev1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.0.post1.dev0",
           "1.0.post1", "1.0.1", "1.1", "2!0.1"]


def test_versions_order_like_pep_440():
    keys = [Version(v).key for v in ORDERED]
    assert keys == sorted(keys)
    assert Version("1.0").key == Version("1.0.0").key == Version("v1.0").key


@pytest.mark.parametrize(
    "spec, version, expected",
    [
        ("<2.0.0,>=1.23.5", "1.26.4", True),
        ("<2.0.0,>=1.23.5", "2.1.3", False),
        ("<2.16,>=2.15.0", "3.6.0", False),
        ("~=2.15.0", "2.15.9", True),
        ("~=2.15.0", "2.16.0", False),
        ("~=2.15", "2.99", True),
        ("==2.15.*", "2.15.1", True),
        ("==2.15.*", "2.16.0", False),
        ("!=4.21.0,!=4.21.1,<5.0.0dev,>=3.20.3", "4.25.9", True),
        ("!=4.21.0,!=4.21.1,<5.0.0dev,>=3.20.3", "4.21.1", False),
        ("<2.0", "2.0rc1", False),
        ("<2.0rc2", "2.0rc1", True),
        (">1.0", "1.0.post1", False),
        (">0.dev0", "0.post1", True),
        (">=1.0", "1.0.post1", True),
        ("", "7", True),
        ("==1.0+local", "1.0+local", True),
    ],
)
def test_specifier_sets(spec, version, expected):
    assert specifier_set_contains(spec, version) is expected


VERSIONS = st.builds(
    lambda rel, pre, post, dev: ".".join(map(str, rel)) + pre + post + dev,
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc1", "rc0"]),
    st.sampled_from(["", ".post1", ".post2"]),
    st.sampled_from(["", ".dev0", ".dev3"]),
)
OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="])


@settings(max_examples=600, deadline=None)
@given(OPS, VERSIONS, VERSIONS)
def test_agrees_with_packaging(op, bound, candidate):
    if op == "~=" and "." not in bound.split("a")[0].split("b")[0].split("rc")[0].split(".post")[0].split(".dev")[0]:
        return  # ~= needs two release components; packaging rejects it too
    expected = SpecifierSet(op + bound).contains(PVersion(candidate), prereleases=True)
    assert specifier_set_contains(op + bound, candidate) is expected, (op, bound, candidate)


@pytest.mark.parametrize(
    "marker, expected",
    [
        ('python_version < "3.12"', True),
        ('python_version >= "3.12"', False),
        ('sys_platform == "darwin" and platform_machine == "arm64"', False),
        ('platform_system == "Linux" and (python_version > "3.8" or extra == "x")', True),
        ('extra == "and-cuda"', False),
        ("'linux' in sys_platform", True),
        ('platform_machine not in "aarch64 arm64"', True),
    ],
)
def test_markers(marker, expected):
    assert evaluate_marker(marker, ENV) is expected


@pytest.mark.parametrize("marker", ['python_version <', 'nonsense_var == "1"', '(python_version == "3.11"', '"a" ?? "b"'])
def test_markers_it_cannot_read_raise(marker):
    with pytest.raises(ValueError):
        evaluate_marker(marker, ENV)


def test_parse_requirements_in_both_metadata_spellings():
    assert parse_requirement("numpy (<2.0.0,>=1.23.5)") == ("numpy", "<2.0.0,>=1.23.5", None)
    assert parse_requirement('nvidia-cudnn-cu12==8.9.4.25; extra == "and-cuda"') == (
        "nvidia-cudnn-cu12", "==8.9.4.25", 'extra == "and-cuda"')
    assert parse_requirement("requests[socks]>=2") == ("requests", ">=2", None)
    assert parse_requirement("pkg @ https://example.invalid/pkg.whl") is None


def test_violations_like_pip_check():
    dists = {
        "tensorflow-cpu": ("tensorflow-cpu", "2.15.1", [
            "numpy (<2.0.0,>=1.23.5)", "keras (<2.16,>=2.15.0)", 'nvidia-cudnn-cu12 ; extra == "and-cuda"',
            'tensorflow-io-gcs-filesystem (>=0.23.1) ; python_version < "3.12"', "absl-py (>=1.0.0)",
        ]),
        "numpy": ("numpy", "2.1.3", []),
        "keras": ("keras", "2.15.0", []),
        "tensorflow-io-gcs-filesystem": ("tensorflow-io-gcs-filesystem", "0.37.1", []),
    }
    found = requirement_violations(dists, ENV)
    assert found == [
        {"package": "tensorflow-cpu", "version": "2.15.1", "requires": "numpy (<2.0.0,>=1.23.5)", "installed": "2.1.3"},
        {"package": "tensorflow-cpu", "version": "2.15.1", "requires": "absl-py (>=1.0.0)", "installed": None},
    ]
