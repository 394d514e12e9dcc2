"""Real models saved by real TensorFlow releases, for tests, benchmarks and the demo.

    path = model_path("plain_saved_model", OLD_TF)   # a SavedModel directory written by TF 2.15.1
    path = model_path("keras_v3", NEW_TF)            # a .keras file written by Keras 3 under TF 2.20
    facts = build_record("keras_saved_model", NEW_TF)  # what that release actually wrote

Each model is built once by a script that runs inside the release's venv (harness.tfenvs),
never in the dev venv. It lives under $TFGUARD_CACHE/models/tf-<version>/<name>/: the artifact
(`saved_model/`, `model.keras` or `model.h5`) and `build.json` (how it was written, by which
TF/Keras). A build goes into a temporary directory that is renamed into place when complete;
a file lock makes concurrent builders wait for each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.tfenvs import NEW_TF, OLD_TF, cache_dir, tf_python

# An op registered in NEW_TF (2.20) but not in OLD_TF (2.15), with a CPU kernel, that a serving
# graph can run: found by diffing the two releases' op registries (tools/gen_knowledge.py).
NEW_OP = "DatasetFingerprint"
# An attr NEW_TF's GatherNd declares and OLD_TF's does not (same diff, op_attrs_changed).
NEW_ATTR, NEW_ATTR_VALUE = "bad_indices_policy", "IGNORE"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    artifact: str  # path of the artifact inside the model's directory
    kind: str  # "saved_model" | "keras_v3" | "h5"
    description: str
    releases: tuple[str, ...] | None = None  # None: any release can build it


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "plain_saved_model", "saved_model", "saved_model",
            "tf.Module with a serving_default signature (MatMul, AddV2, Relu), tf.saved_model.save",
        ),
        ModelSpec(
            "keras_saved_model", "saved_model", "saved_model",
            "small Keras model as a SavedModel: Keras 2 model.save(dir, save_format='tf') "
            "(keras_metadata.pb); Keras 3 model.export(dir) (a plain SavedModel)",
        ),
        ModelSpec("keras_v3", "model.keras", "keras_v3", "small Keras model, model.save('model.keras')"),
        ModelSpec("keras_h5", "model.h5", "h5", "small Keras model, model.save('model.h5')"),
        ModelSpec(
            "new_op_saved_model", "saved_model", "saved_model",
            f"tf.Module whose serving_default runs {NEW_OP}, an op OLD_TF does not register",
            releases=(NEW_TF,),
        ),
        ModelSpec(
            "new_attr_saved_model", "saved_model", "saved_model",
            f"tf.Module whose serving_default runs GatherNd with {NEW_ATTR}={NEW_ATTR_VALUE!r}, an attr "
            "OLD_TF's GatherNd does not declare (set to a non-default value, so it is not stripped)",
            releases=(NEW_TF,),
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def models_for(tf_version: str) -> list[str]:
    """The model names `tf_version` can build."""
    return [n for n, s in MODELS.items() if s.releases is None or tf_version in s.releases]


# Runs inside the TF venv: argv = name, output directory. Writes the artifact and prints a JSON
# record of what was written.
_BUILD_SCRIPT = r'''
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf

name, out = sys.argv[1], sys.argv[2]
NEW_OP = %(new_op)r
record = {"name": name, "tf_version": tf.version.VERSION, "tf_git_version": tf.version.GIT_VERSION}


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.ones([4, 3]) * 0.5, name="w")
        self.b = tf.Variable(tf.zeros([3]), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}


class WithNewAttr(Dense):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        picked = tf.raw_ops.GatherNd(params=x, indices=[[0, 1]], **{%(new_attr)r: %(new_attr_value)r})
        return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b), "picked": picked}


class WithNewOp(Dense):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        dataset = tf.data.Dataset.range(3)
        fingerprint = getattr(tf.raw_ops, NEW_OP)(input_dataset=dataset._variant_tensor)
        return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b), "fingerprint": tf.cast(fingerprint, tf.int64)}


def keras_model():
    keras = tf.keras
    inputs = keras.Input(shape=(4,), name="x")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="y")(hidden)
    # Not compiled: serving needs no optimizer, and a compiled loss="mse" alone makes Keras 3.15
    # fail to load its own .h5 ("Could not deserialize 'keras.metrics.mse'").
    return keras.Model(inputs, outputs, name="tiny")


def keras_version():
    module = tf.keras.Model.__module__.split(".")[0]
    return getattr(sys.modules[module], "__version__", None)


MODULES = {"plain_saved_model": Dense, "new_op_saved_model": WithNewOp, "new_attr_saved_model": WithNewAttr}
if name in MODULES:
    module = MODULES[name]()
    path = os.path.join(out, "saved_model")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    record["method"] = "tf.saved_model.save"
else:
    model = keras_model()
    record["keras_version"] = keras_version()
    if name == "keras_saved_model":
        path = os.path.join(out, "saved_model")
        if record["keras_version"].startswith("2."):
            model.save(path, save_format="tf")
            record["method"] = "model.save(dir, save_format='tf')"
        else:
            model.export(path)
            record["method"] = "model.export(dir)"
    elif name == "keras_v3":
        model.save(os.path.join(out, "model.keras"))
        record["method"] = "model.save('model.keras')"
    elif name == "keras_h5":
        model.save(os.path.join(out, "model.h5"))
        record["method"] = "model.save('model.h5')"
    else:
        raise SystemExit(f"unknown model {name}")
if os.path.isdir(os.path.join(out, "saved_model")):
    record["keras_metadata"] = os.path.exists(os.path.join(out, "saved_model", "keras_metadata.pb"))
sys.stdout.write("\n" + json.dumps(record) + "\n")
'''


_SCRIPT_VALUES = {"new_op": NEW_OP, "new_attr": NEW_ATTR, "new_attr_value": NEW_ATTR_VALUE}


def _models_root() -> Path:
    return cache_dir() / "models"


def model_dir(name: str, tf_version: str) -> Path:
    return _models_root() / f"tf-{tf_version}" / name


def model_path(name: str, tf_version: str) -> Path:
    """Path of the artifact `name` saved by tensorflow-cpu==`tf_version` (built on first use)."""
    spec = MODELS.get(name)
    if spec is None:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    if spec.releases is not None and tf_version not in spec.releases:
        raise ValueError(f"model {name!r} is only built with {', '.join(spec.releases)}, not {tf_version}")
    final = model_dir(name, tf_version)
    if not _is_current(final):
        _build(name, tf_version, final)
    return final / spec.artifact


def _revision() -> str:
    return hashlib.sha256((_BUILD_SCRIPT % _SCRIPT_VALUES).encode()).hexdigest()[:12]


def _is_current(final: Path) -> bool:
    """Built, and by the current build script (a changed script rebuilds the models)."""
    try:
        return json.loads((final / "build.json").read_text()).get("revision") == _revision()
    except (OSError, ValueError):
        return False


def build_record(name: str, tf_version: str) -> dict:
    """What the release wrote for `name`: TF/Keras versions, the save method, keras_metadata.pb."""
    model_path(name, tf_version)
    return json.loads((model_dir(name, tf_version) / "build.json").read_text())


def _build(name: str, tf_version: str, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(final):
            return
        python = tf_python(tf_version)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is for anyone who reads the cache
        try:
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
            done = subprocess.run(
                [str(python), "-c", _BUILD_SCRIPT % _SCRIPT_VALUES, name, str(tmp)],
                capture_output=True, text=True, timeout=600, env=env, cwd=tmp,
            )
            if done.returncode != 0:
                tail = "\n".join(done.stderr.strip().splitlines()[-15:])
                raise RuntimeError(f"building {name} with TF {tf_version} failed:\n{tail}")
            record = json.loads(done.stdout.strip().splitlines()[-1])
            record["build_id"] = uuid.uuid4().hex
            record["revision"] = _revision()
            (tmp / "build.json").write_text(json.dumps(record, indent=2, sort_keys=True))
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_all(versions: tuple[str, ...] = (OLD_TF, NEW_TF)) -> dict[tuple[str, str], Path]:
    """Build every model with every release in `versions`; {(name, version): artifact path}."""
    return {(n, v): model_path(n, v) for v in versions for n in models_for(v)}


if __name__ == "__main__":
    for (name, version), path in ensure_all().items():
        print(f"{version:8} {name:20} {path}")
