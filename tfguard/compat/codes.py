"""Every finding code tfguard emits, with its cause and fix: the one registry.

The probe (which cannot import tfguard) uses the same code strings; a test checks that every
code it can emit is registered here. docs/codes.md is generated from this table
(`python -m tfguard.compat.codes > docs/codes.md`) and a test keeps the two in step.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any

from tfguard.records import record



@record(frozen=True)
class Code:
    code: str
    title: str
    cause: str
    fix: str


_CODES: list[Code] = [
    # Each owner appends its codes to its own section below; codes are never renamed or reused.
    # --- model inspection (tfguard inspect) ---
    # --- verdict engine (model + image stack) ---
    Code(
        "STACK_UNKNOWN",
        "The TensorFlow release of the image is not known",
        "Neither a probe report (ImageStack), nor the tfguard.io/tensorflow-version annotation, nor the "
        "catalog of well-known images says which TensorFlow the image holds (moving tags such as "
        "`latest` are never taken as a fact). Without it tfguard cannot judge the model.",
        "Let the probe observe the image (an ImageStack), add `tfguard.io/tensorflow-version: X.Y.Z` to "
        "the workload, use a pinned catalog image (e.g. tensorflow/serving:2.15.0), or pass "
        "`--tensorflow X.Y.Z` to `tfguard check`.",
    ),
    Code(
        "MODEL_FACTS_MISSING",
        "Nothing is known about the model",
        "No ModelProfile, no inspected model and no tfguard.io/model-producer-version annotation: only "
        "the image can be judged.",
        "Run `tfguard inspect MODEL --profile NAME | kubectl apply -f -` and annotate the workload with "
        "`tfguard.io/model-profile: NAME`, or at least `tfguard.io/model-producer-version`.",
    ),
    Code(
        "STACK_IMPORT_FAILED",
        "TensorFlow does not import in the image",
        "The probe ran `import tensorflow` inside the image and it failed (see the probe's code in the "
        "message: a NumPy/protobuf the release does not support, a missing library, a CPU without AVX). "
        "No model can load there.",
        "Fix the image's Python stack to the versions the TensorFlow release declares (pip check inside "
        "the image), then let the probe run again.",
    ),
    Code(
        "MODEL_UNLOADABLE",
        "TensorFlow cannot read the model at all",
        "The model's files are past what protobuf (and so every TensorFlow release) parses: a "
        "saved_model.pb of 2 GiB or more, nested deeper than protobuf's recursion limit of 100, truncated "
        "or not a SavedModel. Measured: every release and loader fails on these.",
        "Re-export the model from its source (the file was cut, corrupted or hand-edited); for a graph "
        "over 2 GiB, move large constants into variables.",
    ),
    Code(
        "VARIABLES_BROKEN",
        "The model's checkpoint is missing or incomplete",
        "Every SavedModel loader restores the variables from variables/variables.index and its data "
        "shards. A missing directory or index, a missing shard, or a shard shorter than the index says "
        "(an interrupted copy) fails the restore in every release.",
        "Copy the whole SavedModel directory again (variables/ included) and check its size against the "
        "source; `tfguard inspect` says what is missing.",
    ),
    Code(
        "ASSETS_MISSING",
        "Asset files the model names are missing",
        "The MetaGraph lists asset files (vocabularies, lookup tables) that are not in the SavedModel's "
        "assets/ directory; the table or initializer that reads one fails when the model is loaded.",
        "Copy the SavedModel with its assets/ directory.",
    ),
    Code(
        "SAVED_MODEL_SEVERAL_METAGRAPHS",
        "tf.saved_model.load cannot choose among the SavedModel's MetaGraphs",
        "Servers call tf.saved_model.load without tags; with more than one MetaGraph (a TF1 export with "
        "serve and train graphs, say) it refuses to choose. Keras 2 load_model reads a SavedModel the same "
        "way. Measured in every release.",
        "Export only the serving MetaGraph, load with tags=['serve'] in your server, or serve the model "
        "with TensorFlow Serving (tfguard.io/model-loader: serving), which picks the serve tag set.",
    ),
    Code(
        "SAVED_MODEL_NO_SERVE_TAG_SET",
        "No MetaGraph has the tag set TensorFlow Serving looks for",
        "TensorFlow Serving loads the MetaGraph whose tag set is exactly {serve}; a model exported only as "
        "'serve, gpu' or 'train' has none, and the server finds nothing to load.",
        "Re-export with tags=['serve'] (tf.saved_model.save does so by default), or configure the server's "
        "saved_model_tags to the tag set the model has.",
    ),
    Code(
        "NODES_PINNED_TO_MISSING_DEVICE",
        "Nodes are pinned to a device the Pod does not have",
        "A TF1 graph exported with explicit device placement (/device:GPU:0) is imported by TensorFlow "
        "Serving into a Session without soft placement: on a CPU-only build, or a Pod without GPUs, the "
        "import fails. tf.saved_model.load of such a graph in 1.15 and 2.0 fails too, when a signature "
        "runs (measured; from 2.1 it places them softly).",
        "Re-export without device placement (clear_devices=True), request the GPU for the Pod on a CUDA "
        "build, or load with tf.saved_model.load of TensorFlow 2.1 or newer.",
    ),
    Code(
        "FUNCTION_NODES_PINNED_TO_MISSING_DEVICE",
        "Nodes inside the model's functions are pinned to a device the Pod does not have",
        "A tf.function traced under tf.device('/GPU:0') keeps that placement in its body. A Session places "
        "a function's nodes when it runs them, not when it loads the model: measured, TensorFlow Serving's "
        "loader of 1.15-2.1 loads such a model without the device; whether each signature then runs is "
        "not measured.",
        "Trace the functions without explicit devices, or give the Pod the device (a GPU on a CUDA build).",
    ),
    Code(
        "OP_ATTR_IGNORED",
        "Attrs the runtime's OpDefs lack are ignored",
        "A newer release saved attrs (e.g. VarHandleOp.debug_name) that the runtime's OpDefs do not "
        "declare. Measured: from 2.5 on TensorFlow logs 'Unknown attributes will be ignored' and loads the "
        "model; an attr left at its default is dropped at import in every release.",
        "Nothing to do; the attr's newer behaviour (if any) does not apply in this release.",
    ),
    Code(
        "KERAS_NO_MODEL_IN_SAVEDMODEL",
        "Keras 2 load_model finds nothing to revive in a TF1 SavedModel",
        "Keras 2 revives a SavedModel through its TF2 object graph; a TF1 export (simple_save, an "
        "Estimator export, the SavedModelBuilder) has none and no Keras metadata. Measured in every "
        "Keras 2: load_model fails (IndexError: list index out of range).",
        "Load it with tf.saved_model.load or TensorFlow Serving (tfguard.io/model-loader: tf2 or serving), "
        "or re-export the model from Keras.",
    ),
    Code(
        "KERAS_FORMAT_NOT_READ",
        "This Keras predates the model's file format",
        "The .keras zip format appeared in Keras 2.12; older Keras takes the file for a SavedModel "
        "directory or says the format is not supported (measured on TF 2.2-2.11).",
        "Load it with Keras 2.12 or newer, or save the model as .h5 for the older runtime.",
    ),
    Code(
        "KERAS_CLASS_NOT_IN_RUNTIME",
        "The runtime's Keras does not resolve a class the model is built from",
        "An .h5 config names classes by name only; the runtime's Keras must have each (measured: tf.keras "
        "of 1.15-2.2 does not know Functional, which Keras 2.4+ writes: 'Unknown layer: Functional').",
        "Load the model with the Keras that wrote it (or newer), or re-save it from that Keras.",
    ),
    Code(
        "KERAS_CONFIG_REJECTED",
        "The runtime's Keras refuses arguments the model's config passes",
        "Each layer is rebuilt from its saved config; measured per Keras version, some keys are refused: "
        "Keras 2 refuses Keras 3's InputLayer(batch_shape=..., optional=...), Keras 3 refuses Keras 2's "
        "batch_input_shape on other layers ('Unrecognized keyword arguments').",
        "Load the model with the Keras major that wrote it, or re-save it from the runtime's Keras.",
    ),
    Code(
        "KERAS_COMPILE_CONFIG_UNKNOWN",
        "The runtime's Keras cannot restore the saved training config (compile=True)",
        "load_model compiles by default, rebuilding the optimizer, losses and metrics the file saved. "
        "Measured: Keras 3 does not restore a training config Keras 2 wrote; optimizers saved as "
        "'Custom>Adam' (Keras 2.11-2.15, tf-keras) are unknown elsewhere; tf.keras of 1.15-2.2 needs the "
        "sample_weight_mode that Keras from TF 2.3 on no longer writes (KeyError). The same file loads "
        "with compile=False.",
        "Load with compile=False (tfguard.io/model-loader: keras_nocompile), which serving needs anyway, "
        "or re-save the model from the runtime's Keras.",
    ),
    Code(
        "OPTIMIZER_SLOTS_NOT_REVIVED",
        "tf.saved_model.load cannot restore the model's optimizer slot variables",
        "A Keras SavedModel saved with its optimizer (TF 1.15-era) stores slot variables that "
        "tf.saved_model.load restores by calling add_slot on the revived optimizer. Measured: in TF 2.6 "
        "and from 2.16 on the optimizer is revived as a generic object and the load fails.",
        "Re-export without the optimizer (model.save(..., include_optimizer=False)) or export a serving "
        "SavedModel with tf.saved_model.save; or load with Keras 2 load_model.",
    ),
    Code(
        "SAVED_OBJECT_KIND_UNKNOWN",
        "The object graph holds object kinds the runtime's protos do not know",
        "Each SavedObject has a kind (user object, function, variable, captured tensor, ...). A kind added "
        "after the runtime's release is an unknown field there: the object reads as having no kind.",
        "Serve the model with a release at least as new as the one that saved it.",
    ),
    Code(
        "KERAS_METADATA_NOT_READ",
        "The runtime's Keras does not read this Keras SavedModel's metadata",
        "From TF 2.5 Keras SavedModels keep their Keras metadata in keras_metadata.pb; Keras before 2.5 "
        "reads it from the object graph, where releases from 2.6 on leave it empty (measured: JSONDecodeError "
        "in TF 2.4's load_model). Keras of TF 2.2 and later writes a Sequential model's build_input_shape "
        "as an encoded TensorShape, which Keras of 1.15-2.1 cannot read (measured: 'Error converting shape "
        "to a TensorShape').",
        "Load it with tf.saved_model.load (tfguard.io/model-loader: tf2), or with Keras 2.5 or newer.",
    ),
    Code(
        "KERAS_LAYERS_WITHOUT_METADATA",
        "The SavedModel holds Keras objects but no Keras metadata, and this Keras needs it",
        "A Keras model written by export() (or tf.saved_model.save) keeps its layers in the object graph, "
        "tagged _tf_keras_layer, without keras_metadata.pb. Keras load_model of TF 2.4-2.15 revives such "
        "objects from their metadata and fails (measured on the exports of TF 2.12: JSONDecodeError before "
        "2.6, 'lacks the Keras metadata' from 2.6 on). The exports of 2.13 on hold no such objects.",
        "Load it with tf.saved_model.load or TensorFlow Serving (tfguard.io/model-loader: tf2 or serving), "
        "which is what export() writes for, or save the model with model.save to load it with Keras.",
    ),
    Code(
        "KERAS_REVIVED_MODEL_NOT_CALLABLE",
        "The runtime's Keras revives the model into one that cannot be called",
        "Measured: Keras of TF 1.15, loading a compiled Keras SavedModel (Model, Sequential or subclassed) with compile=False, "
        "revives a model whose call fails (\"object has no attribute 'loss'\"); Keras of 2.0 calls it. A compiled model "
        "1.15's own tf.saved_model.save wrote carries no Keras metadata: its optimizer's slot variables tell it.",
        "Load it with compile=True or with tf.saved_model.load (tfguard.io/model-loader: tf2), or serve "
        "it with TensorFlow 2.0 or newer.",
    ),
    Code(
        "RELEASE_NOT_MEASURED",
        "The image's TensorFlow release was not measured: version-level facts only",
        "tfguard's release knowledge is generated from real wheels of the releases installable here "
        "(2.12 and later). For older releases it knows the version number, not the op registry, so ops "
        "and attrs cannot be checked one by one.",
        "Prefer a measured release (2.12+) for the image, or let the probe load the model in the image.",
    ),
    Code(
        "RELEASE_UNKNOWN",
        "The image's TensorFlow release is unknown to tfguard's knowledge",
        "The release is newer than (or otherwise absent from) the data generated from real wheels (a "
        "nightly, a source build). Its ops and protos cannot be checked; a failure the three measured "
        "releases before it all show, on a model no newer than they are, is judged a failure there too "
        "(measured on tf-nightly 2.23.0-dev: those failures hold).",
        "Regenerate the release knowledge (tools/gen_knowledge.py) with that release, or let the probe "
        "load the model in the image.",
    ),
    Code(
        "GRAPH_MIN_CONSUMER",
        "The graph requires a newer GraphDef consumer than the runtime",
        "The model's GraphDef versions.min_consumer is above the runtime's GRAPH_DEF_VERSION: TensorFlow "
        "refuses the graph ('min consumer version ... above current version ... Please upgrade "
        "TensorFlow').",
        "Serve the model with a TensorFlow release whose GRAPH_DEF_VERSION is at least the graph's "
        "min_consumer.",
    ),
    Code(
        "GRAPH_BAD_CONSUMER",
        "The graph names the runtime's GraphDef version as a bad consumer",
        "The model's GraphDef versions.bad_consumers lists the runtime's GRAPH_DEF_VERSION: TensorFlow "
        "refuses the graph ('disallows consumer version ...').",
        "Serve the model with another TensorFlow release.",
    ),
    Code(
        "GRAPH_PRODUCER_TOO_OLD",
        "The graph was produced by a GraphDef version the runtime no longer accepts",
        "The model's GraphDef producer is below the runtime's GRAPH_DEF_VERSION_MIN_PRODUCER: TensorFlow "
        "refuses the graph ('producer version ... below min producer ... Please regenerate your graph').",
        "Re-export the model with a newer TensorFlow release.",
    ),
    Code(
        "OP_NOT_REGISTERED",
        "The model uses ops the runtime does not register",
        "Every op type in the graph (function library included) must be registered in the runtime; a "
        "missing one fails the load ('Op type not registered ...'). The message names the ops and the "
        "first release that has them.",
        "Serve the model with a release at least as new as the one named for the missing ops, or "
        "re-export the model without those ops (or load their custom-op library).",
    ),
    Code(
        "OP_LIBRARY_NOT_LOADED",
        "The model uses ops of a custom-op library the server does not load",
        "Ops such as TFText>WhitespaceTokenizeWithOffsetsV2 are registered by a custom-op library "
        "(tensorflow-text, TensorFlow Decision Forests, TensorFlow Addons), not by TensorFlow, and only in a "
        "process that loaded it: a Python server must import the library before it loads the model "
        "(TF-Addons registers its kernels on first use, or with register_all), and a model server "
        "without Python has only the op libraries it was built with (TF Serving links tensorflow-text's "
        "ops and, from 2.11, TF-DF's inference ops; nothing else). Otherwise the load fails with 'Op type "
        "not registered'. Which library release registers which op is measured from the real wheels "
        "(tfguard/compat/data/oplibs.json).",
        "Install the library release built for the image's TensorFlow (the message names it) and import "
        "it before the model loads; for a model server without Python, serve the model from a Python "
        "TensorFlow image that does, or build the server with that library's ops.",
    ),
    Code(
        "OP_ATTR_NOT_IN_OPDEF",
        "TensorFlow before 2.5 refuses graph nodes with attrs its OpDefs lack",
        "A newer release saved attrs with non-default values (VarHandleOp.debug_name on every variable from "
        "2.10 on, MatMul.grad_a in a training graph) that the runtime's OpDefs do not declare. Measured: "
        "before 2.5 TensorFlow's graph import (TF Serving, and tf.saved_model.load of a TF1 graph) refuses "
        "such a node ('NodeDef mentions attr ... not in Op<...>'); an attr left at its default is dropped "
        "first, and from 2.5 on unknown attrs are ignored (OP_ATTR_IGNORED). Inside a function nothing is "
        "dropped: tf.saved_model.load and Keras refuse such a node, default or not, when they instantiate "
        "the function.",
        "Serve the model with TensorFlow 2.5 or newer, or with a release whose OpDef has the attr (the "
        "message names the first one), or re-export it with the serving release.",
    ),
    Code(
        "OP_ATTR_NOT_IN_OPDEF_UNCHECKED",
        "Attrs the runtime's OpDefs lack may be refused: their values were not recorded",
        "Before 2.5 TensorFlow refuses a node with an attr its OpDef lacks unless the attr is at its default; "
        "the model's facts do not say which values are defaults (facts from an older tfguard, or attrs in "
        "functions, which are validated when instantiated).",
        "Re-run `tfguard inspect --profile` with this tfguard, or serve with TensorFlow 2.5 or newer.",
    ),
    Code(
        "OP_NO_CPU_KERNEL",
        "Some ops have no CPU kernel in the runtime",
        "The runtime registers these ops but only with GPU (or other device) kernels. Without a GPU, "
        "running them fails ('No registered kernel ... for CPU'). Keras LSTM/GRU graphs carry a CuDNN "
        "variant that only runs on GPU, so this is a risk, not a certain failure.",
        "Request a GPU for the workload on a CUDA build of TensorFlow, or re-export the model for CPU.",
    ),
    Code(
        "PRODUCER_NEWER_OPS_PRESENT",
        "The model comes from a newer release, but everything it uses exists in the runtime",
        "A model saved by a newer TensorFlow loads on an older one as long as the GraphDef versions "
        "allow it and every op and attr it uses is registered there; tfguard checked all of them.",
        "Nothing to do; the finding records why a newer producer is not a problem here.",
    ),
    Code(
        "PRODUCER_NEWER_UNVERIFIED",
        "The model comes from a newer release and tfguard cannot check its ops",
        "Only version order speaks against the model: tfguard knows the producer release but not the "
        "model's op set (annotation only), or not the runtime's op registry. Usually such a model "
        "loads, unless it uses an op or attr the runtime lacks.",
        "Give tfguard the model's facts: `tfguard inspect MODEL --profile NAME` applied as a "
        "ModelProfile, or let the probe read the model in the pod.",
    ),
    Code(
        "VERSION_FACTS_ONLY",
        "Only the model's producer version is known",
        "The producer release is not newer than the runtime's; TensorFlow keeps GraphDefs and "
        "SavedModels loadable by later 2.x releases, so version order is no objection, but the ops "
        "and the model format were not checked.",
        "For op-level precision, publish a ModelProfile (`tfguard inspect MODEL --profile NAME`).",
    ),
    Code(
        "SAVED_MODEL_LOADER_ON_KERAS_FILE",
        "A Keras file cannot be loaded as a SavedModel",
        "`tf.saved_model.load` (and TF Serving) read SavedModel directories only; a .keras zip or an "
        ".h5 file fails ('SavedModel file does not exist at ...').",
        "Load it with `tf.keras.models.load_model`, or export a SavedModel (Keras 3: `model.export(dir)`; "
        "Keras 2: `model.save(dir, save_format='tf')`).",
    ),
    Code(
        "KERAS_LOADER_NOT_IN_IMAGE",
        "The image has no Python Keras loader",
        "The image is a model server (TensorFlow Serving, a C++ binary): it loads SavedModels only and "
        "cannot run `tf.keras.models.load_model`.",
        "Export a SavedModel for the server, or serve the Keras file from a Python TensorFlow image.",
    ),
    Code(
        "KERAS_FILE_NOT_SERVABLE",
        "TensorFlow Serving cannot serve a Keras file",
        "TensorFlow Serving loads SavedModel directories only; .keras and .h5 files are not servable.",
        "Export a SavedModel (Keras 3: `model.export(dir)`; Keras 2: `model.save(dir, save_format='tf')`) "
        "and serve that.",
    ),
    Code(
        "KERAS3_CANNOT_LOAD_SAVEDMODEL",
        "Keras 3 `load_model` does not load SavedModels",
        "Where `tf.keras` is Keras 3 (TensorFlow 2.16+ without TF_USE_LEGACY_KERAS), "
        "`tf.keras.models.load_model` only reads .keras and .h5 files: a SavedModel directory fails "
        "('File format not supported ... Keras 3 only supports V3 .keras files and legacy H5').",
        "Load the SavedModel with `tf.saved_model.load` or `keras.layers.TFSMLayer(dir, "
        "call_endpoint='serving_default')`, or install tf_keras and set TF_USE_LEGACY_KERAS=1 in the image.",
    ),
    Code(
        "KERAS_LOADER_MAY_FAIL",
        "If the serving code uses `tf.keras.models.load_model`, the load fails",
        "The loader is not known (auto) and the model is a SavedModel: `tf.saved_model.load` and TF "
        "Serving load it, but Keras 3 `load_model` in this image would not.",
        "Tell tfguard the loader (`tfguard.io/model-loader` or `--loader`); with the Keras loader, use "
        "`tf.saved_model.load`/`TFSMLayer` instead, or TF_USE_LEGACY_KERAS=1 with tf_keras.",
    ),
    Code(
        "KERAS2_LOADS_SAVEDMODEL_AS_OBJECT",
        "Keras 2 loads a SavedModel without Keras metadata as a plain object",
        "Keras 2 `load_model` on a SavedModel that has no keras_metadata.pb (written by "
        "`tf.saved_model.save` or Keras 3 `model.export`) does not fail, but returns a revived "
        "TensorFlow object, not a Keras model: `.predict()` and friends are missing.",
        "Load it with `tf.saved_model.load` and call its signatures.",
    ),
    Code(
        "KERAS3_FILE_ON_KERAS2",
        "A Keras 3 model file cannot be loaded by Keras 2",
        "Keras 3 writes layer configs Keras 2 does not understand (e.g. InputLayer `batch_shape`, "
        "dtype policies as objects): Keras 2 `load_model` fails deserializing them.",
        "Serve it from an image where `tf.keras` is Keras 3 (TensorFlow 2.16+), or re-save the model "
        "with Keras 2.",
    ),
    Code(
        "KERAS2_FILE_ON_KERAS3",
        "A Keras 2 model file under Keras 3",
        "Keras 3 reads .keras files written by Keras 2.13-2.15 and legacy .h5 files for built-in layers "
        "(measured with TF 2.15 -> 2.20), but custom layers, Lambda layers and some optimizer states "
        "often fail to deserialize.",
        "Test the load in the image (the probe does), or serve with tf_keras and TF_USE_LEGACY_KERAS=1.",
    ),
    Code(
        "KERAS_MODULE_NOT_IN_RUNTIME",
        "The Keras file names Python modules the image's Keras does not have",
        "A .keras config records the module of each class it serializes. Keras 2.13-2.15 write "
        "internals such as keras.src.engine.functional (every Functional model); Keras 3 has no "
        "keras.src.engine package, so load_model fails ('Could not deserialize class ... because its "
        "parent module ... cannot be imported'), measured with TF 2.15.1 -> 2.20.0.",
        "Re-save the model with the image's Keras (load it where it was written, then "
        "`model.save('model.keras')` under Keras 3), serve it from a Keras 2 image, or export a SavedModel.",
    ),
    Code(
        "KERAS_CUSTOM_MODULES",
        "The Keras file uses classes from modules outside Keras",
        "The config names custom layers, losses or models from your own modules; load_model can only "
        "rebuild them if those modules are importable (and the classes registered) in the image.",
        "Install the package with the custom objects in the image and register them "
        "(`keras.saving.register_keras_serializable`), or pass `custom_objects` to load_model.",
    ),
    Code(
        "KERAS_CUSTOM_CLASS_NOT_REGISTERED",
        "The Keras file is built from custom classes saved without registration",
        "Keras rebuilds a class from outside Keras from its registry. A class decorated with "
        "register_keras_serializable is saved as 'package>Name' and is found once its module is imported; "
        "one saved without it is found only in the custom_objects the server passes to load_model. "
        "Measured: an unregistered subclassed model's .keras file fails 'Could not locate class' under every "
        "Keras from 2.12 on, the one that wrote it included. An error when the server's imports are known "
        "(it passes no custom_objects), a warning when they are not.",
        "Decorate the classes with `@keras.saving.register_keras_serializable()` and save the model again, "
        "then import their module before load_model; or pass them in `custom_objects`; or serve an "
        "exported SavedModel (`model.export()`), which needs no Python classes.",
    ),
    Code(
        "KERAS_CUSTOM_MODULE_NOT_IMPORTED",
        "The server does not import the module that registers the model's Keras classes",
        "A class registered with register_keras_serializable is in Keras's registry only once the module "
        "defining it has been imported; the server's imports (tfguard.io/model-imports, --import) do not "
        "include it, so load_model cannot find the class.",
        "Import the module before load_model (and say so in tfguard.io/model-imports), or pass the classes "
        "in `custom_objects`.",
    ),
    Code(
        "KERAS_NEWER_THAN_RUNTIME",
        "The model was written by a newer Keras than the image's",
        "Within one Keras major, a newer Keras may write config keys or layers an older one cannot "
        "deserialize. Measured on .keras files: those of Keras 2.14, 2.15 and tf-keras 2.16-2.20 fail "
        "their weights under each older Keras 2 from 2.12 on ('expected 2 variables, but received 0'); "
        "tf-keras's load under Keras 2.15.",
        "Serve with a Keras at least as new as the writer, or re-save with the image's Keras.",
    ),
    Code(
        "KERAS_OLDER_THAN_RUNTIME",
        "The .keras file was written by an older Keras 2 minor than the image's",
        "Keras 2.13 and 2.14 wrote .keras files whose weights later Keras 2 minors (2.15, tf-keras) do "
        "not find: load_model fails with \"expected 2 variables, but received 0\".",
        "Serve with the Keras minor that wrote the file, or load it there and re-save it with the image's Keras.",
    ),
    Code(
        "KERAS_SAVEDMODEL_NEWER_THAN_RUNTIME",
        "The Keras SavedModel was saved by a newer TensorFlow than the image's, whose Keras may not revive it",
        "Keras of TF 2.1 revives a functional Keras SavedModel of a later release (2.2-2.5) from its object "
        "graph into an object that is not a Keras model (KeyError: 0).",
        "Serve with a TensorFlow at least as new as the producer, or load with `tf.saved_model.load`.",
    ),
    Code(
        "KERAS_FORMAT_UNKNOWN",
        "The Keras loader's success depends on a model format tfguard does not know",
        "Only the producer version is known, and the image's `tf.keras` is of another Keras major than "
        "the producer's: whether `load_model` works depends on the file format (a SavedModel fails "
        "under Keras 3; a Keras 3 file fails under Keras 2).",
        "Publish a ModelProfile (`tfguard inspect MODEL --profile NAME`) so tfguard knows the format.",
    ),
    Code(
        "GPU_ON_CPU_ONLY_BUILD",
        "GPUs are requested but the image's TensorFlow is a CPU-only build",
        "A CPU-only TensorFlow (tensorflow-cpu, or a build without CUDA) never uses a GPU: a workload "
        "that requires one runs without it (or fails its own device check).",
        "Use a CUDA build of TensorFlow (e.g. the -gpu image tag, or `tensorflow[and-cuda]`), or drop "
        "the GPU request.",
    ),
    Code(
        "GPU_BUILD_UNKNOWN",
        "GPUs are required but tfguard does not know whether the image's TensorFlow has CUDA",
        "The image's facts do not say whether TensorFlow was built with CUDA (explicit version only, "
        "or an annotation).",
        "Let the probe observe the image, or use a catalog image whose tag says -gpu.",
    ),
    Code(
        "CUDA_DRIVER_TOO_OLD",
        "The NVIDIA driver cannot run the image's CUDA build",
        "Under CUDA minor-version compatibility a CUDA 12.x build runs on any Linux driver from "
        "525.60.13 (11.x: 450.80.02); below that floor, or with a driver of an older CUDA major, "
        "TensorFlow sees no GPU and runs on the CPU. See docs/gpu.md.",
        "Upgrade the node's NVIDIA driver (at least the floor the message names), or use an image "
        "built against the driver's CUDA major.",
    ),
    # --- GPUs and CPUs of the nodes a pod can land on (docs/gpu.md) ---
    Code(
        "CUDA_DRIVER_BELOW_TOOLKIT",
        "The NVIDIA driver is older than the build's CUDA toolkit: minor-version compatibility only",
        "The driver is at or above the floor of the CUDA major, so TensorFlow sees the GPU, but below "
        "the GA driver of the build's own CUDA minor: PTX newer than the driver cannot be JIT-compiled "
        "and XLA disables parallel compilation.",
        "Nothing breaks while the GPU runs the build's SASS; upgrade the driver to the toolkit's GA "
        "driver to be safe on GPUs that need the PTX.",
    ),
    Code(
        "GPU_PTX_JIT",
        "The GPU has no SASS in this build: its kernels are JIT-compiled from PTX at startup",
        "The build ships cubins (SASS) for other architectures only; the driver compiles the PTX for "
        "this GPU when the process starts, which can take many minutes and happens again in every "
        "new container unless the CUDA JIT cache persists.",
        "Use a TensorFlow build with SASS for the GPU's architecture, schedule on GPUs it ships SASS "
        "for, or persist the JIT cache (CUDA_CACHE_PATH on a volume, CUDA_CACHE_MAXSIZE).",
    ),
    Code(
        "GPU_PTX_TOO_NEW_FOR_DRIVER",
        "The GPU needs the build's PTX, and the driver is too old to compile it",
        "The build has no SASS for the GPU's architecture, and its PTX is of an ISA newer than the "
        "driver supports: kernels fail to load (CUDA_ERROR_UNSUPPORTED_PTX_VERSION).",
        "Upgrade the driver to at least the one the message names, or use a build with SASS for the GPU.",
    ),
    Code(
        "GPU_COMPUTE_CAPABILITY_UNSUPPORTED",
        "The GPU's compute capability is below what the build supports",
        "TensorFlow ignores a GPU whose compute capability is below the lowest of its build's targets "
        "('Ignoring visible gpu device ... The minimum required Cuda capability is ...') and runs on "
        "the CPU.",
        "Schedule on newer GPUs (a nodeSelector on nvidia.com/gpu.compute.major), or use a build that "
        "targets this GPU.",
    ),
    Code(
        "CPU_INSTRUCTIONS_MISSING",
        "The node's CPU lacks an instruction set the TensorFlow build uses",
        "The build was compiled to use instructions (AVX for every official x86-64 wheel since 1.6) "
        "the node's CPU does not have, as Node Feature Discovery labels it: `import tensorflow` dies "
        "with SIGILL.",
        "Schedule on nodes whose CPUs have it (a nodeSelector on "
        "feature.node.kubernetes.io/cpu-cpuid.AVX=true), or use a build without it.",
    ),
    Code(
        "NODES_NONE_CAN_RUN",
        "None of the nodes the pod can be scheduled on can run it",
        "tfguard matched the pod template (nodeSelector, required node affinity, tolerations, the GPU "
        "resource it asks for) against the Nodes, and every candidate node fails a GPU or CPU check "
        "(the message names them and why).",
        "Fix what the message names (driver, GPU, CPU), or steer the pod to nodes that can run it.",
    ),
    Code(
        "NODES_SOME_CANNOT_RUN",
        "Some of the nodes the pod can be scheduled on cannot run it",
        "Some candidate nodes fail a GPU or CPU check; the scheduler does not know that and may place "
        "the pod there.",
        "Add a nodeSelector or node affinity that keeps the pod off the nodes the message names, or "
        "fix them.",
    ),
    Code(
        "NODES_CAN_RUN",
        "How many of the nodes the pod can be scheduled on can run it",
        "Every candidate node was checked against the build (driver, compute capability, CPU "
        "instructions); the message counts those that can run it.",
        "Nothing to do.",
    ),
    Code(
        "NODES_NO_CANDIDATE",
        "No node matches the pod template",
        "No Node satisfies the pod's nodeSelector, required node affinity, tolerations and GPU "
        "request: the pod stays Pending until one does (an autoscaler may add one).",
        "Check the nodeSelector, affinity and tolerations against the node pool's labels and taints.",
    ),
    # --- admission webhook ---
    Code(
        "ADMISSION_BAD_ANNOTATION",
        "A tfguard annotation has a value tfguard cannot use",
        "A tfguard.io/ annotation holds something that is not a release number, a known loader, a GPU "
        "choice, a mode, or the name of a container of the pod. The webhook ignores that value.",
        "Correct the annotation; docs/annotations.md lists every annotation and the values it takes.",
    ),
    Code(
        "ADMISSION_UNSAFE_MODEL_PATH",
        "The model path is not a plain absolute path",
        "tfguard.io/model-path is relative, contains '..' or control characters. The probe would not "
        "read it, so the webhook ignores it.",
        "Give the absolute, normalised path of the model inside the serving container (or a gs:// or s3:// URI).",
    ),
    Code(
        "ADMISSION_PROFILE_MISSING",
        "The ModelProfile the object names is not known",
        "tfguard.io/model-profile names a ModelProfile the webhook has not seen in the object's namespace "
        "(not created yet, another namespace, or the webhook's cache is not available). The verdict falls "
        "back to the annotations, which only allow version-order reasoning.",
        "Apply the profile (`tfguard inspect MODEL --profile NAME | kubectl apply -f -`) in the same "
        "namespace before the workload, or fix the name.",
    ),
    Code(
        "ADMISSION_PROFILE_STALE",
        "The ModelProfile disagrees with the object's annotations",
        "The ModelProfile's producer version differs from tfguard.io/model-producer-version, so it most "
        "likely describes another build of the model. The verdict falls back to the annotations.",
        "Regenerate the profile from the model that is deployed, or correct the annotation.",
    ),
    Code(
        "ADMISSION_UNSUPPORTED_OBJECT",
        "The webhook was sent an object it does not check",
        "The webhook checks Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, "
        "CronJobs, Pods and KServe InferenceServices on /validate and Pods on /mutate. Anything else is "
        "admitted unchecked.",
        "Register the webhook only for the kinds it checks (the Helm chart does).",
    ),
    Code(
        "ADMISSION_INTERNAL_ERROR",
        "The webhook failed or ran out of time and admitted the object unchecked",
        "tfguard fails open: an internal error or a check that overruns the admission time limit admits "
        "the object with this warning rather than blocking the cluster. The webhook's log has the details "
        "under the request uid.",
        "Report the log line; meanwhile run `tfguard check` on the model and image by hand.",
    ),
    Code(
        "ADMISSION_DECLARED_STACK_CONTRADICTED",
        "An image annotation disagrees with what tfguard knows about the image",
        "tfguard.io/tensorflow-version or tfguard.io/keras-version says one release, but the probe "
        "observed (an ImageStack) or the catalog lists another for this image. Facts win over what an "
        "annotation declares: the verdict uses the observed or listed release.",
        "Remove the annotation (tfguard knows the image), or correct it; if the image really holds "
        "another release, its tag is misleading: retag it.",
    ),
    Code(
        "ADMISSION_GPU_DECLARED_NONE",
        "tfguard.io/gpu says none, but the container requests GPUs",
        "The serving container asks for nvidia.com/gpu or a MIG slice (nvidia.com/mig-*), so TensorFlow "
        "will see and use GPUs, while tfguard.io/gpu: none says the model needs none. The verdict treats "
        "GPUs as optional.",
        "Drop the GPU request if the model runs on CPU, or set tfguard.io/gpu to optional or required.",
    ),
    Code(
        "ADMISSION_UNKNOWN_ANNOTATION",
        "A tfguard.io/ annotation tfguard does not know",
        "The key starts with tfguard.io/ but is not one of tfguard's annotations (most often a typo, "
        "such as tfguard.io/model-pth). It is ignored.",
        "Use one of the annotations listed in docs/annotations.md (the warning names the closest one).",
    ),
    Code(
        "ADMISSION_MALFORMED_OBJECT",
        "The object does not have the shape Kubernetes gives it",
        "A field tfguard reads (annotations, containers, resources, volume mounts) has the wrong type, "
        "e.g. annotations as a list. The API server never sends such an object; a client that calls the "
        "webhook directly can. In enforce mode the request is denied, otherwise admitted with this "
        "warning.",
        "Send the object as the API server would (the message names the field).",
    ),
    Code(
        "ADMISSION_PROBE_NOT_INJECTED",
        "The probe was not injected, so the Pod could start as it is",
        "Injecting the probe would have kept the Pod from being created or started: it would lower the "
        "Pod Security level the Pod meets, the Pod runs on Windows, or another container mounts the probe's "
        "volume. The Pod is admitted unchanged and the annotation tfguard.io/probe-skipped says why.",
        "Nothing is blocked. To get the probe, fix what the message names; to silence this, annotate the "
        "pod template with tfguard.io/inject: \"false\".",
    ),
    Code(
        "ADMISSION_PROBE_LOOKALIKE",
        "The Pod carries containers named like tfguard's probe that tfguard did not inject",
        "An init container or volume uses a name tfguard reserves (tfguard-probe, tfguard-probe-install) "
        "but is not what tfguard injects, e.g. copied from another Pod's spec. tfguard replaced them with "
        "its own; the operator accepts probe reports only from containers that are exactly tfguard's.",
        "Remove the tfguard-probe containers and volume from the pod template: the webhook injects them.",
    ),
    # --- KServe InferenceServices (admission and operator) ---
    Code(
        "KSERVE_RUNTIMES_UNKNOWN",
        "The cluster's KServe serving runtimes are not known",
        "An InferenceService's image comes from a ServingRuntime or ClusterServingRuntime, which tfguard reads "
        "from a watch. It has none: KServe's CRDs are not installed, tfguard's service account may not list "
        "them, or the first list has not arrived. The predictor is judged only if it names its image.",
        "Install tfguard's chart with KServe present (it grants the read access), or set "
        "`tfguard.io/tensorflow-version` on the InferenceService.",
    ),
    Code(
        "KSERVE_RUNTIME_NOT_FOUND",
        "The InferenceService names a runtime that does not exist or is disabled",
        "`spec.predictor.model.runtime` names no ServingRuntime in the namespace and no ClusterServingRuntime, "
        "or the one it names is disabled: KServe's controller will not create the predictor.",
        "Name an existing runtime (`kubectl get servingruntimes,clusterservingruntimes`), or leave `runtime` out "
        "so KServe picks one for the model format.",
    ),
    Code(
        "KSERVE_RUNTIME_FORMAT_UNSUPPORTED",
        "The named runtime does not serve the model format",
        "The runtime the InferenceService names does not list its modelFormat (name, or name:version) in "
        "supportedModelFormats: KServe refuses to run the model on it.",
        "Name a runtime that lists the format (TF Serving's kserve-tensorflow-serving lists tensorflow 1 and 2), "
        "or fix modelFormat.",
    ),
    Code(
        "KSERVE_NO_RUNTIME",
        "No runtime is auto-selected for the model format",
        "No ServingRuntime in the namespace and no ClusterServingRuntime lists the InferenceService's model "
        "format with autoSelect: true for its protocol (or all such runtimes are disabled or multi-model): "
        "KServe will not create the predictor.",
        "Install KServe's default runtimes, name a runtime in `spec.predictor.model.runtime`, or fix "
        "modelFormat/protocolVersion.",
    ),
    # --- operator ---
    Code(
        "OPERATOR_PROBE_NOT_TRUSTED",
        "A probe report was refused: its container is not the one tfguard injects",
        "A Pod's tfguard-probe init container reported, but the Pod's probe containers are not exactly "
        "what the webhook injects (images, commands, the probe volume and what is mounted over it). "
        "Anyone who can create Pods can name a container tfguard-probe, so such a report never becomes "
        "an ImageStack or a verdict.",
        "Let the webhook inject the probe (remove hand-made tfguard-probe containers from the template).",
    ),
    Code(
        "OPERATOR_PODS_REJECTED",
        "The workload's Pods cannot be created",
        "The ReplicaSet controller reports that the API server refuses the workload's Pods (for example a "
        "Pod Security violation or a quota). Whatever tfguard's verdict on the model, no Pod runs it.",
        "Read the message (it is the API server's), fix the pod template or the namespace's policy.",
    ),
    Code(
        "OPERATOR_UNREADABLE_PROBE_REPORT",
        "The probe in a Pod left a report tfguard cannot read",
        "The tfguard-probe init container terminated, but its termination message is not a probe report "
        "(empty, cut short, or from a probe of another tfguard version). The operator cannot tell what the "
        "image holds.",
        "Run `kubectl logs POD -c tfguard-probe` for the full report; keep the probe image and tfguard at "
        "the same version.",
    ),
    Code(
        "OPERATOR_CHECK_FAILED",
        "tfguard could not judge the workload",
        "The operator's background check of the workload raised an error (a bug in tfguard, or facts of a "
        "shape it cannot read). Its PolicyReport result is `error`; the operator's log has the traceback.",
        "Report the operator's log line for the workload; meanwhile the admission webhook still fails open "
        "for it.",
    ),
    # --- probe: import, GPU, model load ---
    Code(
        "PROBE_IMPORT_OK",
        "TensorFlow imports in the image",
        "The probe imported TensorFlow in a child process with the image's own python3.",
        "Nothing to do.",
    ),
    Code(
        "PROBE_TF_NOT_INSTALLED",
        "TensorFlow is not installed in the image",
        "`import tensorflow` raised ModuleNotFoundError for `tensorflow` itself: the image's python3 has"
        " no TensorFlow (or the probe ran in the wrong container).",
        "Use an image that has TensorFlow installed for its python3, or point tfguard at the container "
        "that serves the model.",
    ),
    Code(
        "PROBE_IMPORT_SIGILL",
        "Importing TensorFlow died of SIGILL",
        "The TensorFlow build uses CPU instructions (AVX, AVX2, ...) the node's CPU does not have; the "
        "process is killed by an illegal-instruction signal. The probe reports the CPU's SIMD flags.",
        "The CPU lacks an instruction set this TensorFlow build was compiled for (usually AVX/AVX2): "
        "schedule on nodes whose CPUs have it, or use a build without it.",
    ),
    Code(
        "PROBE_IMPORT_CRASHED",
        "Importing TensorFlow crashed the process",
        "The import died of a signal (SIGSEGV, SIGBUS, SIGABRT) or ended the process without a Python "
        "error: a corrupt or truncated native library, or native libraries from mismatched builds. The "
        "details hold the last lines of the crash, including Python's fault handler frames.",
        "A native library of the stack is corrupt or mismatched: rebuild the image from clean wheels; "
        "check the crash frames in the details.",
    ),
    Code(
        "PROBE_IMPORT_TIMEOUT",
        "Importing TensorFlow did not finish in time",
        "The import hung past the probe's time budget and was killed (a hung GPU driver, a stalled "
        "network filesystem, a lock).",
        "Importing TensorFlow did not finish within the time budget: check for a hung driver or a "
        "stalled network filesystem, or raise the budget.",
    ),
    Code(
        "PROBE_MISSING_SHARED_LIBRARY",
        "A shared library TensorFlow needs is missing",
        "The import failed with `cannot open shared object file`; the message names the library (e.g. "
        "libtensorflow_framework.so.2, libcudart.so.12).",
        "Install the library named in the message (or the wheel that ships it), or fix LD_LIBRARY_PATH.",
    ),
    Code(
        "PROBE_UNDEFINED_SYMBOL",
        "A native library has an undefined symbol",
        "The import failed with `undefined symbol`: native libraries from different builds or releases "
        "are mixed (TensorFlow and an add-on, or a plugin for another release).",
        "Two native libraries come from different builds: install matching versions (TensorFlow and its "
        "plugins/add-ons from the same release).",
    ),
    Code(
        "PROBE_NUMPY_ABI",
        "NumPy is binary-incompatible with this TensorFlow",
        "The installed NumPy is outside the range TensorFlow was compiled for (NumPy 2 under TF < 2.18):"
        " the import fails with `compiled using NumPy 1.x` / `numpy.core.umath failed to import`, or "
        "dies of a signal while TensorFlow's declared numpy requirement is violated.",
        "Install a NumPy within TensorFlow's declared range (TF < 2.18 needs numpy<2).",
    ),
    Code(
        "PROBE_PROTOBUF_INCOMPATIBLE",
        "protobuf is incompatible with this TensorFlow",
        "The import failed with `Descriptors cannot be created directly` or a protobuf gencode/runtime "
        "version error: the installed protobuf is outside TensorFlow's declared range.",
        "Install a protobuf within TensorFlow's declared range, or set "
        "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python as a stopgap.",
    ),
    Code(
        "PROBE_IMPORT_ERROR",
        "Importing TensorFlow failed",
        "The import raised an error none of the specific codes describes; the message and details carry "
        "the last lines of the error.",
        "Read the last lines of the error in the details; fix the image's Python stack.",
    ),
    Code(
        "PROBE_REQUIREMENTS_OK",
        "Installed packages satisfy their declared requirements",
        "Every installed distribution's declared requirements (for this Python and platform) are met by "
        "the installed versions.",
        "Nothing to do.",
    ),
    Code(
        "PROBE_REQUIREMENT_VIOLATED",
        "An installed package's declared requirements are violated",
        "An installed distribution declares a requirement (e.g. tensorflow-cpu 2.15.1 requires numpy<2) "
        "the installed version does not meet, like `pip check` reports. A warning when TensorFlow still "
        "imports: the combination is untested.",
        "Install the versions the packages declare (pip check lists the same conflicts); it imports "
        "today but is untested.",
    ),
    Code(
        "PROBE_TF_KERAS_OK",
        "tf.keras resolves",
        "`tf.keras` resolves to a Keras package; the report says which one (keras 2, keras 3 or tf-"
        "keras) and its version.",
        "Nothing to do.",
    ),
    Code(
        "PROBE_TF_KERAS_BROKEN",
        "tf.keras cannot be used",
        "TensorFlow imports but `tf.keras` raises: the installed Keras is not the one this release "
        "expects (e.g. Keras 3 installed over TF 2.15, whose tf.keras needs Keras 2). An error when the "
        "model is a Keras model or no model was given, a warning for a plain SavedModel.",
        "Install the Keras the TensorFlow release expects (keras 2.x for TF <= 2.15, keras 3 for TF >= "
        "2.16, or tf-keras with TF_USE_LEGACY_KERAS=1).",
    ),
    Code(
        "PROBE_GPU_OK",
        "TensorFlow sees the GPUs",
        "`tf.config.list_physical_devices('GPU')` lists at least one GPU.",
        "Nothing to do.",
    ),
    Code(
        "PROBE_GPU_NOT_CHECKED",
        "GPU check not requested",
        "The probe ran with `--gpu none` (tfguard.io/gpu: none).",
        "Nothing to do.",
    ),
    Code(
        "PROBE_GPU_NO_DEVICE",
        "The container has no GPU device",
        "No /dev/nvidia<N> device node exists in the container: no GPU was allocated to it. A failure "
        "when a GPU is required; with `--gpu optional` the model runs on the CPU and the check is "
        "skipped.",
        "Request GPUs in the container's resources (nvidia.com/gpu) and schedule on a GPU node with the "
        "NVIDIA device plugin.",
    ),
    Code(
        "PROBE_GPU_NO_DRIVER_LIBRARY",
        "The NVIDIA driver library cannot be loaded",
        "libcuda.so.1 (which the NVIDIA container runtime mounts from the node) cannot be loaded in the "
        "container, so no CUDA program can reach the GPU.",
        "The node's NVIDIA container runtime must mount libcuda.so.1 into the container: check the "
        "runtime class and the device plugin.",
    ),
    Code(
        "PROBE_GPU_DRIVER_TOO_OLD",
        "The NVIDIA driver is too old for this TensorFlow build",
        "The CUDA version the driver supports (cuDriverGetVersion, or the driver version from "
        "/proc/driver/nvidia/version and NVIDIA's minimum-driver table) is older than the CUDA version "
        "TensorFlow was built with (tf.sysconfig.get_build_info()).",
        "Upgrade the node's NVIDIA driver, or use a TensorFlow build for an older CUDA.",
    ),
    Code(
        "PROBE_GPU_CPU_ONLY_BUILD",
        "This TensorFlow is a CPU-only build",
        "A GPU was asked for, but tf.sysconfig.get_build_info() says is_cuda_build=False (e.g. "
        "tensorflow-cpu): it never uses a GPU.",
        "Use a CUDA build of TensorFlow (e.g. tensorflow[and-cuda] or a -gpu image) instead of "
        "tensorflow-cpu.",
    ),
    Code(
        "PROBE_GPU_NOT_VISIBLE",
        "TensorFlow sees no GPU for another reason",
        "Device nodes, the driver library and the CUDA versions look right, yet TensorFlow lists no GPU "
        "(missing CUDA/cuDNN runtime libraries in the image, CUDA_VISIBLE_DEVICES, ...).",
        "Device nodes and driver look right but TensorFlow sees no GPU: check the CUDA/cuDNN libraries "
        "in the image and CUDA_VISIBLE_DEVICES.",
    ),
    Code(
        "PROBE_GPU_CHECK_FAILED",
        "Listing the GPUs failed",
        "`tf.config.list_physical_devices('GPU')` raised, crashed or hung.",
        "Listing GPUs crashed or hung: the driver stack in the container is broken.",
    ),
    Code(
        "PROBE_MODEL_LOADED",
        "The model loads in the image",
        "The model loaded with the stack's own loader (tf.saved_model.load or "
        "tf.keras.models.load_model).",
        "Nothing to do.",
    ),
    Code(
        "PROBE_MODEL_NOT_CHECKED",
        "The model was not loaded",
        "The probe could not get to the model load: TensorFlow does not import, or the time budget was "
        "spent before.",
        "Fix the failure the probe reports before it (usually the import), or raise the time budget.",
    ),
    Code(
        "PROBE_MODEL_NOT_FOUND",
        "The model path does not exist",
        "Nothing exists at the model path inside the container: the volume is not mounted there, or the "
        "path is wrong.",
        "Mount the model at the path given (tfguard.io/model-path), or fix the path.",
    ),
    Code(
        "PROBE_NOT_A_MODEL",
        "The model path is not a model",
        "The path exists but is neither a SavedModel directory (saved_model.pb), a .keras zip "
        "(config.json) nor an HDF5 file.",
        "Point tfguard.io/model-path at a SavedModel directory, a .keras file or an .h5 file.",
    ),
    Code(
        "PROBE_MODEL_FACTS_UNREADABLE",
        "The model's files could not be read without TensorFlow",
        "The probe's reader (standard library only, bounded) could not parse saved_model.pb or the Keras"
        " metadata, or could not hash the files; the load check still runs.",
        "The model files could not be parsed; re-export the model.",
    ),
    Code(
        "PROBE_MISSING_OP",
        "The model uses ops this TensorFlow does not have",
        "Loading or calling the model failed with `Op type not registered 'X'` (or no kernel for it): "
        "the model was saved by a newer release that has the op; the message names each op.",
        "Use an image with a TensorFlow release that has the ops named (at least the release that saved "
        "the model), or re-export the model with this release.",
    ),
    Code(
        "PROBE_KERAS_FORMAT",
        "Keras cannot read this model format",
        "tf.keras.models.load_model rejected the file: a Keras 3 .keras file under Keras 2, a Keras 2 "
        "SavedModel under Keras 3, unknown layers or config keys from another Keras release.",
        "Load the model with the Keras major version that saved it (Keras 3 .keras files need Keras 3; "
        "Keras 2 SavedModels need tf-keras), or re-export it.",
    ),
    Code(
        "PROBE_MODEL_LOAD_FAILED",
        "Loading the model failed",
        "The loader raised an error none of the specific codes describes; the details carry its last "
        "lines.",
        "Read the error in the details; re-export the model or change the image.",
    ),
    Code(
        "PROBE_MODEL_LOAD_CRASHED",
        "Loading the model crashed the process",
        "TensorFlow imported, then died of a signal while loading the model or calling its signature.",
        "The runtime crashed loading the model: a corrupt model file or a native bug in this release; "
        "try another release.",
    ),
    Code(
        "PROBE_MODEL_LOAD_TIMEOUT",
        "Loading the model did not finish in time",
        "The load (or the signature call) ran past the probe's time budget and was killed.",
        "Loading did not finish within the time budget: raise the budget or check the model's storage.",
    ),
    Code(
        "PROBE_SIGNATURE_OK",
        "The serving signature runs",
        "The probe called the model's serving signature (serving_default, else the first) on zero-filled"
        " inputs and it returned.",
        "Nothing to do.",
    ),
    Code(
        "PROBE_SIGNATURE_CALL_FAILED",
        "The serving signature failed on zero-filled inputs",
        "The model loaded, but calling its serving signature with zero-filled inputs raised (a missing "
        "kernel is reported as PROBE_MISSING_OP instead). A warning: real inputs may behave differently.",
        "The model loaded but its serving signature failed on zero-filled inputs; check the error in the"
        " details.",
    ),
    Code(
        "PROBE_PRODUCER_MATCHES",
        "The model was saved by the expected release",
        "The TensorFlow version recorded in saved_model.pb matches --expected-producer "
        "(tfguard.io/model-producer-version).",
        "Nothing to do.",
    ),
    Code(
        "PROBE_PRODUCER_MISMATCH",
        "The model was saved by another release than expected",
        "The TensorFlow version recorded in saved_model.pb differs from --expected-producer "
        "(tfguard.io/model-producer-version): the annotation is stale or another model is mounted.",
        "Fix tfguard.io/model-producer-version, or check that the right model is mounted.",
    ),
    # --- probe: TF Serving warmup requests (assets.extra/tf_serving_warmup_requests) ---
    Code(
        "PROBE_WARMUP_OK",
        "The model's warmup requests run",
        "The SavedModel has assets.extra/tf_serving_warmup_requests, which TF Serving replays while it loads "
        "the model; the probe replayed them (predict, classify, regress and multi-inference records, at most "
        "the first 100) against the loaded model and each ran.",
        "Nothing to fix.",
    ),
    Code(
        "PROBE_WARMUP_UNREADABLE",
        "The warmup file is not what TF Serving can read",
        "assets.extra/tf_serving_warmup_requests is not a TFRecord file of tensorflow.serving.PredictionLog "
        "protos (a checksum mismatch, a truncated record, a record that is no PredictionLog), or holds more "
        "than 1000 records. TF Serving then fails to load the model ('Please verify your warmup data is in "
        "TFRecord format', 'Number of warmup records exceeds the maximum').",
        "Write the file with tf.io.TFRecordWriter and PredictionLog.SerializeToString() (TF Serving's "
        "saved_model_warmup guide), at most 1000 records, or remove it.",
    ),
    Code(
        "PROBE_WARMUP_UNSUPPORTED",
        "A warmup record is of a kind TF Serving does not replay",
        "A PredictionLog in the warmup file is a session_run_log (or another log type TF Serving's warmup "
        "does not run); TF Serving fails the model's load on it.",
        "Use predict_log, classify_log, regress_log or multi_inference_log records only.",
    ),
    Code(
        "PROBE_WARMUP_FAILED",
        "A warmup request fails against the loaded model",
        "The model loads, but a request from its warmup file fails (a signature it names does not exist, an "
        "input name, dtype or shape the signature does not take, an op that fails at run time). TF Serving "
        "replays these while loading and fails the load: the model never becomes available, although a "
        "plain load succeeds.",
        "Regenerate the warmup records from the model as exported (signature names, input names and dtypes "
        "from `saved_model_cli show --all`), or fix the model; the details hold the error.",
    ),
    Code(
        "PROBE_INTERNAL_ERROR",
        "The probe itself failed",
        "An unexpected error inside the probe. The probe reports it as a warning and exits 0: a probe "
        "bug never blocks a pod.",
        "A bug in the probe: the pod was let through; please report the details.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def finding(code: str, message: str, severity: str = "warning", **details: Any):
    """A Finding of a registered code, with the registry's fix (KeyError for a code not registered)."""
    from tfguard.compat.facts import Finding

    return Finding(code=code, severity=severity, message=message, fix=CODES[code].fix, details=details)


def markdown() -> str:
    lines = [
        "# Finding codes",
        "",
        "Generated from `tfguard/compat/codes.py` (`python -m tfguard.compat.codes > docs/codes.md`).",
        "Codes are stable: they are never renamed or reused.",
        "",
    ]
    for c in _CODES:
        lines += [f"## `{c.code}`: {c.title}", "", f"**Cause.** {c.cause}", "", f"**Fix.** {c.fix}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
