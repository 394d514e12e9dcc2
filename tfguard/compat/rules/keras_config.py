"""What Keras `load_model` deserializes, against the Keras the loader runs (measured per Keras version).

Each object in a saved config is rebuilt by the runtime's Keras: its module must import (a `.keras`
config names it), its class must be one that Keras resolves (an `.h5` config names only the class),
its config keys must be arguments the class accepts, and when the loader compiles, the training
config must name an optimizer, losses and metrics it can restore. The facts are Keras's own
(tools/measure_keras.py); the matrix backs each rule (docs/crossload.md):

- a Keras 3 `.keras` read by Keras 2.12-2.15 or tf-keras fails importing keras.src.models.functional;
- an `.h5` naming `Functional` fails on tf.keras of 1.15-2.2 ("Unknown layer: Functional");
- Keras 3's `InputLayer(batch_shape=..., optional=...)` is refused by Keras 2;
- an optimizer saved as `Custom>Adam` (Keras 2.11-2.15, tf-keras) compiles only there;
- Keras 3 does not compile a training config Keras 2 wrote ("Could not deserialize
  'keras.metrics.mse'");
- tf.keras of 1.15-2.2 compiles only training configs that name a sample_weight_mode, which Keras
  from TF 2.3 on does not write.
"""

from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard.compat import loaders as L
from tfguard.compat import releases
from tfguard.compat.judgement import KERAS_CONFIG_MODELS, KERAS_FILE_FORMATS, Judgement, listing, major, version_key
from tfguard.compat.releases import KerasRelease

_KERAS_PACKAGES = ("keras", "tf_keras", "tensorflow.python.keras")
# The findings judged from one Keras release's measured facts (what it resolves, accepts, compiles).
FROM_KERAS_FACTS = frozenset({
    "KERAS_MODULE_NOT_IN_RUNTIME", "KERAS_CLASS_NOT_IN_RUNTIME", "KERAS_CONFIG_REJECTED", "KERAS_COMPILE_CONFIG_UNKNOWN",
})


def runtime_keras(j: Judgement) -> Optional[KerasRelease]:
    """The Keras the loader deserializes with, as measured: tf-keras for the tf_keras loaders, else
    what tf.keras is in the image (the image's keras package where the probe saw one)."""
    if j.release is None or j.tf_key is None:
        return None
    series = j.release.series
    if j.loader in L.LEGACY_KERAS or (j.keras_major == 2 and j.tf_key[:2] >= (2, 16)):
        return releases.keras_release("tf-keras", f"{series}.0")
    if j.tf_key[:2] < (2, 6):
        return releases.keras_release("tensorflow", j.release.wheel_version or f"{series}.0")
    if j.stack.keras_version and major(j.stack.keras_version) == j.keras_major:
        found = releases.keras_release("keras", j.stack.keras_version)
        if found is not None:
            return found
    return j.release.keras


@lru_cache(maxsize=1)
def _every_measured_class() -> frozenset[str]:
    """Class names some measured Keras resolves: a name outside these is no Keras class at all (a
    helper such as DTypePolicy, or a custom one), which this rule does not judge."""
    names: set[str] = set()
    for package in ("keras", "tf-keras", "tensorflow"):
        for version in releases.keras_versions(package):
            k = releases.keras_release(package, version)
            if k is not None and k.measured:
                names |= set(k.h5_layer_names)
                for objects in k.objects.values():
                    names |= set(objects)
    return frozenset(names)


def _resolves(k: KerasRelease, name: str) -> bool:
    return name in k.h5_layer_names or any(name in objects for objects in k.objects.values())


def config(j: Judgement) -> None:
    m = j.model
    if not j.loads_with_keras or j.serving_only or not (m.format in KERAS_FILE_FORMATS or m.keras_format == "saved_model_keras"):
        return
    k = runtime_keras(j)
    if k is None or not k.measured:
        return
    where = f"Keras {k.keras_version} in {j.runtime_label}"
    _modules(j, k, where)
    if not (m.format == "saved_model" and j.tf_key[:2] < (2, 6)):
        # Measured: Keras of 2.5 and before revives a SavedModel from its object graph, and a class it
        # does not know (2.5's Functional under 1.15's Keras) is revived as a generic model.
        _classes(j, k, where)
    _config_keys(j, k, where)
    if j.loader in L.COMPILING:
        _compile(j, k, where)


def _modules(j: Judgement, k: KerasRelease, where: str) -> None:
    """Only a `.keras` config is deserialized module by module; the legacy .h5/JSON loader looks
    classes up by name and ignores the modules Keras 2.13+ writes there (measured: 2.15's .h5 loads
    on tf.keras 2.3-2.5, which have no keras.initializers)."""
    if j.model.format != "keras_v3":
        return
    mods = [mod for mod in j.model.keras_modules or () if mod.split(".")[0] in ("keras", "tf_keras")]
    missing = [mod for mod in mods if mod not in k.modules and not _same_package_alias(mod, k)]
    if missing:
        j.add(
            "KERAS_MODULE_NOT_IN_RUNTIME", "error",
            f"the {j.model_label} was written by Keras {j.model.keras_version or '(unknown)'} and names "
            f"{listing(missing)}; {where} has no such module, so deserializing fails",
            modules=missing, model_keras=j.model.keras_version, runtime_keras=k.keras_version,
        )


def _same_package_alias(module: str, k: KerasRelease) -> bool:
    """`keras.layers` written by a Keras 2 file read by tf-keras resolves as `tf_keras.layers`, and
    the bare `keras` a Sequential names as `tf_keras` (measured: 2.15's Sequential loads there)."""
    head, dot, rest = module.partition(".")
    if k.module == "tf_keras" and head == "keras":
        return f"tf_keras{dot}{rest}" in k.modules
    return False


def _classes(j: Judgement, k: KerasRelease, where: str) -> None:
    known = _every_measured_class()
    missing = []
    for key in j.model.keras_classes or {}:
        name = key.rpartition(":")[2]
        if ":" in key or name.startswith("__") or name not in known:
            continue  # a module-qualified class stands or falls with its module (above)
        if not _resolves(k, name):
            missing.append(name)
    if missing:
        j.add(
            "KERAS_CLASS_NOT_IN_RUNTIME", "error",
            f"the {j.model_label} is built from {listing(missing)}, which {where} does not resolve "
            "(\"Unknown layer\")",
            classes=missing, runtime_keras=k.keras_version,
        )


def _find(k: KerasRelease, name: str):
    layer = k.objects.get("layers", {}).get(name)
    if layer is not None:
        return "layers", layer
    for category, objects in k.objects.items():
        if name in objects and category not in ("models",):
            return category, objects[name]
    return None, None


def _config_keys(j: Judgement, k: KerasRelease, where: str) -> None:
    """Config keys a class's constructor refuses: measured per Keras (constructor parameters; for
    layers taking **kwargs, what the base Layer really accepted or refused)."""
    refused: dict[str, list[str]] = {}
    # Measured (matrix: tf-keras 2.21's Keras SavedModels under Keras 2.10/2.11): a Functional model's
    # InputLayers are revived from the object graph, not rebuilt from their config (Sequential ones are).
    revived_inputs = j.model.format == "saved_model" and j.model.keras_model_class == "Functional"
    for key, keys in (j.model.keras_classes or {}).items():
        name = key.rpartition(":")[2]
        if not keys or name in KERAS_CONFIG_MODELS or (name == "InputLayer" and revived_inputs):
            continue
        category, obj = _find(k, name)
        if obj is None or obj.params is None or obj.function:
            continue
        extra = [c for c in keys if c not in obj.params]
        if j.model.format == "h5" and k.major == 3:
            # Keras 3 reads an .h5 config through its legacy loader, which turns a layer's
            # batch_input_shape into input_shape (measured: Keras 2's Sequential .h5 files load).
            extra = [c for c in extra if c != "batch_input_shape"]
        if category == "initializers" and k.major == 2:
            # Keras 2's Initializer.from_config drops the `dtype` TF 1.x wrote; Keras 3's does not
            # (measured: 1.15's .h5 loads on Keras 2.6-2.15 and fails on Keras 3 over GlorotUniform).
            extra = [c for c in extra if c != "dtype"]
        if not extra:
            continue
        if not obj.var_kwargs:
            refused[name] = extra  # no **kwargs: an unknown keyword is a TypeError
            continue
        if category != "layers":
            continue
        probe = k.input_layer_kwargs if name == "InputLayer" else k.dense_kwargs
        if probe is None or probe.accepts_any:
            continue
        bad = [c for c in extra if c in probe.refused]
        if bad:
            refused[name] = bad
    if refused:
        pairs = [f"{cls}({', '.join(keys)})" for cls, keys in refused.items()]
        j.add(
            "KERAS_CONFIG_REJECTED", "error",
            f"the {j.model_label}'s config passes arguments {where} refuses: {listing(pairs)} "
            "(\"Unrecognized keyword arguments\")",
            refused=refused, runtime_keras=k.keras_version,
        )


def _compile(j: Judgement, k: KerasRelease, where: str) -> None:
    compiled = j.model.keras_compile
    if not compiled:
        return
    writer = major(j.model.keras_version)
    # Measured (tools/measure_keras.py): Keras 3.0-3.15 fail to compile an .h5 file's Keras 2 training
    # config ("Could not locate function 'mse'", "Could not deserialize 'keras.metrics.mse'",
    # "Unknown optimizer: 'Custom>Adam'"); the nightly's Keras 3.16.0-dev compiles it.
    compiles_keras2_h5 = j.model.format == "h5" and k.loads("h5_keras2_training_config") is True
    if writer == 2 and k.major == 3 and not compiles_keras2_h5:
        j.add(
            "KERAS_COMPILE_CONFIG_UNKNOWN", "error",
            f"the {j.model_label} carries a training config written by Keras {j.model.keras_version}; {where} does not "
            "restore a Keras 2 training config when it compiles (measured: \"Could not deserialize "
            "'keras.metrics.mse'\" and unknown optimizers); load it with compile=False",
            optimizer=compiled.get("optimizer"), runtime_keras=k.keras_version,
        )
        return
    in_tf = _tf_keras_series(k)
    compiles_training_config = j.model.format == "h5" or (
        j.model.keras_format == "saved_model_keras"
        and (j.model.keras_model_class not in (None, *KERAS_CONFIG_MODELS)
             or (in_tf == COMPILES_REVIVED_MODELS and j.model.keras_model_class is not None)))
    if (compiles_training_config and compiled.get("sample_weight_mode") is False and in_tf is not None
            and in_tf < NEEDS_SAMPLE_WEIGHT_MODE_UNTIL):
        j.add(
            "KERAS_COMPILE_CONFIG_UNKNOWN", "error",
            f"the {j.model_label}'s training config names no sample_weight_mode (Keras of TF 2.3 and later no longer "
            f"writes one); {where} reads it when it compiles (KeyError: 'sample_weight_mode'); load it with "
            "compile=False",
            runtime_keras=k.keras_version,
        )
        return
    optimizer = compiled.get("optimizer") or ""
    if optimizer.startswith("Custom>") and not _registers_custom_optimizers(k) and not compiles_keras2_h5:
        j.add(
            "KERAS_COMPILE_CONFIG_UNKNOWN", "error",
            f"the {j.model_label}'s training config names optimizer {optimizer!r}, a name Keras 2.11-2.15 and "
            f"tf-keras register; {where} does not know it (\"Unknown optimizer\")",
            optimizer=optimizer, runtime_keras=k.keras_version,
        )
    elif writer == 3 and k.major == 3 and k.loads(j.model.format if j.model.format != "keras_v3" else "keras", compile=True) is False:
        j.add(
            "KERAS_COMPILE_CONFIG_UNKNOWN", "error",
            f"{where} cannot compile a {j.model.format} file of its own with a training config (measured on a "
            f"small compiled model): the {j.model_label} loads only with compile=False",
            runtime_keras=k.keras_version,
        )


# Measured (matrix: keras_sequential_compiled_h5/.keras, keras_subclassed_compiled_tf): tf.keras of
# TF 1.15-2.2 compiles an HDF5 file's training config, and a revived subclassed model's, with
# training_config['sample_weight_mode'], which Keras from TF 2.3 on does not write (a functional
# Keras SavedModel it compiles without); 2.2 too (measured); TF 2.3's own Keras reads its files.
NEEDS_SAMPLE_WEIGHT_MODE_UNTIL = (2, 3)
# Measured (matrix: keras_functional/sequential_compiled_tf of 2.3-2.5): tf.keras of TF 2.2 compiles a
# revived functional or Sequential model's training config too; 1.15-2.1 compile it without.
COMPILES_REVIVED_MODELS = (2, 2)


def _tf_keras_series(k: KerasRelease) -> Optional[tuple[int, int]]:
    """(major, minor) of the TensorFlow whose bundled tf.keras `k` is (1.15-2.5); None for a Keras package."""
    if k.package != "tensorflow":
        return None
    key = version_key(k.version)
    return key[:2] if key else None


def _registers_custom_optimizers(k: KerasRelease) -> bool:
    """Keras 2.11-2.15 and tf-keras save their optimizers as "Custom>Name" and resolve that name
    (matrix: those files compile there and on no other Keras)."""
    key = version_key(k.keras_version)
    return bool(key) and key[0] == 2 and key[:2] >= (2, 11)
