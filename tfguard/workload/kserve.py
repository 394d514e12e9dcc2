"""KServe InferenceServices: the pod a predictor will run, derived as KServe's controller derives it.

An InferenceService (serving.kserve.io/v1beta1) names no image for a TensorFlow model: it says
`spec.predictor.tensorflow` (the older shape, which KServe's defaulting webhook turns into the
newer one) or `spec.predictor.model` with `modelFormat: {name: tensorflow, version: "2"}` and an
optional `runtime`; the image comes from a ServingRuntime or ClusterServingRuntime. This module
does what KServe's controller does to find it, from the RuntimeStore in memory (no I/O):

- a named runtime: the namespace's ServingRuntime, else the ClusterServingRuntime of that name; it
  must not be disabled and must list the model format (any of its formats counts when named);
- else auto-selection: runtimes not disabled, not multi-model, that support the predictor's
  protocol (v1 unless `protocolVersion` says) and list the format (name, or name:version when the
  predictor gives a version) with `autoSelect: true`; namespace runtimes before cluster ones, each
  ordered by protocol, newest first, then name, then by the format's `priority` (higher first);
- the runtime's `kserve-container` (else its first container), overlaid with the predictor's own
  container fields (image, args, env, resources, ...), `{{.Name}}`/`{{.Namespace}}` placeholders
  replaced, then the image tag: `runtimeVersion` replaces it; without one, a GPU request on
  KServe's TF Serving runtime appends `-gpu` (KServe's UpdateImageTag).

`spec.predictor.containers` (a custom predictor) is taken as the pod's containers. The result is
an ordinary pod spec plus the InferenceService's tfguard annotations: the same resolution and the
same verdict engine as for a Deployment then judge it.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

from tfguard.compat.codes import finding
from tfguard.compat.facts import Finding
from tfguard.records import field, record
from tfguard.workload.runtimes import Runtime, RuntimeStore
from tfguard.workload.templates import tfguard_annotations

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
KIND = "InferenceService"
PLURAL = "inferenceservices"
TENSORFLOW = "tensorflow"
SERVING_CONTAINER = "kserve-container"
TF_SERVING_RUNTIME = "kserve-tensorflow-serving"  # KServe's constants.TFServing
# Labels KServe puts on the predictor's Pods (and its Deployment / Knative Service).
ISVC_LABEL = "serving.kserve.io/inferenceservice"
COMPONENT_LABEL = "component"
STORAGE_INITIALIZER = "storage-initializer"
_PROTOCOLS = {"v1": 1, "v2": 2, "grpc-v1": 3, "grpc-v2": 4}
_TAG = re.compile(r":[\w.\-]*$")
_PLACEHOLDER = re.compile(r"\{\{\s*\.(Name|Namespace)\s*\}\}")


@record
class Predictor:
    """What tfguard judges of an InferenceService: its predictor's pod, and how it was found."""

    pod_spec: dict[str, Any]
    annotations: dict[str, str]
    shape: str  # "tensorflow" | "model" | "containers"
    runtime: Optional[Runtime] = None
    model_format: Optional[str] = None  # "tensorflow" or "tensorflow:2"
    findings: list[Finding] = field(default_factory=list)

    @property
    def where(self) -> str:
        """How the denial and warnings name the predictor."""
        if self.runtime is not None:
            return f"predictor on {self.runtime.label}"
        if self.shape == "containers":
            return "custom predictor container"
        return "predictor (runtime not known)"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_inference_service(kind: str) -> bool:
    return kind == KIND


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    """The ISVC's tfguard annotations (KServe copies the ISVC's annotations onto the predictor Pods)."""
    spec = _dict(obj.get("spec"))
    return tfguard_annotations(_dict(spec.get("predictor")), obj.get("metadata"))


def relevant(obj: Optional[dict[str, Any]]) -> Any:
    """What a verdict on an ISVC depends on: its predictor and its user annotations."""
    from tfguard import annotations as A

    obj = obj or {}
    mine = annotations_of(obj)
    return _dict(obj.get("spec")).get("predictor"), {k: v for k, v in mine.items() if k in A.USER_ANNOTATIONS}


def predictor(obj: dict[str, Any], namespace: str, runtimes: RuntimeStore) -> Optional[Predictor]:
    """The predictor's pod as KServe would run it; None when it serves no TensorFlow model (another
    framework, or no predictor at all)."""
    meta = _dict(obj.get("metadata"))
    spec = _dict(_dict(obj.get("spec")).get("predictor"))
    annotations = annotations_of(obj)
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    if containers:
        return Predictor({"containers": copy.deepcopy(containers)}, annotations, "containers")
    if isinstance(spec.get(TENSORFLOW), dict):
        shape, model = "tensorflow", _dict(spec[TENSORFLOW])
        name, version, named = TENSORFLOW, None, None
    elif isinstance(spec.get("model"), dict):
        shape, model = "model", _dict(spec["model"])
        model_format = _dict(model.get("modelFormat"))
        name = model_format.get("name")
        version = model_format.get("version")
        named = model.get("runtime") if isinstance(model.get("runtime"), str) and model.get("runtime") else None
        if not isinstance(name, str) or name.strip().lower() != TENSORFLOW:
            return None
        version = str(version) if isinstance(version, (str, int)) and str(version) else None
    else:
        return None
    label = f"{TENSORFLOW}:{version}" if version else TENSORFLOW
    protocol = model.get("protocolVersion") if isinstance(model.get("protocolVersion"), str) else "v1"
    findings: list[Finding] = []
    runtime = select_runtime(runtimes, namespace, label, named, protocol, findings)
    container = _serving_container(runtime, model, findings, label)
    _replace_placeholders(container, str(meta.get("name") or ""), namespace)
    runtime_version = model.get("runtimeVersion")
    container["image"] = image_tag(container.get("image") or "", runtime_version if isinstance(runtime_version, str)
                                   and runtime_version else None, runtime.name if runtime else None, container)
    pod_spec = {"containers": [container]}
    return Predictor(pod_spec, annotations, shape, runtime, label, findings)


def select_runtime(runtimes: RuntimeStore, namespace: str, label: str, named: Optional[str], protocol: str,
                   findings: list[Finding]) -> Optional[Runtime]:
    if not runtimes.synced:
        findings.append(finding(
            "KSERVE_RUNTIMES_UNKNOWN",
            "tfguard does not know the cluster's ServingRuntimes and ClusterServingRuntimes (KServe's CRDs are "
            "not installed, tfguard may not read them, or it has not listed them yet): the predictor's image "
            "is known only when the InferenceService names it",
            severity="info",
        ))
        return None
    if named:
        runtime = runtimes.named(namespace, named)
        if runtime is None:
            findings.append(finding(
                "KSERVE_RUNTIME_NOT_FOUND",
                f"runtime {named!r} is neither a ServingRuntime in namespace {namespace!r} nor a "
                f"ClusterServingRuntime: KServe will not create the predictor",
                runtime=named,
            ))
            return None
        if runtime.spec.get("disabled") is True:
            findings.append(finding("KSERVE_RUNTIME_NOT_FOUND", f"{runtime.label} is disabled: KServe will not "
                                    "create the predictor", runtime=named))
            return None
        if label not in _format_labels(runtime, explicit=True):
            findings.append(finding(
                "KSERVE_RUNTIME_FORMAT_UNSUPPORTED",
                f"{runtime.label} does not list model format {label} in its supportedModelFormats: KServe refuses "
                "the predictor", runtime=named, model_format=label,
            ))
        return runtime
    candidates = auto_select(runtimes, namespace, label, protocol)
    if not candidates:
        findings.append(finding(
            "KSERVE_NO_RUNTIME",
            f"no ServingRuntime in namespace {namespace!r} nor ClusterServingRuntime supports model format {label} "
            f"with autoSelect for protocol {protocol}: KServe will not create the predictor",
            model_format=label, protocol=protocol,
        ))
        return None
    return candidates[0]


def _format_labels(runtime: Runtime, explicit: bool) -> set[str]:
    labels: set[str] = set()
    for entry in runtime.spec.get("supportedModelFormats") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        if explicit or entry.get("autoSelect") is True:
            labels.add(entry["name"])
            if entry.get("version") not in (None, ""):
                labels.add(f"{entry['name']}:{entry['version']}")
    return labels


def _priority(runtime: Runtime, format_name: str) -> Optional[int]:
    for entry in runtime.spec.get("supportedModelFormats") or []:
        if isinstance(entry, dict) and entry.get("name") == format_name and isinstance(entry.get("priority"), int):
            return entry["priority"]
    return None


def _protocols(runtime: Runtime) -> list[str]:
    found = runtime.spec.get("protocolVersions")
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def _supports_protocol(runtime: Runtime, protocol: str) -> bool:
    listed = _protocols(runtime)
    return protocol in listed if listed else protocol in ("v1", "v2")


def _protocol_rank(runtime: Runtime) -> int:
    listed = [_PROTOCOLS.get(p, 0) for p in _protocols(runtime)]
    return min(listed) if listed else 0


def _ordered(items: list[Runtime], format_name: str) -> list[Runtime]:
    # protocol rank, newest first, then name (KServe's sortServingRuntimeList) ...
    items = sorted(items, key=lambda r: r.name)
    items = sorted(items, key=lambda r: r.created, reverse=True)
    items = sorted(items, key=_protocol_rank)
    # ... then the format's priority, higher first; runtimes without one after those with one
    return sorted(items, key=lambda r: (_priority(r, format_name) is None, -(_priority(r, format_name) or 0)))


def auto_select(runtimes: RuntimeStore, namespace: str, label: str, protocol: str) -> list[Runtime]:
    """The runtimes KServe would pick from, best first."""
    format_name = label.split(":")[0]

    def fits(runtime: Runtime) -> bool:
        spec = runtime.spec
        return (spec.get("disabled") is not True and spec.get("multiModel") is not True
                and label in _format_labels(runtime, explicit=False) and _supports_protocol(runtime, protocol))

    local = _ordered([r for r in runtimes.in_namespace(namespace) if fits(r)], format_name)
    cluster = _ordered([r for r in runtimes.cluster() if fits(r)], format_name)
    return local + cluster


def _serving_container(runtime: Optional[Runtime], model: dict[str, Any], findings: list[Finding],
                       label: str) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if runtime is not None:
        containers = [c for c in runtime.spec.get("containers") or [] if isinstance(c, dict)]
        chosen = next((c for c in containers if c.get("name") == SERVING_CONTAINER), containers[0] if containers else None)
        if chosen is None:
            findings.append(finding("KSERVE_RUNTIME_FORMAT_UNSUPPORTED", f"{runtime.label} has no containers",
                                    runtime=runtime.name, model_format=label))
        base = copy.deepcopy(chosen or {})
    base.setdefault("name", SERVING_CONTAINER)
    for key, value in model.items():  # the predictor's own container fields win (KServe merges them in)
        if key in ("modelFormat", "runtime", "runtimeVersion", "protocolVersion", "storageUri", "storage", "name"):
            continue
        if key == "env" and isinstance(value, list):
            merged = {e.get("name"): e for e in base.get("env") or [] if isinstance(e, dict)}
            merged.update({e.get("name"): e for e in value if isinstance(e, dict)})
            base["env"] = list(merged.values())
        elif value not in (None, "", [], {}):
            base[key] = copy.deepcopy(value)
    return base


def _replace_placeholders(container: dict[str, Any], name: str, namespace: str) -> None:
    values = {"Name": name, "Namespace": namespace}

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
        if isinstance(node, list):
            return [fill(n) for n in node]
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        return node

    for key in ("args", "command", "env"):
        if key in container:
            container[key] = fill(container[key])


def image_tag(image: str, runtime_version: Optional[str], runtime_name: Optional[str], container: dict[str, Any]) -> str:
    """The image KServe runs: `runtimeVersion` replaces the tag; else a GPU request on KServe's TF
    Serving runtime appends -gpu to a tag that lacks it."""
    if not image:
        return image
    if runtime_version:
        return (_TAG.sub(":" + runtime_version, image) if _TAG.search(image.rsplit("/", 1)[-1]) else
                f"{image}:{runtime_version}")
    if runtime_name == TF_SERVING_RUNTIME and _gpu_requested(container) and _TAG.search(image.rsplit("/", 1)[-1]):
        return image if image.endswith("-gpu") else image + "-gpu"
    return image


def _gpu_requested(container: dict[str, Any]) -> bool:
    resources = _dict(container.get("resources"))
    for section in ("limits", "requests"):
        for key, value in _dict(resources.get(section)).items():
            if key.endswith("/gpu") and value not in (None, 0, "0"):
                return True
    return False


def isvc_of_pod(pod: dict[str, Any]) -> Optional[str]:
    """The InferenceService a predictor Pod belongs to (KServe's label), or None."""
    labels = _dict(_dict(pod.get("metadata")).get("labels"))
    name = labels.get(ISVC_LABEL)
    return name if isinstance(name, str) and name else None
