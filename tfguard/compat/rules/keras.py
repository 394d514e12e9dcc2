"""Keras load_model: which formats a Keras major reads, and what a Keras file's config needs."""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat.judgement import KERAS_FILE_FORMATS, Judgement, listing, major, version_key

# Packages of Keras 2 (2.x and the keras.src layout of 2.13-2.15) that Keras 3 does not have.
_KERAS2_ONLY_MODULES = ("keras.engine", "keras.src.engine", "keras.src.saving.legacy", "keras.saving.legacy")


def keras_formats(j: Judgement) -> None:
    m = j.model
    runtime = j.keras_major
    if runtime is None or j.serving_only:
        return
    package = "tf_keras" if j.loader in L.LEGACY_KERAS else "tf.keras"
    keras_from = f"{package} is Keras {runtime} in {j.runtime_label}, per {j.keras_major_from}"

    if m.format == "saved_model":
        if j.loads_with_keras and runtime == 3:
            j.add(
                "KERAS3_CANNOT_LOAD_SAVEDMODEL", "error",
                f"the {j.model_label} is a SavedModel and {keras_from}: Keras 3 load_model reads only .keras and .h5 files",
                keras_major=runtime,
            )
        elif j.loads_with_keras and m.keras_format != "saved_model_keras":
            j.add(
                "KERAS2_LOADS_SAVEDMODEL_AS_OBJECT", "warning",
                f"the {j.model_label} is a SavedModel without Keras metadata: Keras 2 load_model in "
                f"{j.runtime_label} returns a plain TensorFlow object, not a Keras model",
            )
        elif (j.loader == L.TF2 and L.canonical(j.requested_loader) == "auto" and runtime == 3
              and m.keras_format == "saved_model_keras"):
            j.add(
                "KERAS_LOADER_MAY_FAIL", "warning",
                f"the {j.model_label} is a Keras 2 SavedModel: tf.saved_model.load reads it, but {keras_from}, "
                "so tf.keras.models.load_model would fail",
            )
        if j.loads_with_keras and runtime == 2 and m.keras_format == "saved_model_keras":
            _keras_minor(j)
        return

    if m.format in KERAS_FILE_FORMATS and j.loads_with_keras:
        writer = major(m.keras_version)
        if writer == 3 and runtime == 2:
            j.add(
                "KERAS3_FILE_ON_KERAS2", "error",
                f"the {j.model_label} was written by Keras {m.keras_version} and {keras_from}: "
                "Keras 2 cannot deserialize Keras 3 configs",
                model_keras=m.keras_version, keras_major=runtime,
            )
        elif writer == 2 and runtime == 3:
            legacy = [mod for mod in m.keras_modules or () if mod.startswith(_KERAS2_ONLY_MODULES)]
            if legacy:
                j.add(
                    "KERAS_MODULE_NOT_IN_RUNTIME", "error",
                    f"the {j.model_label} was written by Keras {m.keras_version} and names {listing(legacy)}; "
                    f"{keras_from}, which has no such module",
                    modules=legacy, model_keras=m.keras_version,
                )
            else:
                j.add(
                    "KERAS2_FILE_ON_KERAS3", "warning",
                    f"the {j.model_label} was written by Keras {m.keras_version} and {keras_from}: Keras 3 reads "
                    "Keras 2 files with built-in layers, custom and Lambda layers often fail",
                    model_keras=m.keras_version, keras_major=runtime,
                )
        elif m.format == "keras_v3" and runtime == 2 and j.tf_key < (2, 12):
            j.add(
                "KERAS_NEWER_THAN_RUNTIME", "warning",
                f"the {j.model_label} is a .keras file; Keras before 2.12 in {j.runtime_label} predates that format",
                model_keras=m.keras_version,
            )
        else:
            _keras_minor(j)
        custom = [mod for mod in m.keras_modules or () if mod != "keras" and not mod.startswith("keras.")]
        if custom:
            j.add(
                "KERAS_CUSTOM_MODULES", "warning",
                f"the {j.model_label} uses classes from {listing(custom)}: they must be importable in {j.runtime_label}",
                modules=custom,
            )
        return

    if not m.format and j.loads_with_keras and m.tensorflow_version:
        # Version facts only: the format decides (a SavedModel fails under Keras 3, a Keras 3 file
        # fails under Keras 2), and it is not known.
        producer_keras = 3 if version_key(m.tensorflow_version) >= (2, 16) else 2
        if producer_keras != runtime:
            j.add(
                "KERAS_FORMAT_UNKNOWN", "warning",
                f"the {j.model_label} comes from TensorFlow {m.tensorflow_version} (Keras {producer_keras}) and "
                f"{keras_from}: whether load_model reads it depends on its format, which is not known",
                producer=m.tensorflow_version, keras_major=runtime,
            )


def _keras_minor(j: Judgement) -> None:
    m, stack = j.model, j.stack
    written, have = version_key(m.keras_version), version_key(stack.keras_version)
    if written and have and written[0] == have[0] == j.keras_major and written[:2] > have[:2]:
        j.add(
            "KERAS_NEWER_THAN_RUNTIME", "warning",
            f"the {j.model_label} was written by Keras {m.keras_version}, newer than Keras {stack.keras_version} in {j.runtime_label}",
            model_keras=m.keras_version, runtime_keras=stack.keras_version,
        )
