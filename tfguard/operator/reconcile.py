"""The writes: ImageStacks and ModelProfiles from probe results, annotations and Events on workloads.

Every write is preceded by a comparison with what the API already holds (as seen by the watches),
so an unchanged world costs no API calls, and a restarted operator re-derives the same annotations
instead of writing them again.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any, Optional

from tfguard import annotations as A
from tfguard.compat.resources import GROUP, VERSION, image_stack_name
from tfguard.errors import ApiError, Conflict, NotFound
from tfguard.kube import resource_path
from tfguard.operator import annotate
from tfguard.operator import reports
from tfguard.operator.observations import image_stack_body, model_profile_body, model_profile_name, observation_status
from tfguard.operator.runtime import KIND_RESOURCES, WORKLOAD_KINDS, Runtime, WorkloadKey
from tfguard.workload import kserve
from tfguard.workload.probe_pods import PodProbe

log = logging.getLogger("tfguard.operator")


def compact(body: dict[str, Any]) -> dict[str, Any]:
    """What assessing a workload needs: metadata, the pod template (an InferenceService: its predictor),
    and whether its Pods are refused (the ReplicaFailure condition; not the rest of the status)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    failures = [c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"]
    if kserve.is_inference_service(body.get("kind") or ""):
        kept = {"predictor": spec.get("predictor")}
    else:
        template = spec.get("template") or {}
        kept = {"replicas": spec.get("replicas"),
                "template": {"metadata": {"annotations": (template.get("metadata") or {}).get("annotations")},
                             "spec": template.get("spec") or {}}}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {k: meta.get(k) for k in ("name", "namespace", "uid", "resourceVersion", "annotations")},
        "spec": kept,
        "status": {"conditions": failures, "replicas": status.get("replicas")},
    }


def awaiting_pods(body: dict[str, Any]) -> bool:
    """A Deployment whose controllers have neither created a Pod nor reported why they cannot: good news
    about it waits, since the Pods may yet be refused (a Pod Security level, a quota)."""
    if body.get("kind") != "Deployment" or (body.get("spec") or {}).get("replicas") == 0:
        return False
    status = body.get("status") or {}
    return not status.get("replicas") and not status.get("conditions")


def _written(rt: Runtime, key: WorkloadKey, body: dict[str, Any]) -> dict[str, str]:
    """The workload's annotations as tfguard last left them: on the object, or held in memory for
    kinds tfguard does not annotate."""
    current = dict(body["metadata"].get("annotations") or {})
    if not rt.annotates(key[0]):
        current = {k: v for k, v in current.items() if k not in (*annotate.WRITTEN, A.CHECKED_AT)}
        current.update(rt.held.get(key) or {})
    return current


# --- workloads -------------------------------------------------------------------------------


def older_than_held(rt: Runtime, key: WorkloadKey, body: dict[str, Any]) -> bool:
    """True when we already hold a newer version of the object (from a patch response) than this
    watch event carries. resourceVersions are etcd revisions: integers in every API server we know;
    anything else is never treated as older."""
    held = rt.workloads.get(key)
    if held is None:
        return False
    try:
        return int((body.get("metadata") or {}).get("resourceVersion")) < int(held["metadata"].get("resourceVersion"))
    except (TypeError, ValueError):
        return False


async def reconcile_workload(rt: Runtime, key: WorkloadKey) -> Optional[str]:
    """Assess one workload; patch its annotations and record an Event if the outcome changed; keep its
    PolicyReport result.

    Returns "patched", "unchanged", "error" (it could not be judged), or None when the workload is
    not (or no longer) tfguard's."""
    started = time.perf_counter()
    result = "failed"
    try:
        outcome = await _reconcile_workload(rt, key)
        result = outcome or "skipped"
        return outcome
    finally:
        rt.metrics.reconciled(key[0], result, time.perf_counter() - started)


async def _reconcile_workload(rt: Runtime, key: WorkloadKey) -> Optional[str]:
    async with rt.lock(key):
        body = rt.workloads.get(key)
        if body is None:
            return None
        kind, namespace, name = key
        current = _written(rt, key, body)
        probe = rt.latest_probe(kind, namespace, name)
        linked = model_profile_name(probe.model) if probe is not None and probe.model is not None else None
        try:
            assessment = annotate.assess(body, rt.store, probe, linked or current.get(A.OBSERVED_MODEL_PROFILE),
                                         nodes=rt.nodes)
        except Exception as exc:  # one workload the engine cannot judge must not stop the others
            log.exception("could not assess %s %s/%s", kind, namespace, name)
            rt.reports.record(key, reports.error_entry(body, exc))
            return "error"
        if assessment is None:  # an InferenceService that no longer serves a TensorFlow model
            rt.workloads.pop(key, None)
            rt.reports.forget(key)
            await forget_workload(rt, key, body)
            return None
        patch = annotate.annotation_patch(current, assessment)
        if patch is None:
            rt.reports.record(key, reports.entry_for(body, assessment, current.get(A.CHECKED_AT) or ""))
            return "unchanged"
        if assessment.event_type == "Normal" and awaiting_pods(body):
            return "pending"  # the Deployment's next status update brings it back here
        if annotate.verdict_changed(current, assessment):
            # Event first, then the annotation: if the operator dies in between, the next one derives
            # the same Event name and the API server refuses the duplicate.
            await post_event(rt, body, assessment, current.get(A.REASON) or "")
        if rt.annotates(kind):
            try:
                updated = await rt.kube.patch(resource_path(*KIND_RESOURCES[kind], namespace, name), patch)
            except NotFound:
                rt.workloads.pop(key, None)
                rt.reports.forget(key)
                return None
            rt.calls["patch workload"] += 1
            rt.workloads[key] = compact(updated)
        else:
            held = {**(rt.held.get(key) or {}), **patch["metadata"]["annotations"]}
            rt.held[key] = {k: v for k, v in held.items() if v is not None}
        rt.reports.record(key, reports.entry_for(body, assessment, patch["metadata"]["annotations"][A.CHECKED_AT]))
        log.info("%s %s/%s: %s", kind, namespace, name, assessment.reason)
        return "patched"


async def forget_workload(rt: Runtime, key: WorkloadKey, body: dict[str, Any]) -> None:
    """A workload that no longer asks for tfguard keeps no stale verdict."""
    rt.held.pop(key, None)
    current = (body.get("metadata") or {}).get("annotations") or {}
    stale = [k for k in (*annotate.WRITTEN, A.CHECKED_AT) if k in current]
    if not stale or not rt.annotates(key[0]):
        return
    kind, namespace, name = key
    try:
        await rt.kube.patch(resource_path(*KIND_RESOURCES[kind], namespace, name),
                            {"metadata": {"annotations": {k: None for k in stale}}})
        rt.calls["patch workload"] += 1
    except NotFound:
        pass


async def post_event(rt: Runtime, workload: dict[str, Any], assessment: annotate.Assessment, previous: str) -> None:
    body = annotate.event_body(workload, assessment, previous)
    try:
        await rt.kube.create(resource_path("", "v1", "events", body["metadata"]["namespace"]), body)
        rt.calls["create event"] += 1
    except Conflict:  # this very change was already reported
        return
    except ApiError as exc:
        if exc.namespace_terminating:
            log.debug("no Event %s: namespace is being deleted", assessment.event_reason)
            return
        log.warning("could not record Event %s: %s", assessment.event_reason, exc)


async def report_pod(
    rt: Runtime, pod: dict[str, Any], code: str, reason: str, message: str, why: str, event_type: str = "Warning"
) -> None:
    """An Event about one of a workload's Pods, on the workload (where `kubectl describe` is run), once
    per workload and reason; on the Pod itself when it belongs to no workload tfguard follows."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    target = None
    for _ in range(10):  # a Pod can arrive before its ReplicaSet has been indexed: give that a moment
        key, pending = _workload_of(rt, meta)
        target = rt.workloads.get(key) if key else None
        if target is not None or not pending:
            break
        await asyncio.sleep(1.0)
    target = target or {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    target_meta = target.get("metadata") or {}
    body = annotate.object_event(target, event_type, reason, f"[{code}] {message}",
                                 [target_meta.get("uid") or "", reason, why])
    if not rt.first_report(body["metadata"]["name"]):
        return
    try:
        await rt.kube.create(resource_path("", "v1", "events", namespace), body)
        rt.calls["create event"] += 1
    except Conflict:
        return
    except ApiError as exc:
        if not exc.namespace_terminating:
            log.warning("could not record Event %s: %s", reason, exc)


def _workload_of(rt: Runtime, meta: dict[str, Any]) -> tuple[Optional[WorkloadKey], bool]:
    """(the key of the Pod's workload, whether it may yet become known)."""
    namespace = meta.get("namespace") or ""
    owner = next(((r.get("kind"), r.get("name")) for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if owner is None:
        return None, False
    if owner[0] == "ReplicaSet":
        deployments = (rt.indices.get("deployment_of_replicaset") or {}).get((namespace, owner[1])) or []
        return (("Deployment", namespace, list(deployments)[0]) if deployments else None), True
    if owner[0] in WORKLOAD_KINDS:
        return (owner[0], namespace, owner[1] or ""), True
    return None, False


async def recheck_all(rt: Runtime) -> dict[str, int]:
    """Re-assess every tfguard workload from memory: no reads, a write only where something changed."""
    outcomes: dict[str, int] = {}
    slots = asyncio.Semaphore(rt.settings.recheck_concurrency)  # bounded: never a storm of writes

    async def one(key: WorkloadKey) -> None:
        async with slots:
            try:
                outcome = await reconcile_workload(rt, key)
            except Exception as exc:
                log.warning("re-check of %s failed: %s", "/".join(key), exc)
                outcome = "failed"
        outcomes[outcome or "skipped"] = outcomes.get(outcome or "skipped", 0) + 1

    await asyncio.gather(*(one(key) for key in list(rt.workloads)))
    return outcomes


async def recheck_loop(rt: Runtime) -> None:
    """Every `recheck_interval`, and soon after a new ImageStack or ModelProfile arrives."""
    await rt.indexed.wait()
    while True:
        try:
            await asyncio.wait_for(rt.recheck_wanted.wait(), timeout=rt.settings.recheck_interval)
            await asyncio.sleep(rt.settings.recheck_debounce)  # let a burst of arrivals settle
        except asyncio.TimeoutError:
            pass
        rt.recheck_wanted.clear()
        outcomes = await recheck_all(rt)
        if outcomes.get("patched"):
            log.info("re-check: %s", outcomes)


# --- probe results -> ImageStack, ModelProfile --------------------------------------------------


async def record_probe(rt: Runtime, result: PodProbe) -> None:
    await ensure_image_stack(rt, result)
    if result.model is not None:
        await ensure_model_profile(rt, result)


def _newer(result: PodProbe, obj: dict[str, Any]) -> bool:
    seen = (obj.get("status") or {}).get("observedAt") or ""
    return (result.finished_at or "") >= seen


async def _create_or_get(rt: Runtime, path: str, name: str, body: dict[str, Any], call: str) -> dict[str, Any]:
    """Create the object; if another replica or an earlier run already did (409), read it instead."""
    try:
        created = await rt.kube.create(path, body)
        rt.calls[call] += 1
        return created
    except Conflict:
        return await rt.kube.get(f"{path}/{name}")


async def ensure_image_stack(rt: Runtime, result: PodProbe) -> None:
    name = image_stack_name(result.stack.image, result.stack.image_digest, result.namespace)
    existing = rt.store.stack_object(name)
    plural = resource_path(GROUP, VERSION, "imagestacks")
    references = sorted(set(((existing or {}).get("spec") or {}).get("references") or []) | {result.image} - {""})
    wanted = image_stack_body(result, references)
    status = observation_status(result)
    if existing is None:
        existing = await _create_or_get(rt, plural, name, wanted, "create imagestack")
        rt.store.put_stack(existing)
    newer = _newer(result, existing) or not existing.get("status")
    spec = existing.get("spec") or {}
    spec_patch: dict[str, Any] = {}
    if set(wanted["spec"]["references"]) - set(spec.get("references") or []):
        spec_patch["references"] = sorted(set(wanted["spec"]["references"]) | set(spec.get("references") or []))
    if newer:
        for field in ("image", "imageDigest", "stack"):
            if spec.get(field) != wanted["spec"][field]:
                spec_patch[field] = wanted["spec"][field]
    if spec_patch:
        # A JSON patch replaces each field whole (a merge patch would keep stale keys of the facts).
        ops = [{"op": "add", "path": f"/spec/{field}", "value": value} for field, value in spec_patch.items()]
        existing = await rt.kube.patch(f"{plural}/{name}", ops, "json")
        rt.calls["patch imagestack"] += 1
        rt.store.put_stack(existing)
    if newer and _status_differs(existing.get("status") or {}, status):
        existing = await rt.kube.patch(f"{plural}/{name}/status", {"status": status})
        rt.calls["patch imagestack status"] += 1
        rt.store.put_stack(existing)


async def ensure_model_profile(rt: Runtime, result: PodProbe) -> None:
    wanted = model_profile_body(result)
    if wanted is None:
        return
    name, namespace = wanted["metadata"]["name"], result.namespace
    path = resource_path(GROUP, VERSION, "modelprofiles", namespace)
    existing = rt.store.profile_object(namespace, name)
    if existing is None:
        existing = await _create_or_get(rt, path, name, wanted, "create modelprofile")
        rt.store.put_profile(existing)
    labels = (existing.get("metadata") or {}).get("labels") or {}
    if labels.get(A.MANAGED_BY_LABEL) != A.MANAGED_BY_OPERATOR:
        return  # a profile someone applied by hand: theirs, not ours to rewrite
    if not (_newer(result, existing) or not existing.get("status")):
        return
    if (existing.get("spec") or {}) != wanted["spec"]:
        existing = await rt.kube.request(
            "PUT", f"{path}/{name}", body={**copy.deepcopy(existing), "spec": wanted["spec"]}
        )
        rt.calls["update modelprofile"] += 1
    status = observation_status(result)
    status.pop("findings", None)
    if _status_differs(existing.get("status") or {}, status):
        existing = await rt.kube.patch(f"{path}/{name}/status", {"status": status})
        rt.calls["patch modelprofile status"] += 1
    rt.store.put_profile(existing)


def _status_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(current.get(k) != v for k, v in wanted.items())

