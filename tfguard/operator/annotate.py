"""A workload's verdict, the annotations that show it, and the Event that announces a change.

Pure functions: a workload body, what the operator knows (the fact store, the latest probe of the
workload's Pods) in; an `Assessment` out. The verdict comes from the one verdict engine
(tfguard.compat.verdict) fed by the same resolution the admission webhook uses.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Optional

from tfguard import annotations as A
from tfguard import records
from tfguard.compat.codes import CODES
from tfguard.compat.facts import Finding, ModelFacts, StackFacts, Verdict
from tfguard.compat.resources import image_stack_name
from tfguard.records import record
from tfguard.text import one_line
from tfguard.workload import kserve
from tfguard.workload.nodes import NodeStore
from tfguard.workload.probe_pods import PodProbe
from tfguard.workload.resolve import resolve
from tfguard.workload.store import FactStore
from tfguard.workload.templates import pod_spec, pod_template, workload_annotations

REASON_LIMIT = 250  # annotation values are free-form, but `kubectl describe` should stay readable
EVENT_MESSAGE_LIMIT = 1000  # the API server keeps at most 1 KiB of an Event message

# verdict -> (Event type, Event reason)
EVENTS = {
    "compatible": ("Normal", "TFGuardCompatible"),
    "verified": ("Normal", "TFGuardVerified"),
    "risky": ("Warning", "TFGuardRisky"),
    "incompatible": ("Warning", "TFGuardIncompatible"),
    "unknown": ("Normal", "TFGuardUnknown"),
    "probe-failed": ("Warning", "TFGuardProbeFailed"),
    "no-node": ("Warning", "TFGuardNoNodeCanRun"),  # incompatible because no candidate node can run it
    "pods-rejected": ("Warning", "TFGuardPodsRejected"),
}
WRITTEN = (A.VERDICT, A.REASON, A.IMAGE_STACK, A.OBSERVED_MODEL_PROFILE)


@record
class Assessment:
    verdict: str  # compatible | risky | incompatible | unknown
    reason: str  # one short line
    image_stack: str  # the ImageStack name when probe-observed, else where the stack came from
    model_profile: str  # the ModelProfile observed by the probe ("" when none)
    event_type: str
    event_reason: str
    event_message: str
    code: str = ""  # the finding code of the worst finding ("" when compatible)

    def annotations(self) -> dict[str, str]:
        return {
            A.VERDICT: self.verdict,
            A.REASON: self.reason,
            A.IMAGE_STACK: self.image_stack,
            A.OBSERVED_MODEL_PROFILE: self.model_profile,
        }


def assess(
    body: dict[str, Any],
    store: FactStore,
    probe: Optional[PodProbe] = None,
    probe_profile: Optional[str] = None,
    engine=None,
    nodes: Optional[NodeStore] = None,
) -> Optional[Assessment]:
    """The workload's verdict from the verdict engine; a failed probe in its Pods overrides it.
    None for an InferenceService whose predictor serves no TensorFlow model."""
    meta = body.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    kind = body.get("kind") or "Deployment"
    before: list[Finding] = []  # what deriving the pod found (an InferenceService's runtime)
    where = ""
    if kserve.is_inference_service(kind):
        predictor = kserve.predictor(body, namespace, store.runtimes)
        if predictor is None:
            return None
        annotations, spec, before, where = predictor.annotations, predictor.pod_spec, predictor.findings, predictor.where
    else:
        annotations = workload_annotations(kind, body)
        spec = pod_spec(pod_template(kind, body))
    resolved = resolve(spec, namespace, annotations, store, observed=probe.stack if probe is not None else None)
    if probe is not None and resolved.stack is not probe.stack:
        probe = None  # the template moved on to another image since that Pod ran
    serving_image = (resolved.container or {}).get("image") or ""
    stack, model = resolved.stack, resolved.model
    if model.source == "annotation":
        observed = store.profile(namespace, probe_profile) if probe_profile else None
        if observed is not None:
            model = _with_path(observed, model)
        elif probe is not None and probe.model is not None:
            model = _with_path(probe.model, model)
    profile_name = (probe_profile or "") if model.source in ("profile", "probe") else ""
    stack_label = (
        store.stack_name_for(stack.image, stack.image_digest, namespace) if stack.source == "probe" else None
    ) or _stack_label(stack, namespace)

    if probe is not None and probe.failed:
        return _probe_failed(probe, stack_label, profile_name)
    rejected = pods_rejected(body)

    if engine is None:
        from tfguard.compat import verdict as engine
    # Named as the user names it, so the reason does not change when better facts arrive.
    label = annotations.get(A.MODEL_PROFILE) or annotations.get(A.MODEL_PATH) or resolved.model_name or model.path
    candidates = nodes.candidates(spec) if nodes is not None else None
    verdict: Verdict = engine.evaluate(model, stack, loader=resolved.loader, gpu=resolved.gpu, model_name=label,
                                       nodes=candidates, imports=resolved.imports)
    findings = list(before) + list(resolved.findings) + list(verdict.findings)
    worst = _worst(findings)
    if probe is not None and probe.model_loaded and _same_model(model, probe.model) and verdict.verdict != "compatible":
        # Truth comes from real TensorFlow: this image's own TF loaded this very model in the
        # workload's Pod. The static rules disagreeing is worth saying, not a reason to doubt it.
        disagreement = f" (tfguard's static check said {verdict.verdict}: {_what_to_do(worst, findings)})"
        verdict = Verdict("compatible", findings=[], model=verdict.model, image=verdict.image)
        findings, worst = [], None
    else:
        disagreement = ""
    name = f"model {label}" if label else "the model"
    image = stack.image or serving_image or "(no image)"
    if where:
        image = f"{image} ({where})"
    if verdict.verdict == "compatible":
        verified = stack.source == "probe"  # from this workload's Pods or an ImageStack: observed, not declared
        key = "verified" if verified else "compatible"
        where = "verified by the tfguard probe" if verified else f"image stack from the {stack.source}"
        reason = f"{name} loads on {image} (TF {stack.tensorflow_version or '?'}, {where})"
        if probe is not None and probe.model_loaded:
            reason = f"{name} loads on {image} (TF {stack.tensorflow_version or '?'}: the tfguard probe loaded it)"
        message = reason + disagreement
    else:
        key = "no-node" if worst is not None and worst.code == "NODES_NONE_CAN_RUN" and worst.severity == "error" else verdict.verdict
        reason = verdict.summary if worst is None else f"{verdict.verdict}: [{worst.code}] {worst.message}"
        message = f"{verdict.verdict}: {name} on image {image}. " + _what_to_do(worst, findings)
    event_type, event_reason = EVENTS.get(key, EVENTS["unknown"])
    if rejected is not None:
        # Whatever the model's verdict, no Pod runs it: an Event that said "compatible" would lie.
        ours = A.PROBE_INSTALL_CONTAINER in rejected or A.PROBE_CONTAINER in rejected
        reason = f"pods rejected: {rejected}"
        message = (
            f"[OPERATOR_PODS_REJECTED] The API server refuses this {kind}'s Pods: {rejected}. "
            + ("The refusal names tfguard's probe containers: set tfguard.io/inject: \"false\" on the pod template "
               "and report it. " if ours else "")
            + f"tfguard's verdict on the model itself: {verdict.verdict}."
        )
        event_type, event_reason = EVENTS["pods-rejected"]
    return Assessment(
        verdict=verdict.verdict,
        reason=one_line(reason, REASON_LIMIT),
        image_stack=stack_label,
        model_profile=profile_name,
        event_type=event_type,
        event_reason=event_reason,
        event_message=one_line(message, EVENT_MESSAGE_LIMIT),
        code=worst.code if worst is not None and verdict.verdict != "compatible" else "",
    )


def _probe_failed(probe: PodProbe, stack_label: str, profile_name: str) -> Assessment:
    errors = probe.errors or probe.checks
    first = errors[0] if errors else None
    what = f"[{first.code}] {first.message}" if first else f"probe status {probe.status}"
    reason = f"incompatible: probe failed in Pod {probe.pod}: {what}"
    message = (
        f"The tfguard probe in Pod {probe.namespace}/{probe.pod} failed on image {probe.image}: "
        + _what_to_do(first, errors)
        + f" Full report: kubectl logs {probe.pod} -n {probe.namespace} -c {A.PROBE_CONTAINER}"
    )
    event_type, event_reason = EVENTS["probe-failed"]
    return Assessment(
        verdict="incompatible",
        reason=one_line(reason, REASON_LIMIT),
        image_stack=stack_label,
        model_profile=profile_name,
        event_type=event_type,
        event_reason=event_reason,
        event_message=one_line(message, EVENT_MESSAGE_LIMIT),
        code=first.code if first is not None else "",
    )


def annotation_patch(current: dict[str, str], assessment: Assessment, now: Optional[datetime] = None):
    """The merge patch for metadata.annotations, or None when nothing changed.

    `checked-at` moves only when something else does: a re-check that confirms the verdict writes
    nothing, so a thousand unchanged workloads cost no writes.
    """
    wanted = assessment.annotations()
    changes = {k: (v or None) for k, v in wanted.items() if (current.get(k) or "") != (v or "")}
    if not changes:
        return None
    changes[A.CHECKED_AT] = _rfc3339(now)
    return {"metadata": {"annotations": changes}}


def verdict_changed(current: dict[str, str], assessment: Assessment) -> bool:
    """Only a new verdict or reason is news for an Event (a new profile link is not)."""
    return (current.get(A.VERDICT) or "", current.get(A.REASON) or "") != (assessment.verdict, assessment.reason)


def event_body(workload: dict[str, Any], assessment: Assessment, previous_reason: str, now=None) -> dict[str, Any]:
    """A core/v1 Event on the workload. Its name is derived from the change it reports, so the same
    change reported twice (an operator restarted between the Event and the annotation patch) is
    refused by the API server as AlreadyExists instead of showing up twice."""
    meta = workload.get("metadata") or {}
    return object_event(workload, assessment.event_type, assessment.event_reason, assessment.event_message,
                        [meta.get("uid") or "", previous_reason, assessment.event_reason, assessment.reason], now)


def object_event(obj: dict[str, Any], event_type: str, reason: str, message: str, fingerprint: list[str], now=None) -> dict[str, Any]:
    """A core/v1 Event on any object, named by `fingerprint` (the same report twice is AlreadyExists)."""
    meta = obj.get("metadata") or {}
    digest = hashlib.sha256("|".join(fingerprint).encode()).hexdigest()[:16]
    stamp = _rfc3339(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.tfguard-{digest}", "namespace": meta.get("namespace")},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion") or "apps/v1",
            "kind": obj.get("kind") or "Deployment",
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "type": event_type,
        "reason": reason,
        "message": one_line(message, EVENT_MESSAGE_LIMIT),
        "source": {"component": "tfguard-operator"},
        "reportingComponent": "tfguard.io/operator",
        "reportingInstance": "tfguard-operator",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def _what_to_do(worst: Optional[Finding], findings: list[Finding]) -> str:
    if worst is None:
        return "tfguard found nothing specific."
    text = f"[{worst.code}] {worst.message.rstrip()}"
    if not text.endswith((".", "!", "?", ")")):
        text += "."
    fix = worst.fix or getattr(CODES.get(worst.code), "fix", "")  # the probe's summary carries no fixes
    if fix:
        text += f" Fix: {fix}"
    others = [f.code for f in findings if f is not worst and f.severity in ("error", "warning")]
    if others:
        text += f" Also: {', '.join(dict.fromkeys(others))}."
    return text


def _worst(findings: list[Finding]) -> Optional[Finding]:
    for severity in ("error", "warning", "info"):
        for f in findings:
            if f.severity == severity:
                return f
    return None


def _same_model(judged: ModelFacts, loaded: Optional[ModelFacts]) -> bool:
    if loaded is None:
        return False
    if judged.digest and loaded.digest:
        return judged.digest == loaded.digest
    return judged is loaded or judged.source == "probe"


def _with_path(facts: ModelFacts, declared: ModelFacts) -> ModelFacts:
    if declared.path and not facts.path:
        return records.replace(facts, path=declared.path)  # cached facts are shared: never mutate them
    return facts


def pods_rejected(body: dict[str, Any]) -> Optional[str]:
    """The API server's refusal of the workload's Pods, as the ReplicaSet controller reports it
    (a Deployment's `ReplicaFailure` condition), or None."""
    for condition in ((body.get("status") or {}).get("conditions") or []):
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return one_line(str(condition.get("message") or condition.get("reason") or "FailedCreate"), 600)
    return None


def _stack_label(stack: StackFacts, namespace: Optional[str] = None) -> str:
    if stack.source == "probe" and (stack.image_digest or stack.image):
        return image_stack_name(stack.image, stack.image_digest, namespace)
    if stack.known:
        return f"{stack.source}: TF {stack.tensorflow_version}"
    return stack.source or "unknown"


def _rfc3339(now: Optional[datetime] = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
