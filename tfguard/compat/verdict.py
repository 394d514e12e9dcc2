"""The verdict engine: model facts + image stack facts -> a Verdict with findings.

The one place that decides whether a model loads in an image; the CLI (`tfguard check`), the
admission webhook and the operator all call `evaluate`. It is pure and does no I/O: release facts
come from `tfguard.compat.releases` (generated from real wheels), everything else from the facts
passed in. The rules follow what TensorFlow and Keras actually do when they load a model:

- GraphDef versions, as `CheckVersions` in tensorflow/core/framework/versions.cc does;
- every op type in the graph registered in the runtime (else the load fails), a kernel for the
  device that will run it, and every attr a NodeDef sets declared by the runtime's OpDef (attrs
  starting with `_` are exempt, as in `ValidateNodeDef`). An undeclared attr is a warning, not a
  failure: measured, TF 2.15.1 loads and runs a node with an attr its OpDef lacks, ignoring it;
- what each loader accepts: `tf.saved_model.load` / TF Serving read SavedModel directories only;
  Keras 3 `load_model` reads .keras and .h5 only; Keras 2 cannot read Keras 3 files (measured
  with TF 2.15.1 and 2.20.0, see docs/verdicts.md);
- a GPU request against a CPU-only build, and the NVIDIA driver against the build's CUDA.

A newer producer is never a reason in itself: a model from a newer release whose ops and attrs
all exist in the runtime is not incompatible. With version facts alone the engine says `risky`,
never `incompatible`.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from tfguard.compat import catalog, releases
from tfguard.compat.codes import CODES
from tfguard.compat.facts import GPU_CHOICES, Finding, ModelFacts, StackFacts, Verdict
KERAS_FILE_FORMATS = ("keras_v3", "h5")
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_LISTED = 10  # names listed in a message; details carry them all
# Packages of Keras 2 (2.x and the keras.src layout of 2.13-2.15) that Keras 3 does not have.
_KERAS2_ONLY_MODULES = ("keras.engine", "keras.src.engine", "keras.src.saving.legacy", "keras.saving.legacy")
_VERSION = re.compile(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_key(version: Optional[str]) -> Optional[tuple[int, int, int]]:
    """(major, minor, patch) of "2.15.1", "2.16.0rc0", "2.15.0.post1"; None if not a version."""
    match = _VERSION.match(version or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def _major(version: Optional[str]) -> Optional[int]:
    key = version_key(version)
    return key[0] if key else None


def _listing(names: Iterable[str], describe=lambda n: n) -> str:
    names = list(names)
    shown = ", ".join(describe(n) for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


class _Judgement:
    """The facts of one evaluate() call, resolved once, and the findings the rules add."""

    def __init__(self, model: Optional[ModelFacts], stack: StackFacts, loader: str, gpu: str, name: Optional[str]):
        self.model = model
        self.stack = stack
        self.loader = loader
        self.gpu = gpu
        self.findings: list[Finding] = []
        self.unknown = False

        self.tf = stack.tensorflow_version
        self.tf_key = version_key(self.tf)
        self.release = releases.release(self.tf) if self.tf_key else None
        self.measured = bool(self.release is not None and self.release.measured)

        self.model_label = f"model {name or (model.path if model else None) or '(unnamed)'}"
        if stack.image and self.tf:
            self.runtime_label = f"image {stack.image} (TensorFlow {self.tf})"
        elif stack.image:
            self.runtime_label = f"image {stack.image}"
        else:
            self.runtime_label = f"TensorFlow {self.tf}" if self.tf else "the runtime"

        self.keras_major, self.keras_major_from = self._runtime_keras_major()
        self.serving_only = stack.loaders is not None and "keras" not in stack.loaders

    def add(self, code: str, severity: str, message: str, fix: Optional[str] = None, **details: Any) -> None:
        self.findings.append(
            Finding(code=code, severity=severity, message=message, fix=fix or CODES[code].fix, details=details)
        )

    def _runtime_keras_major(self) -> tuple[Optional[int], str]:
        """What `tf.keras` resolves to in the image: 2 or 3, and where that fact came from."""
        stack, release = self.stack, self.release
        if stack.tf_keras_major in (2, 3):
            return stack.tf_keras_major, "the image's facts"
        if self.tf_key is None:
            return None, ""
        if self.tf_key < (2, 16) and _major(stack.keras_version) in (2, 3):
            return _major(stack.keras_version), "the image's keras package"  # keras *is* tf.keras there
        if release is not None and release.keras_major in (2, 3):
            return release.keras_major, f"TensorFlow {release.series}'s wheel"
        # TensorFlow 2.16 made Keras 3 the tf.keras of a plain install (release notes of 2.16.1).
        return (3 if self.tf_key >= (2, 16) else 2), "the release number"

    # --- helpers over the model ---

    @property
    def has_model_facts(self) -> bool:
        m = self.model
        return m is not None and bool(m.format or m.tensorflow_version or m.ops or m.keras_version)

    def effective_loader(self) -> Optional[str]:
        if self.serving_only:
            return "saved_model"
        if self.loader in ("saved_model", "keras"):
            return self.loader
        fmt = self.model.format if self.model else None
        if fmt in KERAS_FILE_FORMATS:
            return "keras"
        if fmt == "saved_model":
            return "saved_model"
        return None

    def producer_newer(self) -> Optional[bool]:
        """Whether the model's producer release is newer than the runtime's (None: unknown)."""
        m, release = self.model, self.release
        produced = version_key(m.tensorflow_version) if m else None
        if produced and self.tf_key:
            # Patch releases of a series register the same ops: only the series can be newer.
            return produced[:2] > self.tf_key[:2]
        if m and m.graph_producer is not None and release is not None and release.graph_def_version is not None:
            return m.graph_producer > release.graph_def_version
        return None


def evaluate(
    model: Optional[ModelFacts],
    stack: StackFacts,
    *,
    loader: str = "auto",
    gpu: str = "none",
    model_name: Optional[str] = None,
) -> Verdict:
    """Judge whether `model` loads with `loader` in the image described by `stack`.

    `gpu` is "required", "optional" or "none"; `loader` is "auto", "saved_model" or "keras".
    Findings come errors first, then warnings, then infos, each group in rule order.
    """
    if loader not in ("auto", "saved_model", "keras"):
        raise ValueError(f"loader must be auto, saved_model or keras, not {loader!r}")
    if gpu not in GPU_CHOICES:
        raise ValueError(f"gpu must be one of {', '.join(GPU_CHOICES)}, not {gpu!r}")
    j = _Judgement(model, stack, loader, gpu, model_name)

    _stack_rules(j)
    _gpu_rules(j)
    if not j.has_model_facts:
        j.unknown = True
        j.add(
            "MODEL_FACTS_MISSING", "info",
            f"nothing is known about the {j.model_label}: only {j.runtime_label} was judged",
        )
    else:
        _loader_rules(j)
        if j.tf_key is not None:
            _knowledge_rules(j)
            _keras_rules(j)
            _graph_rules(j)

    j.findings.sort(key=lambda f: _SEVERITY_RANK.get(f.severity, 3))
    severities = {f.severity for f in j.findings}
    if "error" in severities:
        outcome = "incompatible"
    elif j.unknown:
        outcome = "unknown"
    elif "warning" in severities:
        outcome = "risky"
    else:
        outcome = "compatible"
    return Verdict(
        verdict=outcome,
        findings=j.findings,
        model=model_name or (model.path if model else None),
        image=stack.image,
    )


# --- the rules, in the order their findings appear within a severity ---


def _stack_rules(j: _Judgement) -> None:
    stack = j.stack
    if stack.import_ok is False:
        code = stack.import_error_code or "unknown"
        j.add(
            "STACK_IMPORT_FAILED", "error",
            f"TensorFlow does not import in {j.runtime_label} (probe: {code}): the {j.model_label} cannot load there",
            import_error_code=stack.import_error_code,
        )
    if j.tf_key is None:
        j.unknown = True
        why = "the TensorFlow release of the image is not known"
        if stack.tensorflow_version:
            why = f"{stack.tensorflow_version!r} is not a TensorFlow version"
        elif stack.image and catalog.is_moving_tag(stack.image):
            why = f"the tag of {stack.image} moves (a moving tag is not a fact about what the image holds)"
        elif stack.image:
            why = f"{stack.image} is neither probed, annotated nor in the catalog of well-known images"
        j.add("STACK_UNKNOWN", "info", f"cannot judge the {j.model_label}: {why}", image=stack.image)


def _gpu_rules(j: _Judgement) -> None:
    if j.gpu == "none":
        return
    stack = j.stack
    severity = "error" if j.gpu == "required" else "warning"
    if stack.cuda_build is False:
        j.add(
            "GPU_ON_CPU_ONLY_BUILD", severity,
            f"GPUs are {j.gpu} for the {j.model_label}, but {j.runtime_label} is a CPU-only TensorFlow build"
            + ("" if j.gpu == "required" else ": it will run on CPU only"),
        )
        return
    if stack.cuda_build is None:
        if j.gpu == "required" and j.tf_key is not None:
            j.add(
                "GPU_BUILD_UNKNOWN", "warning",
                f"GPUs are required for the {j.model_label}, but whether {j.runtime_label} is a CUDA build is not known",
            )
        return
    cuda = stack.cuda_version or (j.release.cuda_version if j.release is not None else None)
    if not (cuda and stack.driver_version):
        return
    needed = releases.min_driver_for_cuda(cuda)
    have = version_key(stack.driver_version)
    if needed and have and have < version_key(needed):
        j.add(
            "CUDA_DRIVER_TOO_OLD", severity,
            f"{j.runtime_label} uses CUDA {cuda}, which needs NVIDIA driver {needed} or newer; "
            f"the node has {stack.driver_version}, so TensorFlow sees no GPU for the {j.model_label}",
            cuda=cuda, driver=stack.driver_version, min_driver=needed,
        )


def _loader_rules(j: _Judgement) -> None:
    """What each loader accepts, independent of releases."""
    fmt = j.model.format
    if j.serving_only and j.loader == "keras":
        j.add(
            "KERAS_LOADER_NOT_IN_IMAGE", "error",
            f"the {j.model_label} is to be loaded with tf.keras.models.load_model, but {j.runtime_label} "
            "is a model server without Python: it loads SavedModels only",
        )
        return
    if fmt in KERAS_FILE_FORMATS and j.effective_loader() == "saved_model":
        kind = ".keras file" if fmt == "keras_v3" else ".h5 file"
        if j.serving_only:
            j.add(
                "KERAS_FILE_NOT_SERVABLE", "error",
                f"the {j.model_label} is a {kind}; {j.runtime_label} is TensorFlow Serving, which serves SavedModel directories only",
                format=fmt,
            )
        else:
            j.add(
                "SAVED_MODEL_LOADER_ON_KERAS_FILE", "error",
                f"the {j.model_label} is a {kind}: tf.saved_model.load in {j.runtime_label} reads SavedModel directories only",
                format=fmt,
            )


def _knowledge_rules(j: _Judgement) -> None:
    if j.release is None:
        j.add(
            "RELEASE_UNKNOWN", "info",
            f"TensorFlow {j.tf} of {j.runtime_label} is not in tfguard's release knowledge: "
            f"judging the {j.model_label} from version numbers",
            tensorflow_version=j.tf,
        )
    elif not j.release.measured:
        j.add(
            "RELEASE_NOT_MEASURED", "info",
            f"TensorFlow {j.release.series} of {j.runtime_label} predates the releases measured from real wheels: "
            f"judging the {j.model_label} from version-level facts",
            tensorflow_version=j.tf,
        )


def _keras_rules(j: _Judgement) -> None:
    m = j.model
    loader = j.effective_loader()
    runtime = j.keras_major
    if runtime is None or j.serving_only:
        return
    keras_from = f"tf.keras is Keras {runtime} in {j.runtime_label}, per {j.keras_major_from}"

    if m.format == "saved_model":
        if loader == "keras" and runtime == 3:
            j.add(
                "KERAS3_CANNOT_LOAD_SAVEDMODEL", "error",
                f"the {j.model_label} is a SavedModel and {keras_from}: Keras 3 load_model reads only .keras and .h5 files",
                keras_major=runtime,
            )
        elif loader == "keras" and m.keras_format != "saved_model_keras":
            j.add(
                "KERAS2_LOADS_SAVEDMODEL_AS_OBJECT", "warning",
                f"the {j.model_label} is a SavedModel without Keras metadata: Keras 2 load_model in "
                f"{j.runtime_label} returns a plain TensorFlow object, not a Keras model",
            )
        elif loader == "saved_model" and j.loader == "auto" and runtime == 3 and m.keras_format == "saved_model_keras":
            j.add(
                "KERAS_LOADER_MAY_FAIL", "warning",
                f"the {j.model_label} is a Keras 2 SavedModel: tf.saved_model.load reads it, but {keras_from}, "
                "so tf.keras.models.load_model would fail",
            )
        if loader == "keras" and runtime == 2 and m.keras_format == "saved_model_keras":
            _keras_minor_rule(j)
        return

    if m.format in KERAS_FILE_FORMATS and loader == "keras":
        writer = _major(m.keras_version)
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
                    f"the {j.model_label} was written by Keras {m.keras_version} and names {_listing(legacy)}; "
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
            _keras_minor_rule(j)
        custom = [mod for mod in m.keras_modules or () if mod != "keras" and not mod.startswith("keras.")]
        if custom:
            j.add(
                "KERAS_CUSTOM_MODULES", "warning",
                f"the {j.model_label} uses classes from {_listing(custom)}: they must be importable in {j.runtime_label}",
                modules=custom,
            )
        return

    if not m.format and loader == "keras" and m.tensorflow_version:
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


def _keras_minor_rule(j: _Judgement) -> None:
    m, stack = j.model, j.stack
    written, have = version_key(m.keras_version), version_key(stack.keras_version)
    if written and have and written[0] == have[0] == j.keras_major and written[:2] > have[:2]:
        j.add(
            "KERAS_NEWER_THAN_RUNTIME", "warning",
            f"the {j.model_label} was written by Keras {m.keras_version}, newer than Keras {stack.keras_version} in {j.runtime_label}",
            model_keras=m.keras_version, runtime_keras=stack.keras_version,
        )


def _graph_rules(j: _Judgement) -> None:
    """GraphDef versions, ops, attrs, kernels and a newer producer, for loaders that load the graph."""
    m, release = j.model, j.release
    loader = j.effective_loader()
    loads_graph = m.format == "saved_model" and (
        loader == "saved_model" or (loader == "keras" and j.keras_major == 2)
    )
    if m.format and not loads_graph:
        return  # a Keras file: its config is rebuilt, no graph is loaded

    if loads_graph and release is not None:
        _graphdef_version_rules(j)

    newer = j.producer_newer()
    ops = m.ops if loads_graph else []
    if ops and j.measured:
        problems = _op_rules(j, ops)
        if newer and not problems:
            if m.op_attrs:
                j.add(
                    "PRODUCER_NEWER_OPS_PRESENT", "info",
                    f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
                    f"{j.runtime_label}, but all {len(ops)} ops it uses and their attrs exist there",
                    producer=m.tensorflow_version, ops=len(ops),
                )
            else:
                j.add(
                    "PRODUCER_NEWER_UNVERIFIED", "warning",
                    f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
                    f"{j.runtime_label}: all {len(ops)} ops exist there, but the attrs its nodes set are not known",
                    producer=m.tensorflow_version,
                )
        return

    if ops and not j.measured and _ops_newer_than_unmeasured_runtime(j, ops):
        return
    if newer:
        if not m.format:
            why = "only its producer version is known"
        elif not ops:
            why = "its op set is not known"
        else:
            why = f"tfguard has no op registry for TensorFlow {j.tf}"
        j.add(
            "PRODUCER_NEWER_UNVERIFIED", "warning",
            f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
            f"{j.runtime_label}, and {why}: it usually loads unless it uses ops or attrs the runtime lacks",
            producer=m.tensorflow_version,
        )
    elif not m.format and m.tensorflow_version:
        j.add(
            "VERSION_FACTS_ONLY", "info",
            f"only the producer version of the {j.model_label} is known (TensorFlow {m.tensorflow_version}); "
            f"it is not newer than {j.runtime_label}",
            producer=m.tensorflow_version,
        )


def _graphdef_version_rules(j: _Judgement) -> None:
    m, release = j.model, j.release
    consumer = release.graph_def_version
    if consumer is None:
        return
    if m.graph_min_consumer is not None and m.graph_min_consumer > consumer:
        j.add(
            "GRAPH_MIN_CONSUMER", "error",
            f"the {j.model_label}'s graph needs GraphDef consumer {m.graph_min_consumer} or newer; "
            f"{j.runtime_label} is GraphDef version {consumer}",
            min_consumer=m.graph_min_consumer, runtime=consumer,
        )
    if consumer in (m.graph_bad_consumers or ()):
        j.add(
            "GRAPH_BAD_CONSUMER", "error",
            f"the {j.model_label}'s graph disallows GraphDef consumer {consumer}, the version of {j.runtime_label}",
            bad_consumers=list(m.graph_bad_consumers), runtime=consumer,
        )
    min_producer = release.graph_def_min_producer
    if m.graph_producer is not None and min_producer is not None and m.graph_producer < min_producer:
        j.add(
            "GRAPH_PRODUCER_TOO_OLD", "error",
            f"the {j.model_label}'s graph was produced at GraphDef version {m.graph_producer}, below the "
            f"minimum {min_producer} that {j.runtime_label} accepts",
            producer=m.graph_producer, min_producer=min_producer,
        )


def _first_release(op: str) -> str:
    first = releases.first_release_with_op(op)
    return f"{op} (first in TensorFlow {first})" if first else f"{op} (in no release tfguard knows: a custom op?)"


def _first_release_with_attr(op: str, attr: str) -> str:
    for release in releases.measured_releases():
        if attr in release.op_attrs.get(op, ()):
            return f"{op}.{attr} (first in TensorFlow {release.series})"
    return f"{op}.{attr}"


def _op_rules(j: _Judgement, ops: list[str]) -> bool:
    """Registered ops, declared attrs and CPU kernels against a measured release.

    True if something the model uses is missing (an op, or an attr its nodes set)."""
    release, m = j.release, j.model
    registered = release.ops
    missing = [] if registered.issuperset(ops) else [op for op in ops if op not in registered]
    if missing:
        j.add(
            "OP_NOT_REGISTERED", "error",
            f"the {j.model_label} uses {len(missing)} op{'s' if len(missing) > 1 else ''} that {j.runtime_label} "
            f"does not register: {_listing(missing, _first_release)}",
            ops=missing,
            first_release={op: releases.first_release_with_op(op) for op in missing},
        )

    unknown_attrs: dict[str, list[str]] = {}
    declared_by = release.op_attrs
    for op, attrs in (m.op_attrs or {}).items():
        declared = declared_by.get(op)
        if declared is None:
            continue  # op missing (reported above) or no attr facts for it
        for attr in attrs:  # the hot loop of the admission path: cheapest test first
            if attr not in declared and attr[:1] != "_":
                unknown_attrs.setdefault(op, []).append(attr)
    if unknown_attrs:
        unknown_attrs = {op: sorted(set(attrs)) for op, attrs in sorted(unknown_attrs.items())}
        pairs = [_first_release_with_attr(op, attr) for op, attrs in unknown_attrs.items() for attr in attrs]
        j.add(
            "OP_ATTR_NOT_IN_OPDEF", "warning",
            f"the {j.model_label}'s NodeDefs set attrs that the OpDefs of {j.runtime_label} lack: {_listing(pairs)}; "
            "TensorFlow there runs these ops ignoring the attr, or refuses them (NodeDef mentions attr not in Op)",
            attrs=unknown_attrs,
        )

    on_gpu = j.gpu == "required" and j.stack.cuda_build is not False
    if not on_gpu:
        no_cpu = [] if release.ops_without_cpu_kernel.isdisjoint(ops) else [
            op for op in ops if op in release.ops_without_cpu_kernel
        ]
        if no_cpu:
            j.add(
                "OP_NO_CPU_KERNEL", "warning",
                f"{j.runtime_label} has no CPU kernel for {_listing(no_cpu)}, used by the {j.model_label}; "
                f"GPUs are {'optional' if j.gpu == 'optional' else 'not requested'}, so running these ops on CPU fails",
                ops=no_cpu,
            )
    return bool(missing or unknown_attrs)


def _ops_newer_than_unmeasured_runtime(j: _Judgement, ops: list[str]) -> bool:
    """For a runtime older than every measured release: ops first seen after the oldest measured
    release certainly did not exist in it. True if it found some (and reported them)."""
    measured = releases.measured_releases()
    if not measured or j.tf_key[:2] >= version_key(measured[0].series)[:2]:
        return False
    oldest = measured[0].series
    later = []
    for op in ops:
        first = releases.first_release_with_op(op)
        if first and version_key(first)[:2] > version_key(oldest)[:2]:
            later.append(op)
    if later:
        j.add(
            "OP_NOT_REGISTERED", "error",
            f"the {j.model_label} uses {len(later)} op{'s' if len(later) > 1 else ''} that appeared after "
            f"TensorFlow {j.tf} of {j.runtime_label}: {_listing(later, _first_release)}",
            ops=later,
            first_release={op: releases.first_release_with_op(op) for op in later},
        )
    return bool(later)
