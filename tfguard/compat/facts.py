"""The facts the verdict engine works on, and the verdict it returns.

Every part of tfguard (CLI, webhook, operator, probe reports) speaks these types; their
`to_dict`/`from_dict` forms are what goes into JSON output, CRD status and annotations.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

from tfguard.compat.loaders import CHOICES
from tfguard.records import asdict, field, fields, record

VERDICTS = ("compatible", "risky", "incompatible", "unknown")
SEVERITIES = ("error", "warning", "info")
LOADERS = CHOICES  # what --loader and tfguard.io/model-loader accept (tfguard.compat.loaders)
GPU_CHOICES = ("required", "optional", "none")  # tfguard.io/gpu, `--gpu`


def _from_dict(cls, data: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in (data or {}).items() if k in names})


@record
class ModelFacts:
    """What tfguard knows about a model, read from its files without importing TensorFlow."""

    path: Optional[str] = None
    # "saved_model" | "keras_v3" (a .keras zip) | "h5"
    format: Optional[str] = None
    saved_model_schema_version: Optional[int] = None
    tensorflow_version: Optional[str] = None  # producer TF release, e.g. "2.15.1"
    tensorflow_git_version: Optional[str] = None
    graph_producer: Optional[int] = None
    graph_min_consumer: Optional[int] = None
    graph_bad_consumers: list[int] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)  # sorted, unique op type names
    # For each op type, the attr names the graph sets on it (union over nodes). An older runtime
    # rejects a NodeDef that sets an attr its OpDef does not declare.
    op_attrs: dict[str, list[str]] = field(default_factory=dict)
    keras_version: Optional[str] = None  # Keras that wrote the model, if any
    # "saved_model_keras" (keras_metadata.pb), "keras_v3", "h5", or None for plain SavedModels
    keras_format: Optional[str] = None
    keras_backend: Optional[str] = None
    # The Python modules a .keras config.json names (its "module" keys), sorted; None if not read.
    # Keras 3 cannot import Keras 2 internals such as keras.src.engine.functional.
    keras_modules: Optional[list[str]] = None
    signatures: list[str] = field(default_factory=list)
    digest: Optional[str] = None  # "sha256:..." over the model files
    # Where the facts came from: "inspect", "probe", "annotation", "profile"
    source: str = "inspect"
    # A Keras file that holds weights but no model config (an .h5 without model_config):
    # no loader can build a model from it alone.
    weights_only: bool = False

    # Why TensorFlow itself cannot read the model (a saved_model.pb past protobuf's limits, a parse
    # it refuses): incompatible with every release and loader. None when it can.
    unloadable: Optional[str] = None

    # --- SavedModels: what the loaders consult besides the graph (docs/loaders.md) ---
    meta_graph_tags: list[list[str]] = field(default_factory=list)  # every MetaGraphDef's tag set, in file order
    object_graph: Optional[bool] = None  # the served MetaGraph carries a TF2 object graph (None: not read)
    # Field numbers the object graph's SavedObjects set (their `kind`s and the rest): a kind a runtime's
    # protos do not know reads there as no kind at all.
    saved_object_fields: list[int] = field(default_factory=list)
    # The Keras identifiers ("_tf_keras_layer", ...) of the object graph's user objects that carry no
    # metadata there, sorted. Keras 2 revives Keras objects from their metadata: TF up to 2.5 keeps it in
    # the object graph, later releases in keras_metadata.pb, and export() writes neither. None: not read.
    keras_objects_without_metadata: Optional[list[str]] = None
    pinned_devices: list[str] = field(default_factory=list)  # device types nodes are pinned to: "GPU", "TPU"
    # Those that main-graph nodes pin (a Session places the main graph when it restores; function
    # bodies are placed when they run). None: not read (every pinned device is taken for one).
    main_graph_pinned_devices: Optional[list[str]] = None
    # Attrs newer than the oldest release tfguard knows that main-graph nodes set to a value other than
    # their default (per the producer's own OpDefs): a graph importer cannot drop them as defaults.
    # None: not read (the verdict then cannot tell, for an older importer that refuses unknown attrs).
    main_graph_non_default_attrs: Optional[dict[str, list[str]]] = None
    # Attrs newer than the oldest release tfguard knows that nodes inside functions set: before 2.5
    # TensorFlow refuses them when it instantiates the function, default or not. None: not read.
    function_new_attrs: Optional[dict[str, list[str]]] = None
    # The checkpoint the loaders restore: "whole", "none", or what is broken (inspect/variables.py).
    variables: Optional[str] = None
    missing_assets: list[str] = field(default_factory=list)  # asset files the MetaGraph names, not in assets/

    # --- Keras configs: what load_model deserializes ---
    # "module:ClassName" ("ClassName" where the file records no module) -> the config keys it is given.
    keras_classes: dict[str, list[str]] = field(default_factory=dict)
    # Classes from modules outside Keras ("module:ClassName") -> the name the file says they were
    # registered under ("package>Name" from register_keras_serializable; the bare class name when
    # they were not registered), or None where the file records none. None: not read.
    keras_custom_classes: Optional[dict[str, Optional[str]]] = None
    # The saved training config (compile): {"optimizer": name, "loss": [...], "metrics": [...],
    # "sample_weight_mode": whether it names one}; None if none.
    keras_compile: Optional[dict[str, Any]] = None
    # The class of a Keras SavedModel's root object ("Functional", "Sequential", or a subclass's own
    # name), from keras_metadata.pb. None: not read.
    keras_model_class: Optional[str] = None
    # A Keras SavedModel's metadata gives a Sequential model's build_input_shape as {"class_name":
    # "TensorShape", ...} (Keras of TF 2.2 on writes it so). None: not read.
    keras_sequential_shape_encoded: Optional[bool] = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelFacts":
        return _from_dict(cls, data)


@record
class StackFacts:
    """What tfguard knows about the software stack of an image."""

    image: Optional[str] = None
    image_digest: Optional[str] = None
    # "probe" (observed in the image), "annotation", "catalog", "explicit" (CLI flags), "unknown"
    source: str = "unknown"
    tensorflow_version: Optional[str] = None
    tensorflow_git_version: Optional[str] = None
    keras_version: Optional[str] = None  # the `keras` package installed, if any
    tf_keras_major: Optional[int] = None  # what `tf.keras` resolves to: 2 or 3
    python_version: Optional[str] = None
    numpy_version: Optional[str] = None
    protobuf_version: Optional[str] = None
    cuda_build: Optional[bool] = None  # True for a CUDA build of TF, False for CPU-only
    cuda_version: Optional[str] = None
    cudnn_version: Optional[str] = None
    import_ok: Optional[bool] = None  # the probe's import check, when a probe ran
    import_error_code: Optional[str] = None
    gpus_visible: Optional[int] = None
    observed_at: Optional[str] = None
    # The loaders the image can run; None means a Python TF stack (both). TF Serving, a C++ server
    # without Python, is ["serving"]: it serves SavedModels and nothing else.
    loaders: Optional[list[str]] = None
    driver_version: Optional[str] = None  # NVIDIA driver seen by the probe, e.g. "535.104.05"
    # Custom-op libraries in the image (distribution name -> version, e.g. {"tensorflow-text": "2.15.0"}):
    # installed in a Python image (the probe's report), or linked into a model server (the catalog).
    op_libraries: dict[str, str] = field(default_factory=dict)
    # Whose CUDA kernels the TensorFlow carries: None for the upstream wheel of tensorflow_version
    # (its measured SASS/PTX apply), "ngc:YY.MM" for NVIDIA's NGC container of that tag (its own CUDA
    # build: CUDA, driver and compute-capability floor from its release notes).
    gpu_build: Optional[str] = None

    @property
    def known(self) -> bool:
        return self.tensorflow_version is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StackFacts":
        return _from_dict(cls, data)


@record
class NodeFacts:
    """What the node labels of one group of nodes say (nodes with the same facts are one group).

    Read from GPU Feature Discovery (`nvidia.com/...`) and Node Feature Discovery
    (`feature.node.kubernetes.io/cpu-cpuid.*`) labels by tfguard.workload.nodes; None where a node
    carries no such label (unknown, never assumed).
    """

    names: list[str] = field(default_factory=list)  # the nodes (sorted; the first few are named in messages)
    count: int = 0  # how many nodes
    arch: Optional[str] = None  # kubernetes.io/arch: "amd64", "arm64"
    driver_version: Optional[str] = None  # "535.104.05"
    cuda_driver_version: Optional[str] = None  # the newest CUDA the driver supports, "12.2"
    compute_capability: Optional[str] = None  # "8.0"
    gpu_product: Optional[str] = None  # "NVIDIA-A100-SXM4-40GB"
    gpu_family: Optional[str] = None  # "ampere"
    mig_strategy: Optional[str] = None  # "single" | "mixed" | "none"
    cpu_flags: Optional[list[str]] = None  # NFD cpuid flags that are true: ["AVX", "AVX2", ...]; None if unlabelled

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NodeFacts":
        return _from_dict(cls, data)


@record
class Finding:
    code: str  # stable, documented in docs/codes.md
    severity: str  # "error" | "warning" | "info"
    message: str  # names the model, the image and the concrete reason
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        return _from_dict(cls, data)


@record
class Verdict:
    verdict: str  # one of VERDICTS
    findings: list[Finding] = field(default_factory=list)
    model: Optional[str] = None
    image: Optional[str] = None
    loader: Optional[str] = None  # the loader judged (tfguard.compat.loaders), None when none could be

    @property
    def summary(self) -> str:
        """One line for annotations, Events and admission messages."""
        worst = next((f for f in self.findings if f.severity == "error"), None) or next(
            (f for f in self.findings if f.severity == "warning"), None
        )
        if worst is None:
            return self.verdict
        return f"{self.verdict}: [{worst.code}] {worst.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "model": self.model,
            "image": self.image,
            "loader": self.loader,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Verdict":
        return cls(
            verdict=data["verdict"],
            model=data.get("model"),
            image=data.get("image"),
            loader=data.get("loader"),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
        )
