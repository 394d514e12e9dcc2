"""POST /validate: judge the pod template of a pod controller (or a bare Pod) and admit, warn or deny."""

from __future__ import annotations

from typing import Any, Optional

from tfguard import annotations as A
from tfguard import records
from tfguard.compat.codes import finding
from tfguard.compat.facts import Finding, ModelFacts, StackFacts, Verdict
from tfguard.records import field, record
from tfguard.text import one_line
from tfguard.webhook.models import AdmissionRequest, AdmissionResponse, object_problems
from tfguard.workload import kserve
from tfguard.workload.memo import BoundedMemo, approximate_size, digest
from tfguard.workload.nodes import NodeStore, scheduling_key
from tfguard.workload.resolve import Resolved, gpu_resources, resolve
from tfguard.workload.store import FactStore
from tfguard.workload.templates import (
    TEMPLATE_PATHS,
    controller_of,
    has_user_annotations,
    pod_spec,
    pod_template,
    unknown_annotation_findings,
    workload_annotations,
)

WARNING_LIMIT = 256  # the API server may cut longer warnings
MAX_WARNINGS = 6


@record
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
    status_code: int = 403  # of a denial: 403 for a verdict, 400 for an object tfguard cannot read

    def response(self, uid: str) -> AdmissionResponse:
        annotations = {"verdict": self.verdict, "mode": self.mode, **self.audit}
        if self.findings:
            annotations["codes"] = ",".join(dict.fromkeys(f.code for f in self.findings))
        reason = "Forbidden" if self.status_code == 403 else "BadRequest"
        return AdmissionResponse(
            uid=uid,
            allowed=self.allowed,
            status=None if self.allowed else {"code": self.status_code, "reason": reason, "message": self.message},
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
    (or anyone scaling or relabelling the workload) is not a new deployment of the model. For a Pod,
    its spec (an UPDATE may change a container's image in place), not its status or metadata."""
    obj = obj if isinstance(obj, dict) else {}
    mine = workload_annotations(kind, obj)
    template = obj.get("spec") if kind == "Pod" else pod_template(kind, obj)
    return template, {k: v for k, v in mine.items() if k in A.USER_ANNOTATIONS}


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
    if kind in TEMPLATE_PATHS:
        problems = object_problems(TEMPLATE_PATHS[kind], obj)
        if problems:
            return malformed(kind, problems, namespace_mode)
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
        typos = unknown_annotation_findings(annotations)
        return Outcome("skipped", mode=namespace_mode, findings=typos, warnings=[_warning(f) for f in typos])
    if kind == "Pod" and controller_of(obj) is not None:
        # Judged where it came from (its ReplicaSet, StatefulSet, Job, ...): refusing the controller's
        # Pods here would leave an admitted workload that silently never runs.
        return Outcome("skipped", mode=namespace_mode, audit={"judged-at": "controller"})
    if request.operation == "UPDATE" and _relevant(kind, obj) == _relevant(kind, request.oldObject):
        return Outcome("unchanged", mode=namespace_mode)

    findings: list[Finding] = []
    mode = effective_mode(namespace_mode, annotations, findings)
    resolved, verdict = (memo if memo is not None else VerdictMemo(0)).judge(
        pod_spec(template), request.namespace, annotations, store, nodes)
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
    resolved, verdict = (memo if memo is not None else VerdictMemo(0)).judge(found.pod_spec, request.namespace, found.annotations, store)
    findings += found.findings + resolved.findings + verdict.findings
    name = request.name or (obj.get("metadata") or {}).get("name") or ""
    outcome = decide(kserve.KIND, f"{name} ({found.where})", verdict, findings, resolved, mode,
                     subject=f"InferenceService {name} {found.where}: ")
    if found.runtime is not None:
        outcome.audit["runtime"] = found.runtime.label[:120]
    return outcome


def malformed(kind: str, problems: list[str], mode: str) -> Outcome:
    """An object tfguard cannot read: denied in enforce (400, naming the field), else a warning."""
    problem = finding("ADMISSION_MALFORMED_OBJECT", f"{kind}: " + "; ".join(problems), severity="error")
    outcome = Outcome("malformed", findings=[problem], mode=mode)
    if mode == "enforce":
        outcome.allowed, outcome.status_code = False, 400
        outcome.message = one_line(f"tfguard cannot read this {kind}: " + "; ".join(problems), 1000)
    elif mode == "warn":
        outcome.warnings = [_warning(problem)]
    return outcome


class VerdictMemo:
    """Verdicts by what they depend on: the annotations, the namespace (its ImageStacks and profiles),
    the containers' names, images and GPU requests, under the fact store's generation (any ImageStack
    or ModelProfile change starts afresh). The same workload comes back often (every rollout makes a
    ReplicaSet with the same template; `kubectl apply` re-sends unchanged objects), and then the
    check is a lookup. Bounded in bytes: keys are digests, and what is kept of the request is its
    serving container's name, so a flood of large distinct reviews cannot grow the process.

    Behind it, the engine's verdicts by their own inputs: a ModelProfile's facts (the store's object
    itself), the stack, loader, GPU use and candidate nodes. Distinct workloads naming the same
    profile on the same image (each Pod of a Job, every team's copy of a Deployment) share one
    evaluation, which for a profile of thousands of ops is most of the admission's cost."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024):
        self._memo = BoundedMemo(max_bytes)
        self._verdicts = BoundedMemo(max_bytes // 4)
        self._generation: Optional[int] = None

    @property
    def bytes(self) -> int:
        return self._memo.bytes

    def __len__(self) -> int:
        return len(self._memo)

    def judge(
        self,
        spec: dict[str, Any],
        namespace: Optional[str],
        annotations: dict[str, str],
        store: FactStore,
        nodes: Optional[NodeStore] = None,
    ) -> tuple[Resolved, Verdict]:
        key = None
        if self._memo.max_bytes:
            if self._generation != store.generation:
                self._memo.clear()  # everything judged under older facts is stale
                self._verdicts.clear()
                self._generation = store.generation
            containers = spec.get("containers")
            key = digest(
                scheduling_key(spec, nodes),
                namespace,
                tuple(sorted(annotations.items())),
                tuple(
                    (str(c.get("name")), str(c.get("image")), tuple(gpu_resources(c)))
                    for c in (containers if isinstance(containers, list) else [])
                    if isinstance(c, dict)
                ),
            )
            hit = self._memo.get(key)
            if hit is not None:
                return hit
        resolved = resolve(spec, namespace, annotations, store)
        verdict = self._evaluate(resolved, nodes.candidates(spec) if nodes is not None else None, key is not None)
        if key is not None:
            # Only the serving container's name is needed to answer: not its env, mounts and the rest.
            slim = None if resolved.container is None else {"name": str(resolved.container.get("name", "?"))[:253]}
            kept = records.replace(resolved, container=slim)
            # The store's facts (a profile of thousands of ops) are charged to the store, not here:
            # sizing them on every admission cost more than judging them.
            weight = (approximate_size(records.replace(kept, model=None) if _held_by_store(kept.model) else kept)
                      + approximate_size(verdict))
            self._memo.put(key, (kept, verdict), weight=weight)
        return resolved, verdict

    def _evaluate(self, resolved: Resolved, candidates: Optional[list], memoise: bool) -> Verdict:
        from tfguard.compat.verdict import evaluate  # loaded at startup by the app; a broken engine fails open

        model = resolved.model
        key = None
        if memoise and _held_by_store(model):
            key = digest(id(model), repr(resolved.stack), resolved.loader, resolved.gpu, resolved.model_name,
                         repr(candidates), repr(resolved.imports))
            hit = self._verdicts.get(key)
            if hit is not None and hit[0] is model:  # the same object, not one at a recycled address
                return hit[1]
        verdict = evaluate(model, resolved.stack, loader=resolved.loader, gpu=resolved.gpu,
                           model_name=resolved.model_name, nodes=candidates, imports=resolved.imports)
        if key is not None:
            # The facts are the store's (charged there, not here); the verdict is what is kept.
            self._verdicts.put(key, (model, verdict), weight=approximate_size(verdict))
        return verdict


def _held_by_store(model: Optional[ModelFacts]) -> bool:
    """Facts the store holds (a ModelProfile, a probe's report), the same object on every request;
    facts made from annotations are made anew each time."""
    return model is not None and model.source != "annotation"


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
    return f"model {resolved.model_name or '(unnamed)'} on image {(resolved.stack.image or '(none)')[:200]} ({_stack_words(resolved.stack)})"


def denial_message(kind: str, name: str, resolved: Resolved, errors: list[Finding]) -> str:
    head = (
        f"tfguard denied {kind} {name}: model {resolved.model_name or '(unnamed)'} cannot be loaded by "
        f"container {str((resolved.container or {}).get('name', '?'))[:63]!r} image {(resolved.stack.image or '(none)')[:300]} "
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
