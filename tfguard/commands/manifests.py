"""`tfguard check --manifests`: judge the pod controllers in rendered manifests as the webhook would.

Every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob (whatever kinds
`tfguard.workload.templates.TEMPLATE_PATHS` knows) and every KServe InferenceService in YAML or JSON
files, a directory of them, or `helm template` output on stdin (`-`) is handed to the admission
webhook's own `validate` as the AdmissionReview the API server would send for `kubectl apply`, so a
manifest gets exactly the verdict, findings and enforce-mode decision the cluster would give it.
The facts the webhook would hold in memory come from the same files: ModelProfiles, ImageStacks
and KServe's ServingRuntimes/ClusterServingRuntimes found among the manifests, in `--profiles`
files (`tfguard inspect --profile`, `kubectl get imagestacks -o yaml`, `kubectl get
clusterservingruntimes,servingruntimes -A -o yaml`), or made from a local model with
`--model NAME=PATH`. Without any runtime, an InferenceService's image is known only where it
names it, as in a cluster whose runtimes tfguard cannot read.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import yaml

from tfguard import annotations as A
from tfguard.compat.facts import Finding
from tfguard.errors import ConfigError
from tfguard.records import field, record
from tfguard.workload import runtimes as R
from tfguard.workload import kserve
from tfguard.workload.store import FactStore
from tfguard.workload.templates import TEMPLATE_PATHS, has_user_annotations, workload_annotations

MAX_FILE_BYTES = 32 * 1024 * 1024  # a rendered chart is a few MiB at most
MAX_DOCUMENTS = 100_000
SUFFIXES = (".yaml", ".yml", ".json")
RUNTIME_KINDS = {"ServingRuntime": R.SERVING_RUNTIMES, "ClusterServingRuntime": R.CLUSTER_SERVING_RUNTIMES}
FACT_KINDS = ("ModelProfile", "ImageStack", *RUNTIME_KINDS)
JUDGED_KINDS = (*TEMPLATE_PATHS, kserve.KIND)


@record
class Document:
    obj: dict[str, Any]
    file: str  # as given (relative paths stay relative: SARIF locations are repository paths)
    line: int  # 1-based line where the object starts


@record
class Result:
    """One judged workload (or the one model of a plain `tfguard check`)."""

    subject: str  # "Deployment ml/resnet", or the model path
    verdict: str  # compatible | risky | incompatible | unknown | skipped
    findings: list[Finding] = field(default_factory=list)
    file: Optional[str] = None
    line: Optional[int] = None
    kind: Optional[str] = None
    namespace: Optional[str] = None
    name: Optional[str] = None
    image: Optional[str] = None
    stack_source: Optional[str] = None
    model_source: Optional[str] = None
    model: Optional[str] = None  # as the workload names it (profile, path)
    admitted_in_enforce: Optional[bool] = None
    message: str = ""  # one line: what the webhook would say (its denial, else its first warning)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject, "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "file": self.file, "line": self.line, "verdict": self.verdict, "image": self.image,
            "stackSource": self.stack_source, "modelSource": self.model_source, "model": self.model,
            "admittedInEnforce": self.admitted_in_enforce, "message": self.message,
            "findings": [f.to_dict() for f in self.findings],
        }


# --- reading ---------------------------------------------------------------------------------


def manifest_files(paths: Iterable[str]) -> Iterator[str]:
    """Each path as given; a directory's YAML/JSON files below it, sorted; `-` is stdin."""
    for path in paths:
        if path == "-":
            yield path
            continue
        p = Path(path)
        if p.is_dir():
            if (p / "Chart.yaml").exists() and (p / "templates").is_dir():
                raise ConfigError(f"{path} is a Helm chart: render it first, "
                                  f"`helm template RELEASE {path} | tfguard check --manifests -`")
            found = sorted(str(f) for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file())
            yield from found
        elif p.is_file():
            yield str(p)
        else:
            raise ConfigError(f"{path}: no such file or directory")


def read_documents(path: str) -> list[Document]:
    """The objects in one file (YAML streams, JSON, `kind: List`), each with the line it starts at."""
    if path == "-":
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
    else:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES}-byte limit for one manifest file")
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: over the {MAX_FILE_BYTES}-byte limit for one manifest file")
    shown = "<stdin>" if path == "-" else path
    documents: list[Document] = []
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            obj = loader.construct_document(node)
            items = [(obj, node)]
            if isinstance(obj, dict) and str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
                item_nodes = next((v.value for k, v in node.value if getattr(k, "value", None) == "items"), [])
                items = list(zip(obj["items"], item_nodes)) if len(item_nodes) == len(obj["items"]) else [(i, node) for i in obj["items"]]
            for item, item_node in items:
                if isinstance(item, dict):
                    documents.append(Document(item, shown, item_node.start_mark.line + 1))
                if len(documents) > MAX_DOCUMENTS:
                    raise ConfigError(f"{shown}: more than {MAX_DOCUMENTS} objects")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        raise ConfigError(f"{where}: not YAML or JSON: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: nested too deeply to be a manifest") from None
    finally:
        loader.dispose()
    return documents


# --- facts -----------------------------------------------------------------------------------


def fact_store(documents: list[Document], models: dict[str, str], namespaces: set[str],
               default_namespace: str = "default") -> FactStore:
    """What the webhook's watches would hold: the ModelProfiles and ImageStacks among the documents
    (a profile that names no namespace is in `default_namespace`, where `kubectl apply` would put
    it), and a profile NAME for each `--model NAME=PATH` in every namespace the workloads use."""
    store = FactStore()
    runtimes = False
    for doc in documents:
        kind = doc.obj.get("kind")
        if kind in RUNTIME_KINDS and str(doc.obj.get("apiVersion") or "").startswith(f"{R.GROUP}/"):
            meta = doc.obj.get("metadata") if isinstance(doc.obj.get("metadata"), dict) else {}
            if kind == "ServingRuntime":
                meta = {**meta, "namespace": namespace_of(doc.obj, default_namespace)}
            store.runtimes.put(RUNTIME_KINDS[kind], {**doc.obj, "metadata": meta})
            runtimes = True
        elif kind == "ImageStack":
            store.put_stack(doc.obj)
        elif kind == "ModelProfile":
            meta = doc.obj.get("metadata") if isinstance(doc.obj.get("metadata"), dict) else {}
            store.put_profile({**doc.obj, "metadata": {**meta, "namespace": namespace_of(doc.obj, default_namespace)}})
    if models:
        from tfguard.compat.inspect import inspect_model
        from tfguard.compat.resources import model_profile_resource

        for name, path in models.items():
            facts = inspect_model(path)  # InspectError: a usage error for the caller
            for namespace in sorted(namespaces):
                store.put_profile(model_profile_resource(facts, name, namespace))
    for resource in ("imagestacks", "modelprofiles"):
        store.mark_synced(resource)
    if runtimes:  # the manifests say which runtimes there are; without any, they stay unknown
        for resource in R.RESOURCES:
            store.runtimes.mark_synced(resource)
    return store


def annotations_of(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    return kserve.annotations_of(obj) if kserve.is_inference_service(kind) else workload_annotations(kind, obj)


# --- judging ---------------------------------------------------------------------------------


def namespace_of(obj: dict[str, Any], default: str) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    value = meta.get("namespace")
    return value if isinstance(value, str) and value else default


def judge_documents(documents: list[Document], store: FactStore, default_namespace: str) -> list[Result]:
    from tfguard.webhook.models import AdmissionRequest
    from tfguard.webhook.validate import validate

    results = []
    for doc in documents:
        obj, kind = doc.obj, doc.obj.get("kind")
        if not isinstance(kind, str) or kind not in JUDGED_KINDS:
            continue
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = str(meta.get("name") or "")
        namespace = namespace_of(obj, default_namespace)
        base = Result(subject=f"{kind} {namespace}/{name}", verdict="skipped", file=doc.file, line=doc.line,
                      kind=kind, namespace=namespace, name=name)
        annotations = annotations_of(kind, obj)
        if not has_user_annotations(annotations):
            base.message = "not a tfguard workload (no tfguard.io/ model annotations): the webhook admits it unchecked"
            results.append(base)
            continue
        group, _, version = str(obj.get("apiVersion") or "apps/v1").rpartition("/")
        request = AdmissionRequest(
            uid=str(uuid.uuid4()), kind={"group": group, "version": version, "kind": kind}, name=name,
            namespace=namespace, operation="CREATE", object={**obj, "metadata": {**meta, "namespace": namespace}},
        )
        outcome = validate(request, "enforce", store)
        base.verdict = outcome.verdict
        base.findings = list(outcome.findings)
        base.image = outcome.audit.get("image") or None
        base.stack_source = outcome.audit.get("stack-source")
        base.model_source = outcome.audit.get("model-source")
        if outcome.audit.get("predictor") == "not-tensorflow":
            base.message = "its predictor serves no TensorFlow model: the webhook admits it unchecked"
            results.append(base)
            continue
        base.model = annotations.get(A.MODEL_PROFILE) or annotations.get(A.MODEL_PATH) or None
        base.admitted_in_enforce = outcome.allowed
        base.message = outcome.message or (outcome.warnings[0] if outcome.warnings else f"tfguard: {outcome.verdict}")
        results.append(base)
    return results
