"""POST /validate: judge the pod template of a pod controller and admit, warn or deny."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat.codes import finding
from tfguard.compat.facts import Finding, StackFacts, Verdict
from tfguard.text import one_line
from tfguard.webhook.models import AdmissionRequest, AdmissionResponse
from tfguard.workload import kserve
from tfguard.workload.resolve import Resolved, requests_gpu, resolve
from tfguard.workload.nodes import NodeStore, scheduling_key
from tfguard.workload.store import FactStore
from tfguard.workload.templates import (
    TEMPLATE_PATHS,
    has_user_annotations,
    pod_spec,
    pod_template,
    workload_annotations,
)

WARNING_LIMIT = 256  # the API server may cut longer warnings
MAX_WARNINGS = 6


@dataclass
class Outcome:
    """What one admission decided; the app turns it into an AdmissionResponse and metrics."""

    verdict: str  # a verdict, or "skipped" / "unchanged" / "error"
    allowed: bool = True
    message: Optional[str] = None
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    mode: str = "warn"
    audit: dict[str, str] = field(default_factory=dict)
    patch: Optional[str] = None

    def response(self, uid: str) -> AdmissionResponse:
        annotations = {"verdict": self.verdict, "mode": self.mode, **self.audit}
        if self.findings:
            annotations["codes"] = ",".join(dict.fromkeys(f.code for f in self.findings))
        return AdmissionResponse(
            uid=uid,
            allowed=self.allowed,
            status=None if self.allowed else {"code": 403, "reason": "Forbidden", "message": self.message},
            warnings=self.warnings or None,
            patch=self.patch,
            patchType="JSONPatch" if self.patch else None,
            auditAnnotations=annotations,
        )


def effective_mode(namespace_mode: str, annotations: dict[str, str], findings: list[Finding]) -> str:
    """The namespace's mode, made stricter (never weaker) by the object's own annotation."""
    wanted = annotations.get(A.MODE)
    if wanted is None:
        return namespace_mode
    if wanted not in A.MODES:
        findings.append(
            finding(
                "ADMISSION_BAD_ANNOTATION",
                f"{A.MODE}={wanted[:40]!r} is not one of {', '.join(A.MODES)}; using {namespace_mode}",
                annotation=A.MODE,
            )
        )
        return namespace_mode
    return max(namespace_mode, wanted, key=A.MODES.index)


def _relevant(kind: str, obj: Optional[dict[str, Any]]) -> Any:
    """What a verdict depends on. Not tfguard's own status annotations: the operator writing them
    (or anyone scaling or relabelling the workload) is not a new deployment of the model."""
    obj = obj or {}
    mine = workload_annotations(kind, obj)
    return pod_template(kind, obj), {k: v for k, v in mine.items() if k in A.USER_ANNOTATIONS}


def validate(
    request: AdmissionRequest,
    namespace_mode: str,
    store: FactStore,
    memo: Optional["VerdictMemo"] = None,
    nodes: Optional[NodeStore] = None,
) -> Outcome:
    kind = request.kind.kind
    obj = request.object
    if request.operation not in ("CREATE", "UPDATE") or not isinstance(obj, dict):
        return Outcome("skipped", mode=namespace_mode)
    if kserve.is_inference_service(kind):
        return validate_inference_service(request, namespace_mode, store, memo)
    template = pod_template(kind, obj)
    if template is None:
        why = (
            f"tfguard does not check {kind} objects; admitted unchecked"
            if kind not in TEMPLATE_PATHS
            else f"{kind} has no pod template; admitted unchecked"
        )
        unsupported = finding("ADMISSION_UNSUPPORTED_OBJECT", why, kind=kind)
        return Outcome("skipped", warnings=[_warning(unsupported)], findings=[unsupported], mode=namespace_mode)

    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    annotations = workload_annotations(kind, obj)
    if not has_user_annotations(annotations):
        return Outcome("skipped", mode=namespace_mode)
    if request.operation == "UPDATE" and _relevant(kind, obj) == _relevant(kind, request.oldObject):
        return Outcome("unchanged", mode=namespace_mode)

    findings: list[Finding] = []
    mode = effective_mode(namespace_mode, annotations, findings)
    resolved, verdict = (memo or VerdictMemo(0)).judge(pod_spec(template), request.namespace, annotations, store, nodes)
    findings += resolved.findings + verdict.findings
    return decide(kind, request.name or metadata.get("name") or "", verdict, findings, resolved, mode)


def validate_inference_service(
    request: AdmissionRequest, namespace_mode: str, store: FactStore, memo: Optional["VerdictMemo"] = None
) -> Outcome:
    """A KServe InferenceService: the predictor's pod as KServe will run it (tfguard.workload.kserve),
    then the same verdict as for a Deployment, naming the runtime."""
    obj = request.object
    annotations = kserve.annotations_of(obj)
    if not has_user_annotations(annotations):
        return Outcome("skipped", mode=namespace_mode)
    if request.operation == "UPDATE" and kserve.relevant(obj) == kserve.relevant(request.oldObject):
        return Outcome("unchanged", mode=namespace_mode)
    found = kserve.predictor(obj, request.namespace or "", store.runtimes)
    if found is None:
        return Outcome("skipped", mode=namespace_mode, audit={"predictor": "not-tensorflow"})
    findings: list[Finding] = []
    mode = effective_mode(namespace_mode, annotations, findings)
    resolved, verdict = (memo or VerdictMemo(0)).judge(found.pod_spec, request.namespace, found.annotations, store)
    findings += found.findings + resolved.findings + verdict.findings
    name = request.name or (obj.get("metadata") or {}).get("name") or ""
    outcome = decide(kserve.KIND, f"{name} ({found.where})", verdict, findings, resolved, mode,
                     subject=f"InferenceService {name} {found.where}: ")
    if found.runtime is not None:
        outcome.audit["runtime"] = found.runtime.label[:120]
    return outcome


class VerdictMemo:
    """Verdicts by what they depend on: the annotations, the namespace (for profiles), the containers'
    names, images and GPU requests, and the fact store's generation (any ImageStack/ModelProfile change
    starts afresh). The same workload comes back often (every rollout makes a ReplicaSet with the
    same template; `kubectl apply` re-sends unchanged objects), and then the check is a dict lookup."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._entries: dict[Any, tuple[Resolved, Verdict]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def judge(
        self,
        spec: dict[str, Any],
        namespace: Optional[str],
        annotations: dict[str, str],
        store: FactStore,
        nodes: Optional[NodeStore] = None,
    ) -> tuple[Resolved, Verdict]:
        key = None
        if self.size:
            containers = spec.get("containers")
            key = (
                store.generation,
                scheduling_key(spec, nodes),
                namespace,
                tuple(sorted(annotations.items())),
                tuple(
                    (str(c.get("name")), str(c.get("image")), requests_gpu(c))
                    for c in (containers if isinstance(containers, list) else [])
                    if isinstance(c, dict)
                ),
            )
            hit = self._entries.get(key)
            if hit is not None:
                return hit
        resolved = resolve(spec, namespace, annotations, store)
        from tfguard.compat.verdict import evaluate  # loaded at startup by the app; a broken engine fails open

        verdict = evaluate(
            resolved.model, resolved.stack, loader=resolved.loader, gpu=resolved.gpu, model_name=resolved.model_name,
            nodes=nodes.candidates(spec) if nodes is not None else None,
        )
        if key is not None:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (resolved, verdict)
        return resolved, verdict


def decide(kind: str, name: str, verdict: Verdict, findings: list[Finding], resolved: Resolved, mode: str,
           subject: str = "") -> Outcome:
    audit = {
        "image": (resolved.stack.image or "")[:250],
        "stack-source": resolved.stack.source,
        "model-source": resolved.model.source,
    }
    outcome = Outcome(verdict.verdict, findings=findings, mode=mode, audit=audit)
    if mode == "audit":
        return outcome
    errors = [f for f in findings if f.severity == "error"]
    if verdict.verdict == "incompatible" and mode == "enforce":
        outcome.allowed = False
        outcome.message = denial_message(kind, name, resolved, errors or findings)
        shown = [f for f in findings if f.severity == "warning"]
    else:
        shown = [f for f in findings if f.severity in ("error", "warning")]
    if verdict.verdict == "unknown":  # the infos say what is missing
        shown += [f for f in findings if f.severity == "info"]
    if outcome.allowed and verdict.verdict in ("risky", "unknown", "incompatible"):
        outcome.warnings.append(one_line(f"tfguard: {verdict.verdict}: {subject}{describe(resolved)}", WARNING_LIMIT))
    outcome.warnings += [_warning(f) for f in shown[:MAX_WARNINGS]]
    return outcome


def describe(resolved: Resolved) -> str:
    return f"model {resolved.model_name or '(unnamed)'} on image {resolved.stack.image or '(none)'} ({_stack_words(resolved.stack)})"


def denial_message(kind: str, name: str, resolved: Resolved, errors: list[Finding]) -> str:
    head = (
        f"tfguard denied {kind} {name}: model {resolved.model_name or '(unnamed)'} cannot be loaded by "
        f"container {(resolved.container or {}).get('name', '?')!r} image {resolved.stack.image or '(none)'} "
        f"({_stack_words(resolved.stack)})."
    )
    reasons = [f"[{f.code}] {f.message}" + (f" Fix: {f.fix}" if f.fix else "") for f in errors[:5]]
    return " ".join([head, *reasons])[:4000]


def _stack_words(stack: StackFacts) -> str:
    if not stack.known:
        return "TensorFlow release unknown"
    where = {"probe": "probed", "annotation": "declared", "catalog": "from the catalog"}.get(stack.source, stack.source)
    return f"TF {stack.tensorflow_version}, {where}"


def _warning(f: Finding) -> str:
    return one_line(f"tfguard [{f.code}]: {f.message}", WARNING_LIMIT)
