"""KServe InferenceServices: the operator's verdict on them, as on Deployments (docs/kserve.md).

The predictor's pod is derived as KServe's controller derives it (tfguard.workload.kserve, from the
ServingRuntimes and ClusterServingRuntimes these index handlers keep in the fact store's
RuntimeStore); the assessment, the Event and the PolicyReport result are the Deployments' own
(annotate.py, reconcile.py). The predictor's Pods carry KServe's label
`serving.kserve.io/inferenceservice`, whatever made them (a raw Deployment, a Knative revision), so
their probe results are indexed by that label.

The verdict is recorded as Events on the InferenceService (what `kubectl describe isvc` shows) and
in the namespace's PolicyReport. Its annotations are written only with
--annotate-inference-services: KServe copies an InferenceService's annotations into the predictor's
pod template, so a changed verdict annotation would roll the predictor out.

Imported (and so registered with kopf) only when the operator runs with --kserve.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from tfguard.operator import reconcile
from tfguard.operator.runtime import Runtime
from tfguard.workload import kserve
from tfguard.workload import runtimes as R
from tfguard.workload.probe_pods import accepted_pod_probe, has_finished_probe
from tfguard.workload.templates import has_user_annotations

log = logging.getLogger("tfguard.operator")
INDEX = "inference_service_probes"


@kopf.on.startup()
async def know_runtimes(memo: Runtime, **kwargs: Any) -> None:
    # The index handlers below run for every listed runtime before any other handler runs, and a
    # cluster without KServe has none to list: by the time an InferenceService is judged, the store
    # is as complete as a synced watch.
    for resource in R.RESOURCES:
        memo.store.runtimes.mark_synced(resource)
    if INDEX in kwargs:
        memo.indices[INDEX] = kwargs[INDEX]


@kopf.index(R.GROUP, R.RUNTIME_VERSION, R.SERVING_RUNTIMES)
def store_serving_runtime(body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.store.runtimes.put(R.SERVING_RUNTIMES, dict(body))


@kopf.index(R.GROUP, R.RUNTIME_VERSION, R.CLUSTER_SERVING_RUNTIMES)
def store_cluster_serving_runtime(body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.store.runtimes.put(R.CLUSTER_SERVING_RUNTIMES, dict(body))


@kopf.on.event(R.GROUP, R.RUNTIME_VERSION, R.SERVING_RUNTIMES)
async def serving_runtime_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    _runtime_changed(R.SERVING_RUNTIMES, type, body, memo)


@kopf.on.event(R.GROUP, R.RUNTIME_VERSION, R.CLUSTER_SERVING_RUNTIMES)
async def cluster_serving_runtime_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    _runtime_changed(R.CLUSTER_SERVING_RUNTIMES, type, body, memo)


def _runtime_changed(resource: str, type: str, body: kopf.Body, memo: Runtime) -> None:
    """A new runtime image, a runtime disabled or gone: every InferenceService is judged again (a
    write only where a verdict changed). Unchanged specs change nothing."""
    memo.indexed.set()
    key = (resource, body.metadata.namespace, body.metadata.name)
    spec = None if type == "DELETED" else dict(body.get("spec") or {})
    if type == "DELETED":
        memo.store.runtimes.drop(resource, dict(body))
    if memo.seen_specs.get(key) != spec:
        if spec is None:
            memo.seen_specs.pop(key, None)
        else:
            memo.seen_specs[key] = spec
        memo.recheck_wanted.set()


@kopf.index("pods", labels={kserve.ISVC_LABEL: kopf.PRESENT}, when=has_finished_probe)
def inference_service_probes(body: kopf.Body, memo: Runtime, **_: Any):
    """Every finished probe tfguard injected into a predictor Pod, by its InferenceService (a report
    from anything else is refused by the Pods' own index, and not taken here either)."""
    if not memo.settings.watches_namespace(body.metadata.namespace):
        return None
    isvc = kserve.isvc_of_pod(dict(body))
    if not isvc:
        return None
    probe, _ = accepted_pod_probe(dict(body), memo.settings.probe_image, memo.settings.probe_install_command)
    return {(probe.namespace, isvc): probe} if probe is not None else None


@kopf.on.event("pods", labels={kserve.ISVC_LABEL: kopf.PRESENT}, when=has_finished_probe)
async def predictor_probe_finished(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    """The probe in a predictor Pod finished: its InferenceService is judged again with it (the
    ImageStack and ModelProfile are recorded by the Pods' own handler)."""
    if type == "DELETED" or not memo.settings.watches_namespace(body.metadata.namespace):
        return
    key = (kserve.KIND, body.metadata.namespace or "", kserve.isvc_of_pod(dict(body)) or "")
    if key in memo.workloads:
        await reconcile.reconcile_workload(memo, key)


@kopf.on.event(kserve.GROUP, kserve.VERSION, kserve.PLURAL)
async def inference_service_changed(type: str, body: kopf.Body, memo: Runtime, **_: Any) -> None:
    memo.indexed.set()
    namespace = body.metadata.namespace
    key = (kserve.KIND, namespace or "", body.metadata.name or "")
    obj = dict(body)
    if type == "DELETED" or not memo.settings.watches_namespace(namespace):
        memo.workloads.pop(key, None)
        memo.held.pop(key, None)
        memo.reports.forget(key)
        return
    if not has_user_annotations(kserve.annotations_of(obj)):
        memo.workloads.pop(key, None)
        memo.reports.forget(key)
        await reconcile.forget_workload(memo, key, obj)
        return
    if reconcile.older_than_held(memo, key, obj):
        return
    memo.workloads[key] = reconcile.compact(obj)
    await reconcile.reconcile_workload(memo, key)
