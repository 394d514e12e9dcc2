"""Runs INSIDE a throwaway venv that holds one Keras (never in the dev venv): prints one JSON object
with what that Keras imports, registers, accepts and loads, asked of its own code. Used by
tools/gen_knowledge.py:

    python measure_keras.py keras                    # the keras package (2.6-2.15, or Keras 3)
    python measure_keras.py tf_keras                 # tf-keras (Keras 2 for TF 2.16+)
    python measure_keras.py tensorflow.python.keras  # tf.keras of TF 1.15-2.5

Runs on CPython 3.7 up: no walrus, no dict union."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import shutil
import sys
import tempfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
warnings.simplefilter("ignore")

CATEGORIES = ("layers", "models", "optimizers", "losses", "metrics", "initializers", "regularizers",
              "constraints", "activations")
NOT_OBJECTS = {"serialize", "deserialize", "get"}

# Config keys that one Keras or another writes for a layer, probed against the base Layer and
# InputLayer constructors of this Keras (Keras 2 rejects the Keras 3 `batch_shape`, for example).
LAYER_KEYS = {
    "name": "probe", "trainable": True, "dtype": "float32", "dynamic": False, "input_shape": (3,),
    "batch_input_shape": (None, 3), "batch_size": 2, "input_dim": 3, "weights": None, "autocast": True,
    "activity_regularizer": None, "implementation": 1, "batch_shape": (None, 3), "shape": (3,),
    "sparse": False, "ragged": False, "optional": False, "input_tensor": None, "type_spec": None,
    "dtype_policy": None, "seed": None, "build_config": None,
}


def _short(exc):
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, (text[-1] if text else "")[:300])


def import_all(root):
    """(importable module names, {module: error}) of every module under package `root`, test
    modules left out."""
    ok, errors = [], {}
    try:
        package = importlib.import_module(root)
    except Exception as exc:  # noqa: BLE001
        return ok, {root: _short(exc)}
    ok.append(root)
    stack = [package]
    while stack:
        pkg = stack.pop()
        for info in pkgutil.iter_modules(getattr(pkg, "__path__", []), pkg.__name__ + "."):
            name = info.name
            last = name.rsplit(".", 1)[-1]
            if last.endswith("_test") or last in ("tests", "testing_infra", "benchmarks", "integration_test"):
                continue
            try:
                module = importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - SystemExit from absl flags too
                errors[name] = _short(exc)
                continue
            ok.append(name)
            if info.ispkg:
                stack.append(module)
    return sorted(ok), dict(sorted(errors.items()))


def signature(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {"params": None}
    params, required, kwargs = [], [], False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind == p.VAR_KEYWORD:
            kwargs = True
        elif p.kind == p.VAR_POSITIONAL:
            continue
        else:
            params.append(p.name)
            if p.default is p.empty:
                required.append(p.name)
    out = {"params": params}
    if required:
        out["required"] = required
    if kwargs:
        out["kwargs"] = True
    if not inspect.isclass(obj):
        out["function"] = True
    return out


def public_objects(module):
    out = {}
    for name in dir(module):
        if name.startswith("_") or name in NOT_OBJECTS:
            continue
        obj = getattr(module, name, None)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            out[name] = obj
    return out


def h5_layer_table(root):
    """The names the legacy (H5/JSON config) deserializer of this Keras resolves layer class names
    against, read from the loader's own table; ("", {}) where no known table exists."""
    # Keras 3: keras.src.legacy.saving.saving_utils fills MODULE_OBJECTS.ALL_OBJECTS on first use.
    try:
        utils = importlib.import_module(root + ".src.legacy.saving.saving_utils")
        for name, fn in vars(utils).items():
            if callable(fn) and "MODULE_OBJECTS" in getattr(getattr(fn, "__code__", None), "co_names", ()):
                if name in ("model_from_config",):
                    try:
                        fn({"class_name": "__tfguard_probe__", "config": {}})
                    except Exception:  # noqa: BLE001 - the unknown class is the point
                        pass
        objects = getattr(utils.MODULE_OBJECTS, "ALL_OBJECTS", None)
        if objects:
            return "legacy.saving.saving_utils.MODULE_OBJECTS", dict(objects)
    except ImportError:
        pass
    # Keras 2 (keras 2.6+, tf_keras, tf.keras 2.x): layers.serialization.LOCAL.ALL_OBJECTS.
    for module_name in (root + ".src.layers.serialization", root + ".layers.serialization"):
        try:
            serialization = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(serialization, "populate_deserializable_objects"):
            serialization.populate_deserializable_objects()
            return "layers.serialization.LOCAL.ALL_OBJECTS", dict(serialization.LOCAL.ALL_OBJECTS)
        # tf.keras of 1.15/2.0: deserialize() resolves against the module's globals, which it
        # completes (Model, Sequential, ...) on each call.
        try:
            serialization.deserialize({"class_name": "__tfguard_probe__", "config": {}})
        except Exception:  # noqa: BLE001
            pass
        return "layers.serialization globals", dict(vars(serialization))
    return "", {}


_REFUSALS = ("nrecognized keyword", "not understood", "unexpected keyword", "invalid keyword")


def probe_kwargs(cls, keys):
    """Which of `keys` the constructor of `cls` accepts by name. Each key is added to the first
    base arguments that construct at all; a key is refused when the error names it as an
    unrecognized/not understood/unexpected keyword (an error about its value is no refusal)."""
    base = None
    for candidate in ({}, {"shape": (3,)}, {"input_shape": (3,)}, {"batch_shape": (None, 3)}):
        try:
            cls(**candidate)
            base = candidate
            break
        except Exception:  # noqa: BLE001
            continue
    if base is None:
        return {"error": "no base arguments construct %s" % cls.__name__}
    accepted, refused = [], {}
    for key in sorted(keys):
        args = dict(base)
        args[key] = keys[key]
        try:
            cls(**args)
            accepted.append(key)
        except Exception as exc:  # noqa: BLE001
            message = str(exc)
            if key in message and any(r in message for r in _REFUSALS):
                refused[key] = _short(exc)
            else:
                accepted.append(key)
    out = {"base": sorted(base), "accepted": accepted, "refused": refused}
    args = dict(base)
    args["tfguard_no_such_argument"] = 1
    try:
        cls(**args)
        out["accepts_any"] = True  # it swallows unknown keywords: its accepted list says nothing
    except Exception:  # noqa: BLE001
        pass
    return out


# The training config Keras 2.15's model.save("m.h5") writes for compile(optimizer="adam", loss="mse",
# metrics=["mae"]): Keras 2.11+ saves its optimizers as "Custom>Name", with keys Keras 3 dropped.
KERAS2_TRAINING_CONFIG = (
    '{"loss": "mse", "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "mae", "dtype": '
    '"float32", "fn": "mean_absolute_error"}}]], "weighted_metrics": null, "loss_weights": null, '
    '"optimizer_config": {"class_name": "Custom>Adam", "config": {"name": "Adam", "weight_decay": null, '
    '"clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, '
    '"ema_overwrite_frequency": null, "jit_compile": false, "is_legacy_optimizer": false, "learning_rate": '
    '0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}}}'
)


def _written_as(path):
    if os.path.isdir(path):
        return "directory"
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        return "zip"
    if head == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    return "unknown"


def load_formats(root):
    """What load_model does with each format this Keras can write (and a SavedModel written by
    tf.saved_model.save where model.save cannot write one): saved, loaded, loaded with compile=False."""
    import tensorflow as tf

    keras = importlib.import_module(root)
    models = importlib.import_module(root + ".models")
    layers = importlib.import_module(root + ".layers")
    out = {}
    directory = tempfile.mkdtemp(prefix="tfguard-keras-")
    try:
        model = models.Sequential([layers.Dense(2, input_shape=(3,))])
        model.compile(optimizer="adam", loss="mse")
        for fmt, target, kwargs in (("h5", "m.h5", {}), ("keras", "m.keras", {}),
                                    ("saved_model", "sm", {"save_format": "tf"})):
            path = os.path.join(directory, target)
            result = {}
            try:
                try:
                    model.save(path, **kwargs)
                except TypeError:  # Keras 3 model.save takes no save_format
                    model.save(path)
                result["save"] = "ok"
                result["written_as"] = _written_as(path)
            except Exception as exc:  # noqa: BLE001
                result["save"] = _short(exc)
                if fmt == "saved_model":
                    try:
                        tf.saved_model.save(model, path)
                        result["save"] = "tf.saved_model.save"
                        result["written_as"] = _written_as(path)
                    except Exception as exc2:  # noqa: BLE001
                        result["save"] = _short(exc2)
            if os.path.exists(path):
                for label, load_kwargs in (("load", {}), ("load_no_compile", {"compile": False})):
                    try:
                        models.load_model(path, **load_kwargs)
                        result[label] = "ok"
                    except Exception as exc:  # noqa: BLE001
                        result[label] = _short(exc)
            out[fmt] = result
        if getattr(keras, "__version__", "0").split(".")[0] not in ("0", "1", "2"):
            # Only a Keras 3 reads a config some other Keras wrote; to Keras 2 this config is its own.
            out["h5_keras2_training_config"] = _load_keras2_training_config(models, os.path.join(directory, "m.h5"))
        del keras
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return out


def _load_keras2_training_config(models, own_h5):
    """load_model (compile=True) of this Keras's own .h5 file with Keras 2.15's training config in it."""
    if not os.path.exists(own_h5):
        return {"load": "no .h5 file written"}
    path = own_h5[:-3] + "-keras2.h5"
    try:
        import h5py

        shutil.copyfile(own_h5, path)
        with h5py.File(path, "r+") as f:
            f.attrs["training_config"] = KERAS2_TRAINING_CONFIG
    except Exception as exc:  # noqa: BLE001
        return {"write": _short(exc)}
    try:
        models.load_model(path)
        return {"load": "ok"}
    except Exception as exc:  # noqa: BLE001
        return {"load": _short(exc)}


def main():
    root = sys.argv[1]
    if root == "tensorflow.python.keras":
        import tensorflow as tf

        version = getattr(tf.keras, "__version__", None)
        # 1.15-2.1 keep the code in tensorflow_core; the name `tensorflow.python.keras` still works.
        module_root = tf.keras.Model.__module__.split(".engine")[0]
    else:
        version = importlib.import_module(root).__version__
        module_root = root
    result = {"module": root, "keras_version": version, "python": "%d.%d.%d" % sys.version_info[:3]}
    try:
        import tensorflow as tf

        result["tf_version"] = tf.version.VERSION
    except Exception as exc:  # noqa: BLE001
        result["tf_version_error"] = _short(exc)
    modules, errors = import_all(module_root)
    if module_root != root:  # report modules under the name configs and users write
        modules = [root + m[len(module_root):] for m in modules]
        errors = {root + k[len(module_root):]: v for k, v in errors.items()}
    result["modules"], result["module_errors"] = modules, errors

    classes = {}
    for category in CATEGORIES:
        try:
            module = importlib.import_module(module_root + "." + category)
        except Exception as exc:  # noqa: BLE001
            classes[category] = {"__error__": {"error": _short(exc)}}
            continue
        classes[category] = {name: signature(obj) for name, obj in sorted(public_objects(module).items())}
    source, table = h5_layer_table(module_root)
    h5 = sorted(name for name, obj in table.items() if inspect.isclass(obj) and not name.startswith("_"))
    for name in h5:
        classes["layers"].setdefault(name, signature(table[name]))
    result["h5_layer_table"] = {"source": source, "names": h5}
    result["classes"] = classes

    layers = importlib.import_module(module_root + ".layers")
    result["layer_kwargs"] = probe_kwargs(layers.Layer, LAYER_KEYS)
    result["dense_kwargs"] = probe_kwargs(lambda **kw: layers.Dense(2, **kw), LAYER_KEYS)
    result["input_layer_kwargs"] = probe_kwargs(layers.InputLayer, LAYER_KEYS)
    try:
        result["formats"] = load_formats(module_root)
    except Exception as exc:  # noqa: BLE001
        result["formats"] = {"error": _short(exc)}
    json.dump(result, sys.stdout, sort_keys=True, default=str)


if __name__ == "__main__":
    main()
