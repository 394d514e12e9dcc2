"""Runs INSIDE a throwaway TensorFlow venv (never in the dev venv): prints one JSON object with what
this TensorFlow release registers, parses and depends on, asked of the release's own code. Used by
tools/gen_knowledge.py. Must run on every interpreter a release was built for (CPython 3.7 up), and
with every TensorFlow from 1.15 on: no walrus, no dict union, fallbacks for moved modules."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

try:
    from importlib import metadata
except ImportError:  # CPython 3.7: the backport tensorboard/markdown bring, else pkg_resources
    try:
        import importlib_metadata as metadata
    except ImportError:
        metadata = None

import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2, op_def_pb2, types_pb2

# What the loaders parse: every message reachable from these roots is recorded.
PROTO_ROOTS = (
    ("tensorflow.core.protobuf.saved_model_pb2", "SavedModel"),
    ("tensorflow.core.protobuf.trackable_object_graph_pb2", "TrackableObjectGraph"),
    ("tensorflow.core.protobuf.fingerprint_pb2", "FingerprintDef"),
    ("tensorflow.core.protobuf.tensor_bundle_pb2", "BundleHeaderProto"),
    ("tensorflow.core.protobuf.tensor_bundle_pb2", "BundleEntryProto"),
    ("tensorflow.python.training.checkpoint_state_pb2", "CheckpointState"),
    ("tensorflow.core.protobuf.config_pb2", "ConfigProto"),
    ("tensorflow.core.protobuf.config_pb2", "RunOptions"),
    ("tensorflow.core.framework.op_def_pb2", "OpList"),
    ("tensorflow.core.framework.kernel_def_pb2", "KernelList"),
)

# The Python packages the loading code imports, recorded with what the wheel allows and what is installed.
LOADER_PACKAGES = ("packaging", "protobuf", "numpy", "h5py", "keras", "tf-keras", "absl-py", "wrapt",
                   "typing-extensions", "ml-dtypes", "keras-applications", "keras-preprocessing")

_DTYPE_NAMES = {v.number: v.name for v in types_pb2.DataType.DESCRIPTOR.values}


def _dtype(number):
    return _DTYPE_NAMES.get(number, number)


def _float(x):
    return x if math.isfinite(x) else repr(x)


def _text(b):
    return b.decode("utf-8", "backslashreplace") if isinstance(b, bytes) else b


def _shape(shape):
    return None if shape.unknown_rank else [d.size for d in shape.dim]


def attr_value(value):
    """An AttrValue as plain JSON: the attr's type (from its OpDef) says how to read it."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "list":
        lst = value.list
        for field, conv in (("s", _text), ("i", int), ("f", _float), ("b", bool), ("type", _dtype),
                            ("shape", _shape), ("func", lambda f: f.name)):
            items = getattr(lst, field)
            if len(items):
                return [conv(x) for x in items]
        if len(lst.tensor):
            return [{"dtype": _dtype(t.dtype), "shape": _shape(t.tensor_shape)} for t in lst.tensor]
        return []
    if kind == "s":
        return _text(value.s)
    if kind == "i":
        return int(value.i)
    if kind == "f":
        return _float(value.f)
    if kind == "b":
        return bool(value.b)
    if kind == "type":
        return _dtype(value.type)
    if kind == "shape":
        return {"shape": _shape(value.shape)}
    if kind == "tensor":
        return {"tensor": {"dtype": _dtype(value.tensor.dtype), "shape": _shape(value.tensor.tensor_shape)}}
    if kind == "func":
        return {"func": value.func.name}
    if kind == "placeholder":
        return {"placeholder": value.placeholder}
    return {kind: str(getattr(value, kind))}


def _arg(arg):
    out = {"name": arg.name}
    if arg.type:
        out["type"] = _dtype(arg.type)
    for field in ("type_attr", "number_attr", "type_list_attr"):
        if getattr(arg, field):
            out[field] = getattr(arg, field)
    if arg.is_ref:
        out["is_ref"] = True
    return out


def op_def(op):
    """An OpDef without its prose: attrs (type, default, allowed values, minimum), args, flags,
    deprecation."""
    attrs = {}
    for a in op.attr:
        entry = {"type": a.type}
        if a.HasField("default_value"):
            entry["default"] = attr_value(a.default_value)
        if a.HasField("allowed_values"):
            entry["allowed"] = attr_value(a.allowed_values)
        if a.has_minimum:
            entry["minimum"] = int(a.minimum)
        attrs[a.name] = entry
    out = {"attr": attrs, "input_arg": [_arg(a) for a in op.input_arg], "output_arg": [_arg(a) for a in op.output_arg]}
    for flag in ("is_stateful", "is_commutative", "is_aggregate", "allows_uninitialized_input",
                 "is_distributed_communication"):
        if getattr(op, flag, False):
            out[flag] = True
    if len(getattr(op, "control_output", ())):
        out["control_output"] = list(op.control_output)
    if op.HasField("deprecation"):
        out["deprecation"] = {"version": op.deprecation.version, "explanation": op.deprecation.explanation}
    return out


def _c_api():
    try:
        from tensorflow.python.client import pywrap_tf_session as c_api  # 2.2 and later
    except ImportError:
        from tensorflow.python import pywrap_tensorflow as c_api  # 1.15 to 2.1
    return c_api


def op_list():
    c_api = _c_api()
    buf = c_api.TF_GetAllOpList()
    try:
        data = c_api.TF_GetBuffer(buf)
    finally:
        c_api.TF_DeleteBuffer(buf)
    ops = op_def_pb2.OpList()
    ops.ParseFromString(data)
    return {op.name: op_def(op) for op in ops.op}


def kernel_list():
    """op -> device type -> sorted list of kernels, each {"constraints": {attr: [dtypes]}} (plus
    "label"/"priority"/"host_memory_arg" where set)."""
    from tensorflow.core.framework import kernel_def_pb2

    try:
        from tensorflow.python.framework import kernels

        registered = kernels.get_all_registered_kernels()
    except (ImportError, AttributeError):
        c_api = _c_api()
        buf = c_api.TF_GetAllRegisteredKernels()
        registered = kernel_def_pb2.KernelList()
        registered.ParseFromString(c_api.TF_GetBuffer(buf))
    out = {}
    for k in registered.kernel:
        entry = {"constraints": {c.name: sorted(_dtype(t) for t in c.allowed_values.list.type) for c in k.constraint}}
        if k.label:
            entry["label"] = k.label
        if k.priority:
            entry["priority"] = k.priority
        if len(k.host_memory_arg):
            entry["host_memory_arg"] = sorted(k.host_memory_arg)
        out.setdefault(k.op, {}).setdefault(k.device_type, []).append(entry)
    for devices in out.values():
        for device, entries in devices.items():
            unique = {json.dumps(e, sort_keys=True): e for e in entries}
            devices[device] = [unique[key] for key in sorted(unique)]
    return out


def _field(f, oneofs):
    type_names = {
        1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32", 8: "bool",
        9: "string", 10: "group", 11: "message", 12: "bytes", 13: "uint32", 14: "enum", 15: "sfixed32",
        16: "sfixed64", 17: "sint32", 18: "sint64",
    }
    label = getattr(f, "label", None)  # protobuf 6 dropped `label` for is_repeated/is_required
    if label is None:
        label = 3 if f.is_repeated else (2 if getattr(f, "is_required", False) else 1)
    out = {"number": f.number, "type": type_names[f.type], "label": {1: "optional", 2: "required", 3: "repeated"}[label]}
    if f.message_type is not None:
        out["type_name"] = f.message_type.full_name
    if f.enum_type is not None:
        out["type_name"] = f.enum_type.full_name
    if f.containing_oneof is not None:
        out["oneof"] = f.containing_oneof.name
    return out


def proto_schemas():
    """{"messages": {full name: {"fields": {name: {...}}, "oneofs": [...]}}, "enums": {full name:
    {value name: number}}, "roots": {...}, "missing": [...]} for every message reachable from
    PROTO_ROOTS, from this release's own _pb2 descriptors."""
    import importlib

    messages, enums, missing, roots = {}, {}, [], {}

    def walk_enum(e):
        if e.full_name not in enums:
            enums[e.full_name] = {v.name: v.number for v in e.values}

    def walk(m):
        if m.full_name in messages:
            return
        entry = {"fields": {}, "oneofs": [o.name for o in m.oneofs]}
        messages[m.full_name] = entry
        for f in m.fields:
            entry["fields"][f.name] = _field(f, m.oneofs)
        for e in m.enum_types:
            walk_enum(e)
        for f in m.fields:
            if f.message_type is not None:
                walk(f.message_type)
            if f.enum_type is not None:
                walk_enum(f.enum_type)

    for module, name in PROTO_ROOTS:
        try:
            descriptor = getattr(importlib.import_module(module), name).DESCRIPTOR
        except (ImportError, AttributeError) as exc:
            missing.append({"root": name, "module": module, "error": "%s: %s" % (type(exc).__name__, exc)})
            continue
        roots[name] = descriptor.full_name
        walk(descriptor)
    walk_enum(types_pb2.DataType.DESCRIPTOR)
    return {"messages": messages, "enums": enums, "roots": roots, "missing": missing}


def protobuf_runtime():
    import google.protobuf
    from google.protobuf.internal import api_implementation

    return {"version": google.protobuf.__version__, "implementation": api_implementation.Type()}


def _varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _first_entry_of_index(path):
    """Key and value of the first entry of a tensor bundle's .index (TF's leveldb-style table):
    the footer's index block points at the first data block, whose first entry is the header."""
    data = open(path, "rb").read()
    footer = data[-48:]
    _, pos = _varint(footer, 0)  # metaindex handle
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)

    def first(block_offset, block_size):
        block = data[block_offset:block_offset + block_size]
        _shared, p = _varint(block, 0)
        non_shared, p = _varint(block, p)
        value_len, p = _varint(block, p)
        key = block[p:p + non_shared]
        return key, block[p + non_shared:p + non_shared + value_len]

    _, handle = first(index_offset, index_size)
    offset, p = _varint(handle, 0)
    size, _ = _varint(handle, p)
    return first(offset, size)


def checkpoint_format():
    """Write a one-variable checkpoint with this release and read its BundleHeaderProto back."""
    from tensorflow.core.protobuf import tensor_bundle_pb2

    directory = tempfile.mkdtemp(prefix="tfguard-ckpt-")
    prefix = os.path.join(directory, "ckpt")
    from tensorflow.python.ops import gen_io_ops

    if tf.executing_eagerly():
        gen_io_ops.save_v2(prefix, ["v"], [""], [tf.constant([1.0, 2.0])])
    else:  # 1.15 builds graphs by default: run the op in a session
        with tf.Graph().as_default():
            save = gen_io_ops.save_v2(prefix, ["v"], [""], [tf.constant([1.0, 2.0])])
            with tf.compat.v1.Session() as sess:
                sess.run(save)
    key, value = _first_entry_of_index(prefix + ".index")
    header = tensor_bundle_pb2.BundleHeaderProto()
    header.ParseFromString(value)
    return {
        "header_key": key.decode("latin-1"),
        "version_producer": header.version.producer,
        "version_min_consumer": header.version.min_consumer,
        "version_bad_consumers": list(header.version.bad_consumers),
        "endianness": tensor_bundle_pb2.BundleHeaderProto.Endianness.Name(header.endianness),
        "num_shards": header.num_shards,
    }


def _dist(name):
    if metadata is not None:
        try:
            return metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
    import pkg_resources

    try:
        return pkg_resources.get_distribution(name)
    except pkg_resources.DistributionNotFound:
        return None


def installed_distributions():
    if metadata is not None:
        return {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
    import pkg_resources

    return {d.project_name.lower().replace("_", "-"): d.version for d in pkg_resources.working_set}


def wheel_facts():
    for name in ("tensorflow-cpu", "tensorflow"):
        dist = _dist(name)
        if dist is not None:
            break
    if metadata is not None:
        wheel = dist.read_text("WHEEL") or ""
        requires = list(dist.requires or [])
        requires_python = dist.metadata.get("Requires-Python")
        dist_name, version = dist.metadata["Name"], dist.version
    else:
        wheel = dist.get_metadata("WHEEL") if dist.has_metadata("WHEEL") else ""
        pkg_info = dist.get_metadata("METADATA")
        requires = [line.split(":", 1)[1].strip() for line in pkg_info.splitlines() if line.startswith("Requires-Dist:")]
        rp = [line.split(":", 1)[1].strip() for line in pkg_info.splitlines() if line.startswith("Requires-Python:")]
        requires_python = rp[0] if rp else None
        dist_name, version = dist.project_name, dist.version
    tags = sorted(line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:"))
    return {"name": dist_name, "version": version, "requires_python": requires_python,
            "requires_dist": requires, "wheel_tags": tags}


def keras_facts():
    out = {"keras_version": None, "tf_keras_version": None, "tf_keras_major": None}
    installed = installed_distributions()
    out["keras_version"] = installed.get("keras")
    out["tf_keras_version"] = installed.get("tf-keras")
    try:
        # What `tf.keras` really is: the package its Model class comes from (keras, tf_keras, or
        # tensorflow itself before 2.6, whose tf.keras has its own __version__ such as "2.2.4-tf").
        package = tf.keras.Model.__module__.split(".")[0]
        if package == "tensorflow":
            version = getattr(tf.keras, "__version__", None)
            out["tf_keras_package"] = "tensorflow.python.keras"
        else:
            version = getattr(sys.modules[package], "__version__", None)
            out["tf_keras_package"] = package
        out["tf_keras_resolves_to"] = version
        out["tf_keras_major"] = int(str(version).split(".")[0]) if version else None
    except Exception as exc:  # a release whose tf.keras cannot import says so
        out["tf_keras_error"] = "%s: %s" % (type(exc).__name__, exc)
    return out


def guarded(fn):
    try:
        return fn()
    except Exception as exc:  # one fact that cannot be measured must not lose the others
        return {"error": "%s: %s" % (type(exc).__name__, exc)}


def graph_def_versions():
    try:
        v = tf.version
        return v.GRAPH_DEF_VERSION, v.GRAPH_DEF_VERSION_MIN_CONSUMER, v.GRAPH_DEF_VERSION_MIN_PRODUCER
    except AttributeError:
        from tensorflow.python.framework import versions

        return versions.GRAPH_DEF_VERSION, versions.GRAPH_DEF_VERSION_MIN_CONSUMER, versions.GRAPH_DEF_VERSION_MIN_PRODUCER


def main():
    graph_def, min_consumer, min_producer = graph_def_versions()
    kernels = kernel_list()
    result = {
        "tf_version": tf.version.VERSION,
        "tf_git_version": tf.version.GIT_VERSION,
        "graph_def_version": graph_def,
        "graph_def_min_consumer": min_consumer,
        "graph_def_min_producer": min_producer,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "op_defs": op_list(),
        "kernels": kernels,
        "cpu_kernel_ops": sorted(op for op, devices in kernels.items() if "CPU" in devices or "DEFAULT" in devices),
        "protos": proto_schemas(),
        "protobuf_runtime": guarded(protobuf_runtime),
        "checkpoint": guarded(checkpoint_format),
        "wheel": wheel_facts(),
        "installed": installed_distributions(),
        "loader_packages": list(LOADER_PACKAGES),
    }
    result["ops"] = {name: sorted(d["attr"]) for name, d in result["op_defs"].items()}
    result.update(keras_facts())
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
