"""Runs INSIDE a throwaway TensorFlow venv (never in the dev venv): prints one JSON object with
what this TensorFlow release registers and declares. Used by tools/gen_knowledge.py."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from importlib import metadata

import tensorflow as tf
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c_api
from tensorflow.python.framework import kernels


def op_list():
    buf = c_api.TF_GetAllOpList()
    try:
        data = c_api.TF_GetBuffer(buf)
    finally:
        c_api.TF_DeleteBuffer(buf)
    ops = op_def_pb2.OpList()
    ops.ParseFromString(data)
    return {op.name: sorted(a.name for a in op.attr) for op in ops.op}


def cpu_kernel_ops():
    # DEFAULT-device kernels (NoOp, Const, AddV2, Assert, ...) run on the CPU as well.
    return sorted(
        {k.op for k in kernels.get_all_registered_kernels().kernel if k.device_type in ("CPU", "DEFAULT")}
    )


def keras_facts():
    out = {"keras_version": None, "tf_keras_version": None, "tf_keras_major": None}
    for dist, key in (("keras", "keras_version"), ("tf-keras", "tf_keras_version"), ("tf_keras", "tf_keras_version")):
        try:
            out[key] = out[key] or metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        # What `tf.keras` really is: the package its Model class comes from (keras or tf_keras).
        package = tf.keras.Model.__module__.split(".")[0]
        version = getattr(sys.modules[package], "__version__", None)
        out["tf_keras_package"] = package
        out["tf_keras_resolves_to"] = version
        out["tf_keras_major"] = int(str(version).split(".")[0]) if version else None
    except Exception as exc:  # a release whose tf.keras cannot import says so
        out["tf_keras_error"] = f"{type(exc).__name__}: {exc}"
    return out


def wheel_facts():
    dist = metadata.distribution("tensorflow-cpu")
    wheel = dist.read_text("WHEEL") or ""
    tags = sorted(line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:"))
    return {
        "name": dist.metadata["Name"],
        "version": dist.version,
        "requires_python": dist.metadata.get("Requires-Python"),
        "requires_dist": list(dist.requires or []),
        "wheel_tags": tags,
    }


ops = op_list()
result = {
    "tf_version": tf.version.VERSION,
    "tf_git_version": tf.version.GIT_VERSION,
    "graph_def_version": tf.version.GRAPH_DEF_VERSION,
    "graph_def_min_consumer": tf.version.GRAPH_DEF_VERSION_MIN_CONSUMER,
    "graph_def_min_producer": tf.version.GRAPH_DEF_VERSION_MIN_PRODUCER,
    "python": "%d.%d.%d" % sys.version_info[:3],
    "ops": ops,
    "cpu_kernel_ops": cpu_kernel_ops(),
    "wheel": wheel_facts(),
    "installed": {d.metadata["Name"].lower(): d.version for d in metadata.distributions()},
}
result.update(keras_facts())
json.dump(result, sys.stdout, sort_keys=True)
