"""Keras load_model: which formats a Keras major reads, and what a Keras file's config needs."""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat.judgement import KERAS_CONFIG_MODELS, KERAS_FILE_FORMATS, Judgement, listing, major, version_key
from tfguard.compat.rules.objects import SLOT_VARIABLES

# The releases whose Keras load_model revives a SavedModel's Keras objects from their metadata and
# fails without it (the first and last measured), rather than returning a plain object.
KERAS_REVIVES_LAYERS_FROM_METADATA = ((2, 4), (2, 15))


def keras_formats(j: Judgement) -> None:
    m = j.model
    runtime = j.keras_major
    if runtime is None or j.serving_only:
        return
    package = "tf_keras" if j.loader in L.LEGACY_KERAS else "tf.keras"
    keras_from = f"{package} is Keras {runtime} in {j.runtime_label}, per {j.keras_major_from}"

    if m.format == "saved_model":
        producer = version_key(m.tensorflow_version or "")[:2] or None
        if j.loads_with_keras and runtime == 3:
            j.add(
                "KERAS3_CANNOT_LOAD_SAVEDMODEL", "error",
                f"the {j.model_label} is a SavedModel and {keras_from}: Keras 3 load_model reads only .keras and .h5 files",
                keras_major=runtime,
            )
        elif (j.loads_with_keras and m.keras_format == "saved_model_keras" and j.tf_key[:2] < (2, 6)
              and (producer or (2, 6)) >= (2, 6)  # an unknown producer is judged as a later one
              and not (j.tf_key[:2] == (2, 5) and m.keras_model_class not in (None, *KERAS_CONFIG_MODELS))):
            # Measured: Keras of 2.5 and before reads the Keras metadata from the object graph, which
            # releases from 2.6 on leave empty (JSONDecodeError: Expecting value; 2.5 still fills it
            # beside keras_metadata.pb, and its models load on 1.15-2.5). Keras of 2.5 revives a
            # subclassed model without it (it has no config to rebuild from anyway).
            j.add(
                "KERAS_METADATA_NOT_READ", "error",
                f"the {j.model_label} keeps its Keras metadata in keras_metadata.pb only (TF 2.6 and later); Keras in "
                f"{j.runtime_label} looks for it in the object graph and cannot revive the model",
            )
        elif (j.loader == L.KERAS_NOCOMPILE and m.keras_format == "saved_model_keras" and m.keras_compile
              and m.keras_model_class not in (None, "Functional") and not m.keras_sequential_shape_encoded
              and j.tf_key[:2] == (1, 15)):
            # Measured (matrix: keras_*_compiled_tf of 2.0-2.5): 1.15's Keras revives a compiled model of a
            # class it knows (Model, Sequential, a subclass) without compiling it into one whose call fails;
            # 2.0 calls it. A "Functional" (2.3 on) it revives as a plain layer, which calls.
            j.add(
                "KERAS_REVIVED_MODEL_NOT_CALLABLE", "error",
                f"the {j.model_label} is a compiled model ({m.keras_model_class}); Keras in {j.runtime_label} "
                "revives it with compile=False into a model whose call fails (\"object has no attribute 'loss'\")",
                model_class=m.keras_model_class,
            )
        elif (j.loads_with_keras and m.keras_format == "saved_model_keras" and m.keras_sequential_shape_encoded
              and j.tf_key[:2] < (2, 2)):
            # Measured (matrix: Sequential Keras SavedModels of 2.2-2.5): Keras of 1.15-2.1 reads
            # build_input_shape as a list of dimensions ("Error converting shape to a TensorShape").
            j.add(
                "KERAS_METADATA_NOT_READ", "error",
                f"the {j.model_label} is a Sequential model whose Keras metadata gives build_input_shape as an encoded "
                f"TensorShape (Keras of TF 2.2 and later writes it so); Keras in {j.runtime_label} reads it as a list of "
                "dimensions and cannot rebuild the model",
            )
        elif (j.loads_with_keras and m.keras_format == "saved_model_keras" and j.tf_key[:2] == (2, 1)
              and producer is not None and (2, 2) <= producer < (2, 6)
              and m.keras_model_class in (None, "Model", "Functional")):
            # Measured (matrix: keras_functional_*_tf of 2.2-2.5, compiled or not, either loader): Keras of
            # 2.1 revives a functional model of a later release into an object that is not a Keras model
            # (KeyError: 0); their Sequential and subclassed models it revives (2.2's Keras too: what fails
            # there is compiling, judged with the training config).
            known = m.keras_model_class is not None
            j.add(
                "KERAS_SAVEDMODEL_NEWER_THAN_RUNTIME", "error" if known else "warning",
                f"the {j.model_label} is a Keras SavedModel from TensorFlow {m.tensorflow_version}, newer than "
                f"{j.runtime_label}, whose Keras " + ("revives its functional model as a plain object, not a Keras "
                                                      "model (KeyError: 0)" if known else
                                                      "may revive it as a plain object, not a Keras model"),
                producer=m.tensorflow_version,
            )
        elif (j.loads_with_keras and m.keras_format != "saved_model_keras" and m.keras_objects_without_metadata
              and KERAS_REVIVES_LAYERS_FROM_METADATA[0] <= j.tf_key[:2] <= KERAS_REVIVES_LAYERS_FROM_METADATA[1]):
            # Measured (matrix: keras_*_raw_export of 2.12.1, on every Keras 2 of TF 2.4-2.15): the object
            # graph holds Keras layers, which Keras revives from their metadata, and export() writes none
            # (JSONDecodeError before 2.6, "lacks the Keras metadata" from 2.6). Later exports hold none.
            j.add(
                "KERAS_LAYERS_WITHOUT_METADATA", "error",
                f"the {j.model_label} holds Keras objects ({listing(m.keras_objects_without_metadata)}) but no Keras "
                f"metadata (a SavedModel written by export() or tf.saved_model.save); Keras load_model in "
                f"{j.runtime_label} revives Keras objects from their metadata and fails",
                identifiers=list(m.keras_objects_without_metadata),
            )
        elif (j.loads_with_keras and m.keras_format != "saved_model_keras" and m.object_graph is False
              and j.tf_key[:2] >= (2, 4)):
            # Measured: Keras 2 revives a SavedModel through its object graph; a TF1 export has none
            # (IndexError: list index out of range, in every Keras 2).
            j.add(
                "KERAS_NO_MODEL_IN_SAVEDMODEL", "error",
                f"the {j.model_label} is a TF1 SavedModel (no object graph, no Keras metadata): Keras 2 "
                f"load_model in {j.runtime_label} has nothing to revive a model or object from",
            )
        elif (j.loader == L.KERAS_NOCOMPILE and m.keras_format is None and m.object_graph
              and SLOT_VARIABLES in m.saved_object_fields and j.tf_key[:2] == (1, 15) and producer == (1, 15)):
            # Measured (matrix: keras_*_compiled_tf of 1.15.5 on 1.15.5): tf.saved_model.save in 1.15 keeps
            # no Keras metadata tfguard reads, but its Keras revives the compiled model (its optimizer's slot
            # variables are what tells it from an uncompiled one, which loads and calls) without compiling
            # it, and the call fails. The uncompiled models of the same release load and call.
            j.add(
                "KERAS_REVIVED_MODEL_NOT_CALLABLE", "error",
                f"the {j.model_label} is a SavedModel of TensorFlow 1.15 holding an optimizer's slot variables (a "
                f"compiled model); Keras in {j.runtime_label} revives it with compile=False into a model whose call "
                "fails (\"object has no attribute 'loss'\")",
                model_class=m.keras_model_class,
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
        return

    if m.format in KERAS_FILE_FORMATS and j.loads_with_keras:
        writer = major(m.keras_version)
        if runtime == 3 and m.format == "h5" and (m.path or "").endswith(".keras"):
            # Measured: Keras 3 goes by the extension, and a ".keras" must be a zip (TF 1.x's tf.keras
            # wrote HDF5 to any path that was not a SavedModel directory).
            j.add(
                "KERAS_FORMAT_NOT_READ", "error",
                f"the {j.model_label} is an HDF5 file named .keras; {keras_from}, which reads a .keras path only as "
                "a .keras zip (\"File not found ... accessible .keras zip file\")",
                format=m.format,
            )
        if writer == 3 and runtime == 2:
            j.add(
                "KERAS3_FILE_ON_KERAS2", "error",
                f"the {j.model_label} was written by Keras {m.keras_version} and {keras_from}: "
                "Keras 2 cannot deserialize Keras 3 configs",
                model_keras=m.keras_version, keras_major=runtime,
            )
        elif writer == 2 and runtime == 3 and not m.keras_classes:
            # Facts from before tfguard read Keras configs: whether this file's objects deserialize
            # under Keras 3 is not known.
            j.add(
                "KERAS2_FILE_ON_KERAS3", "warning",
                f"the {j.model_label} was written by Keras {m.keras_version} and {keras_from}: Keras 3 reads "
                "Keras 2 files with built-in layers, custom and Lambda layers often fail",
                model_keras=m.keras_version, keras_major=runtime,
            )
        elif m.format == "keras_v3" and not keras_format_refused(j):
            _keras_minor(j)
        _custom_classes(j)
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


def _custom_classes(j: Judgement) -> None:
    """Classes from outside Keras. Keras rebuilds one from its registry: a class registered with
    register_keras_serializable is there once its module is imported; one saved unregistered only
    when the server passes it in `custom_objects`. Measured (matrix: keras_subclassed_*_keras and
    keras_registered_raw_keras, loaded with and without importing the layer's module): both fail
    "Could not locate class" (Keras 2 also "'str' object is not callable") under every Keras from
    2.12 on, the one that wrote them included, unless the server registers them."""
    m = j.model
    custom = m.keras_custom_classes or {}
    unregistered = {key: key.rpartition(":")[0] for key, name in custom.items() if name is not None and ">" not in name}
    registered = {key: key.rpartition(":")[0] for key, name in custom.items() if name is not None and ">" in name}
    if unregistered:
        names = [key.rpartition(":")[2] for key in unregistered]
        known = j.imports_known
        j.add(
            "KERAS_CUSTOM_CLASS_NOT_REGISTERED", "error" if known else "warning",
            f"the {j.model_label} is built from {listing(names)}, saved without register_keras_serializable: "
            f"load_model rebuilds {'it' if len(names) == 1 else 'them'} only from the custom_objects a server "
            "passes, " + ("and the server passes none (\"Could not locate class\")" if known else
                          "which tfguard cannot see; plain load_model fails (\"Could not locate class\")"),
            classes=sorted(unregistered), modules=sorted({mod for mod in unregistered.values() if mod}),
        )
    named = sorted({mod for mod in registered.values() if mod})
    unnamed = sorted(key for key, mod in registered.items() if not mod)  # a legacy .h5 names no module
    if j.imports_known:
        missing = [mod for mod in named if not any(mod == i or mod.startswith(i + ".") for i in j.imports)]
        if missing or (unnamed and not j.imports):
            what = f"registered by {listing(missing)}" if missing else f"{listing(unnamed)}, registered by your own code"
            j.add(
                "KERAS_CUSTOM_MODULE_NOT_IMPORTED", "error",
                f"the {j.model_label} is built from classes {what}, which the server does not import before "
                "load_model: Keras cannot find them (\"Could not locate class\")",
                modules=missing, classes=unnamed,
            )
            return
    covered = set(unregistered.values()) | (set(named) if j.imports_known else set())
    modules = [mod for mod in m.keras_modules or () if mod.split(".")[0] not in ("keras", "tf_keras") and mod not in covered]
    if modules or (unnamed and not (j.imports_known and not j.imports)):
        where = listing(modules) if modules else f"your own modules ({listing(unnamed)})"
        j.add(
            "KERAS_CUSTOM_MODULES", "warning",
            f"the {j.model_label} uses classes from {where}: they must be importable in {j.runtime_label} and "
            "imported before load_model",
            modules=modules, classes=unnamed,
        )


def _keras_minor(j: Judgement) -> None:
    """A Keras 2 `.keras` file read by another Keras 2 minor ("expected 2 variables, but received 0"
    as its weights load). Measured on Sequential, Functional and subclassed files: 2.13's and 2.14's
    fail under every later Keras 2; 2.14's, 2.15's and tf-keras 2.16-2.20's under every older Keras 2
    from 2.12 on, except that tf-keras's load under 2.15 and under each other (2.20's under
    tf-keras 2.16-2.19), and 2.13's under 2.12."""
    from tfguard.compat.rules.keras_config import runtime_keras

    m = j.model
    k = runtime_keras(j)
    have = version_key(k.keras_version if k is not None else j.stack.keras_version)
    written = version_key(m.keras_version)
    if written and have and (2, 13) <= written[:2] <= (2, 14) and written[:2] < have[:2] < (3,):
        # Measured: 2.13's and 2.14's .keras files fail their weights under every later Keras 2
        # (2.14, 2.15 and tf-keras 2.16-2.21: "expected 2 variables, but received 0"); 2.15's load
        # under tf-keras.
        j.add(
            "KERAS_OLDER_THAN_RUNTIME", "error",
            f"the {j.model_label} is a .keras file written by Keras {m.keras_version}, older than Keras "
            f"{'.'.join(map(str, have))} in {j.runtime_label}: Keras 2 minors after 2.14 do not read its weights",
            model_keras=m.keras_version, runtime_keras=".".join(map(str, have)),
        )
    if written and have and (2, 14) <= written[:2] <= (2, 20) and (2, 12) <= have[:2] < min(written[:2], (2, 15)):
        # Measured: 2.14's and 2.15's .keras files fail their weights under every older Keras 2 from
        # 2.12 on, tf-keras 2.16-2.20's under 2.12-2.14, and those load under 2.15 (2.13's under 2.12).
        j.add(
            "KERAS_NEWER_THAN_RUNTIME", "error",
            f"the {j.model_label} is a .keras file written by Keras {m.keras_version}, newer than Keras "
            f"{'.'.join(map(str, have))} in {j.runtime_label}: an older Keras 2 does not read a newer one's weights",
            model_keras=m.keras_version, runtime_keras=".".join(map(str, have)),
        )


def keras_format_refused(j: Judgement) -> bool:
    """True (and a finding) for a .keras file under Keras 2 before 2.12. Measured: that Keras takes
    the zip for a SavedModel directory, or says the format is not supported."""
    m = j.model
    if not (m.format == "keras_v3" and j.loads_with_keras and j.keras_major == 2 and j.tf_key < (2, 12)):
        return False
    j.add(
        "KERAS_FORMAT_NOT_READ", "error",
        f"the {j.model_label} is a .keras file; Keras before 2.12 in {j.runtime_label} predates that format",
        model_keras=m.keras_version,
    )
    return True
