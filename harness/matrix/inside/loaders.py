"""Runs INSIDE a TensorFlow venv: the loaders of the cross-load matrix (CPython 3.7 and later).

    load({"path": ..., "loader": "tf2", "imports": ["tensorflow_text"]})
      -> {"ok": True, "phase": "call", "called": "serving_default"}

Every loader loads, then calls what a server would call on zeros (unknown dimensions are 1):
- tf2: tf.saved_model.load(path) (TF 1.x with v2 behaviour enabled first), then the
  serving_default signature;
- serving: what TF Serving's C++ LoadSavedModel does: tf.compat.v1.saved_model.loader.load(sess,
  {"serve"}, path) in a fresh Graph and Session configured as TF Serving configures its session by
  default (a plain ConfigProto: no soft placement, default thread pools), then a Session.run of the
  serving_default SignatureDef;
- keras / keras_nocompile: tf.keras.models.load_model(path[, compile=False]), then the model on
  zeros (Model.predict in TF 1.x graph mode);
- tf_keras / tf_keras_nocompile: the same with the tf_keras package.
A model without a serving_default signature (or without known inputs) loads with "called": None.
"""

import importlib
import os


class CallFailed(Exception):
    """Wraps an exception raised after a successful load, while calling the loaded model."""

    phase = "call"


def _dims(shape):
    try:
        items = list(shape)
    except (TypeError, ValueError):  # unknown rank
        return [1]
    dims = []
    for d in items:
        d = getattr(d, "value", d)
        dims.append(1 if d is None or d < 0 else int(d))
    return dims


def _np_zeros(dims, dtype):
    import numpy as np

    dtype = np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype
    if dtype.kind in ("O", "S", "U"):
        return np.full(dims, b"", dtype=object)
    return np.zeros(dims, dtype)


def _tf_zeros(tf, spec):
    dims = _dims(spec.shape) if spec.shape.rank is not None else [1]
    if spec.dtype == tf.string:
        return tf.fill(dims, "")
    return tf.zeros(dims, spec.dtype)


def load_tf2(tf, path):
    if tf.__version__.startswith("1."):
        tf.compat.v1.enable_v2_behavior()
        loaded = tf.compat.v2.saved_model.load(path)
    else:
        loaded = tf.saved_model.load(path)
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        return {"ok": True, "phase": "load", "called": None,
                "signatures": sorted(getattr(loaded, "signatures", {}).keys())}
    try:
        structured = signature.structured_input_signature
        if structured is not None:
            specs = structured[1]
        else:  # TF 1.15 keeps no structured signature for a TF1 graph's pruned functions
            names = getattr(signature, "_arg_keywords", None) or []
            specs = {n: tf.TensorSpec(t.shape, t.dtype) for n, t in zip(names, signature.inputs)}
        signature(**{name: _tf_zeros(tf, spec) for name, spec in specs.items()})
    except Exception as exc:
        raise CallFailed(str(exc)) from exc
    return {"ok": True, "phase": "call", "called": "serving_default"}


def _signature_feeds(tf, signature):
    feeds = {}
    for name, info in signature.inputs.items():
        if not info.name:
            raise CallFailed("input %r of serving_default is a composite tensor" % name)
        if info.tensor_shape.unknown_rank:
            dims = [1]
        else:
            dims = [1 if d.size < 0 else d.size for d in info.tensor_shape.dim]
        feeds[info.name] = _np_zeros(dims, tf.as_dtype(info.dtype).as_numpy_dtype)
    return feeds


def load_serving(tf, path):
    v1 = tf.compat.v1
    graph = tf.Graph()
    config = v1.ConfigProto()  # TF Serving's default session config: nothing set
    with v1.Session(graph=graph, config=config) as sess:
        meta_graph = v1.saved_model.loader.load(sess, ["serve"], path)
        signature = meta_graph.signature_def.get("serving_default")
        if signature is None:
            return {"ok": True, "phase": "load", "called": None, "signatures": sorted(meta_graph.signature_def)}
        try:
            feeds = _signature_feeds(tf, signature)
            fetches = {k: v.name for k, v in signature.outputs.items() if v.name}
            sess.run(fetches, feed_dict=feeds)
        except CallFailed:
            raise
        except Exception as exc:
            raise CallFailed(str(exc)) from exc
    return {"ok": True, "phase": "call", "called": "serving_default"}


def _call_keras_model(tf, model):
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    arrays = []
    for tensor in inputs:
        dtype = getattr(tensor.dtype, "as_numpy_dtype", tensor.dtype)
        arrays.append(_np_zeros(_dims(tensor.shape), dtype))
    x = arrays if len(arrays) > 1 else arrays[0]
    try:
        if tf.executing_eagerly():
            model(x)
        else:
            model.predict(x, verbose=0)
    except Exception as exc:
        raise CallFailed(str(exc)) from exc
    return type(model).__name__


def load_keras(tf, path, package, compile_):
    if package == "tf_keras":
        import tf_keras as keras
    else:
        keras = tf.keras
    model = keras.models.load_model(path, compile=compile_)
    called = _call_keras_model(tf, model)
    return {"ok": True, "phase": "call" if called else "load", "called": called, "loaded_type": type(model).__name__}


def load(job):
    for name in job.get("imports") or ():
        importlib.import_module(name)
    import tensorflow as tf

    path, loader = job["path"], job["loader"]
    os.chdir(os.path.dirname(path.rstrip("/")) or ".")
    if loader == "tf2":
        return load_tf2(tf, path)
    if loader == "serving":
        return load_serving(tf, path)
    if loader in ("keras", "keras_nocompile"):
        return load_keras(tf, path, "tf.keras", loader == "keras")
    if loader in ("tf_keras", "tf_keras_nocompile"):
        return load_keras(tf, path, "tf_keras", loader == "tf_keras")
    raise ValueError("unknown loader %r" % loader)
