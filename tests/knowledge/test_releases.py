"""The release facts (tfguard/compat/data/releases.json) and their accessor.

The unmarked tests check the accessor and the shape of the stored data; the tf-marked ones check
the stored data against the two real releases the test suite installs anyway.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tfguard.compat import releases as knowledge
from tfguard.compat.releases import (
    DATA_FILE,
    first_release_with_op,
    min_driver_for_cuda,
    min_driver_for_cuda_major,
    release,
    releases,
)
from harness.tfenvs import NEW_TF, OLD_TF, tf_python


@pytest.mark.parametrize("version", ["2.15.1", "2.15", "2.15.0", "v2.15.0-rc1", "2.15.0-gpu", " 2.15.1 "])
def test_any_spelling_of_a_version_finds_its_series(version):
    found = release(version)
    assert found is not None and found.series == "2.15" and found.wheel_version == "2.15.1"


@pytest.mark.parametrize("version", ["1.15.0", "3.0", "2.99.0", "", "latest", "two.fifteen", "2", None])
def test_unknown_versions_are_none(version):
    assert release(version) is None


def test_releases_are_oldest_first_and_unique():
    series = [r.version_tuple for r in releases()]
    assert series == sorted(series) and len(series) == len(set(series))


def test_the_suite_releases_are_measured():
    for version in (OLD_TF, NEW_TF):
        r = release(version)
        assert r.measured and r.wheel_version == version
        assert r.ops and r.graph_def_version and r.python_tags and "numpy" in r.requires
        assert r.ops_without_cpu_kernel < r.ops


def test_releases_before_2_12_have_version_level_facts_only():
    old = [r for r in releases() if r.version_tuple < (2, 12)]
    assert old, "2.4-2.11 are kept with version-level facts"
    for r in old:
        assert not r.measured and r.wheel_version is None and not r.ops and not r.op_attrs
        assert r.keras_major == 2 and r.cuda_version and r.cudnn_version


def test_tf_keras_is_keras_2_up_to_2_15_and_keras_3_from_2_16():
    for r in releases():
        if r.keras_major is not None:
            assert r.keras_major == (2 if r.version_tuple <= (2, 15) else 3), r.series


def test_first_release_with_an_op_added_after_the_first_measured_release():
    series = first_release_with_op("DatasetFingerprint")
    assert series is not None
    assert release(OLD_TF).version_tuple < release(series).version_tuple <= release(NEW_TF).version_tuple
    measured = [r for r in releases() if r.measured]
    before = [r for r in measured if r.version_tuple < release(series).version_tuple]
    assert all("DatasetFingerprint" not in r.ops for r in before)
    assert "DatasetFingerprint" in release(series).ops


def test_first_release_with_an_old_op_is_the_first_measured_release_and_unknown_ops_have_none():
    first_measured = next(r for r in releases() if r.measured)
    assert first_release_with_op("MatMul") == first_measured.series
    assert first_release_with_op("NoSuchOpAnywhere") is None


def test_op_attrs_follow_the_registry():
    old, new = release(OLD_TF), release(NEW_TF)
    assert set(old.op_attrs) == old.ops
    assert {"T", "transpose_a", "transpose_b"} <= old.op_attrs["MatMul"]
    # GatherNd grew an attr between the two: a 2.20 NodeDef setting it is not valid for 2.15.
    assert "bad_indices_policy" in new.op_attrs["GatherNd"] - old.op_attrs["GatherNd"]


def test_cuda_drivers():
    assert min_driver_for_cuda("12.2") == "535.54.03"
    assert min_driver_for_cuda("12.2.140") == "535.54.03"
    assert min_driver_for_cuda("11.8") == "520.61.05"
    assert min_driver_for_cuda("99.1") is None and min_driver_for_cuda("cuda") is None
    assert min_driver_for_cuda_major(12) == "525.60.13"
    for r in releases():
        if r.cuda_version:
            assert min_driver_for_cuda(r.cuda_version), f"no driver for CUDA {r.cuda_version} ({r.series})"


def test_data_file_is_small_and_names_its_sources():
    assert DATA_FILE.stat().st_size < 500 * 1024
    sources = knowledge.sources()
    assert {"measured", "gpu_builds", "cuda_drivers", "unmeasured"} <= set(sources)


# Runs inside a real TF venv: what the release registers, to compare with the stored data.
_OBSERVE = r"""
import json, sys
import tensorflow as tf
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c
buf = c.TF_GetAllOpList()
ops = op_def_pb2.OpList()
ops.ParseFromString(c.TF_GetBuffer(buf))
package = tf.keras.Model.__module__.split(".")[0]
print(json.dumps({
    "graph_def_version": tf.version.GRAPH_DEF_VERSION,
    "min_consumer": tf.version.GRAPH_DEF_VERSION_MIN_CONSUMER,
    "min_producer": tf.version.GRAPH_DEF_VERSION_MIN_PRODUCER,
    "ops": {op.name: sorted(a.name for a in op.attr) for op in ops.op},
    "keras_major": int(sys.modules[package].__version__.split(".")[0]),
}))
"""


@pytest.mark.tf
@pytest.mark.parametrize("version", [OLD_TF, NEW_TF])
def test_stored_facts_match_the_real_release(version):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [str(tf_python(version)), "-c", _OBSERVE], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    real = json.loads(done.stdout.strip().splitlines()[-1])
    stored = release(version)
    assert stored.graph_def_version == real["graph_def_version"]
    assert stored.graph_def_min_consumer == real["min_consumer"]
    assert stored.graph_def_min_producer == real["min_producer"]
    assert stored.keras_major == real["keras_major"]
    assert stored.ops == set(real["ops"])
    assert {op: set(attrs) for op, attrs in stored.op_attrs.items()} == {
        op: set(attrs) for op, attrs in real["ops"].items()
    }


def test_newest_op_release_is_the_release_that_first_registered_the_newest_op():
    from tfguard.compat.releases import newest_op_release

    assert newest_op_release(["MatMul", "DatasetFingerprint"]) == "2.16"
    assert newest_op_release(["MatMul"]) == "2.12"  # as old as the oldest measured release
    assert newest_op_release(["NoSuchOpAnywhere"]) is None
