"""Runs INSIDE a throwaway venv holding TensorFlow and one custom-op library (never in the dev venv):
prints one JSON object with the ops the library registers, asked of TensorFlow's own op registry.

    python measure_oplib.py tensorflow_text

The op list is read before and after `import LIBRARY` (what a server that imports the library gets),
then after loading every shared object the package ships with `tf.load_op_library` (TF-Addons loads
its kernels lazily, on first use: its ops exist only once that happened). Then a second process
that never imports the library loads the shared objects one by one and says which registers which
ops (`ops_by_file`: TF Serving links some of a library's op targets and not others). Runs on CPython
3.7 up, TensorFlow 2.2 up: no walrus, no dict union.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

try:
    from importlib import metadata
except ImportError:
    metadata = None


def registered_ops():
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api

    buf = c_api.TF_GetAllOpList()
    try:
        data = c_api.TF_GetBuffer(buf)
    finally:
        c_api.TF_DeleteBuffer(buf)
    ops = op_def_pb2.OpList()
    ops.ParseFromString(data)
    return set(op.name for op in ops.op)


def _last_line(exc):
    lines = [l for l in traceback.format_exception_only(type(exc), exc)[-1].strip().splitlines() if l.strip()]
    return (lines[-1] if lines else repr(exc))[:400]


def distribution(module):
    names = {"tensorflow_text": "tensorflow-text", "tensorflow_decision_forests": "tensorflow-decision-forests",
             "tensorflow_addons": "tensorflow-addons", "tensorflow_io": "tensorflow-io",
             "tensorflow_recommenders_addons": "tensorflow-recommenders-addons"}
    name = names.get(module, module.replace("_", "-"))
    out = {"distribution": name, "version": None, "requires_tensorflow": []}
    if metadata is None:
        return out
    try:
        dist = metadata.distribution(name)
    except Exception:
        return out
    out["version"] = dist.version
    for req in dist.requires or []:
        head = req.split(";")[0].strip()
        bare = head.replace(" ", "")
        for tf in ("tensorflow-cpu", "tensorflow-macos", "tensorflow"):
            if bare.startswith(tf) and (len(bare) == len(tf) or bare[len(tf)] in "<>=!~(["):
                out["requires_tensorflow"].append(head)
                break
    return out


def package_root(module):
    """The package's directory, found without importing it."""
    for path in sys.path:
        if os.path.isdir(os.path.join(path or ".", module)):
            return os.path.join(path or ".", module)
    return ""


def shared_objects(root):
    found = []
    for dirpath, _dirs, files in sorted(os.walk(root)) if root else ():
        found += [os.path.join(dirpath, name) for name in sorted(files) if name.endswith(".so")]
    return found


def by_file(module):
    """In a process that never imports the library: the ops each of its shared objects registers."""
    import tensorflow as tf

    root = package_root(module)
    ops, errors = {}, {}
    seen = registered_ops()
    for path in shared_objects(root):
        rel = os.path.relpath(path, root)
        try:
            tf.load_op_library(path)
        except Exception as exc:
            errors[rel] = _last_line(exc)
            continue
        now = registered_ops()
        if now - seen:
            ops[rel] = sorted(now - seen)
        seen = now
    print(json.dumps({"ops_by_file": ops, "file_errors": errors}, sort_keys=True))


def main():
    if sys.argv[1] == "--by-file":
        return by_file(sys.argv[2])
    module = sys.argv[1]
    import tensorflow as tf

    out = {"module": module, "tensorflow": tf.__version__, "python": "%d.%d" % sys.version_info[:2]}
    out.update(distribution(module))
    before = registered_ops()
    try:
        lib = importlib.import_module(module)
        out["import_error"] = None
    except Exception as exc:  # the library does not import with this TF: a fact worth keeping
        out["import_error"] = _last_line(exc)
        lib = None
    after_import = registered_ops()
    out["ops_on_import"] = sorted(after_import - before)
    try:  # TF-Addons says the TF range it supports in its version module
        declared = importlib.import_module(module + ".version")
        low, high = getattr(declared, "MIN_TF_VERSION", None), getattr(declared, "MAX_TF_VERSION", None)
        if low and high:
            out["tf_range"] = [low, high]
    except Exception:
        pass
    print(json.dumps(out, sort_keys=True), flush=True)  # kept if a shared object below kills the process

    lazy, errors = {}, {}
    root = os.path.dirname(getattr(lib, "__file__", "") or "") if lib is not None else ""
    root = root or package_root(module)  # the import failed: find the package in site-packages
    seen = set(after_import)
    for path in shared_objects(root):
        rel = os.path.relpath(path, root)
        try:
            tf.load_op_library(path)
        except Exception as exc:
            errors[rel] = _last_line(exc)
            continue
        now = registered_ops()
        new = sorted(now - seen)
        seen = now
        if new:
            lazy[rel] = new
    out["ops_lazy"] = lazy
    out["load_errors"] = errors
    print(json.dumps(out, sort_keys=True), flush=True)

    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--by-file", module],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    lines = [l for l in child.stdout.splitlines() if l.startswith("{")]
    if lines:
        out.update(json.loads(lines[-1]))
    else:
        out["file_errors"] = {"*": "the process loading the shared objects alone died (exit %d): %s"
                                    % (child.returncode, child.stderr.strip()[-300:])}
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
