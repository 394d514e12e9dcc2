"""Every finding code tfguard emits, with its cause and fix: the one registry.

The probe (which cannot import tfguard) uses the same code strings; a test checks that every
code it can emit is registered here. docs/codes.md is generated from this table
(`python -m tfguard.compat.codes > docs/codes.md`) and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
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
        "The release is newer than (or otherwise absent from) the data generated from real wheels, so "
        "only version order can be used.",
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
        "OP_ATTR_NOT_IN_OPDEF",
        "The model sets op attrs the runtime's OpDef does not declare",
        "An older runtime rejects a NodeDef that sets an attr its OpDef lacks ('NodeDef mentions attr "
        "... not in Op<...>'). SavedModels strip attrs left at their default, so this only happens when "
        "the model uses a newer attr with a non-default value.",
        "Serve the model with a release whose OpDef has the attr (the message names it), or re-export "
        "without that option.",
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
        "KERAS_NEWER_THAN_RUNTIME",
        "The model was written by a newer Keras than the image's",
        "Within one Keras major, a newer Keras may write config keys or layers an older one cannot "
        "deserialize.",
        "Serve with a Keras at least as new as the writer, or re-save with the image's Keras.",
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
        "The NVIDIA driver is older than the image's CUDA needs",
        "TensorFlow's CUDA build needs at least the driver release NVIDIA documents for its CUDA "
        "version; with an older driver, TensorFlow sees no GPU.",
        "Upgrade the node's NVIDIA driver, or use an image built against an older CUDA.",
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
        "The webhook checks Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs on "
        "/validate and Pods on /mutate. Anything else is admitted unchecked.",
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
    # --- operator ---
    Code(
        "OPERATOR_UNREADABLE_PROBE_REPORT",
        "The probe in a Pod left a report tfguard cannot read",
        "The tfguard-probe init container terminated, but its termination message is not a probe report "
        "(empty, cut short, or from a probe of another tfguard version). The operator cannot tell what the "
        "image holds.",
        "Run `kubectl logs POD -c tfguard-probe` for the full report; keep the probe image and tfguard at "
        "the same version.",
    ),
    # --- probe: import, GPU, model load ---
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


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
