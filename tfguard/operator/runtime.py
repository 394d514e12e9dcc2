"""What the running operator holds in memory, handed to every kopf handler as `memo`.

Nothing here is state that matters across restarts: the fact store is rebuilt from watches, and
the verdicts live in the workloads' annotations.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Optional

from tfguard.kube import KubeClient
from tfguard.operator.metrics import OperatorMetrics
from tfguard.operator.reports import PolicyReports
from tfguard.operator.settings import OperatorSettings
from tfguard.records import field, record
from tfguard.workload import kserve
from tfguard.workload.nodes import NodeStore
from tfguard.workload.probe_pods import PodProbe
from tfguard.workload.store import RESOURCES, FactStore

WORKLOAD_KINDS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
# Every kind the operator judges: (API group, version, plural). InferenceServices only with --kserve.
KIND_RESOURCES = {
    **{kind: ("apps", "v1", plural) for kind, plural in WORKLOAD_KINDS.items()},
    kserve.KIND: (kserve.GROUP, kserve.VERSION, kserve.PLURAL),
}
WorkloadKey = tuple[str, str, str]  # (kind, namespace, name)
MEMORY_LIMIT = 10_000  # entries in each of the small bookkeeping maps below


def _store() -> FactStore:
    store = FactStore(keep_objects=True)
    # kopf's index handlers feed the store, and they run for every listed object before any other
    # handler sees one: by the time a workload is judged the store is as complete as a synced watch.
    for resource in RESOURCES:
        store.mark_synced(resource)
    return store


def _nodes() -> NodeStore:
    nodes = NodeStore()
    nodes.synced = True  # fed by a kopf index handler: complete before any workload is judged (see _store)
    return nodes


@record
class Runtime:
    settings: OperatorSettings
    kube: KubeClient
    store: FactStore = field(default_factory=_store)
    nodes: NodeStore = field(default_factory=_nodes)  # the Nodes' GPU/CPU facts, for node checks
    nodes_judged_at: int = 0  # the node store's generation the last re-check was asked for
    workloads: dict[WorkloadKey, dict[str, Any]] = field(default_factory=dict)  # tfguard workloads, as last seen
    # The verdict annotations of workloads tfguard does not annotate (InferenceServices, unless
    # --annotate-inference-services): what their annotations would say, kept here instead.
    held: dict[WorkloadKey, dict[str, str]] = field(default_factory=dict)
    indices: dict[str, Any] = field(default_factory=dict)  # kopf's indices, by index name
    seen_specs: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # facts a re-check was run for
    recheck_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    indexed: asyncio.Event = field(default_factory=asyncio.Event)  # kopf has listed everything once
    calls: collections.Counter = field(default_factory=collections.Counter)  # writes made, by kind
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    reports: Optional[PolicyReports] = None  # made from the settings when not given
    # Probe reports not taken, by Pod uid (bounded: the oldest go first), and Events already posted.
    refused_probes: dict[str, str] = field(default_factory=dict)
    reported: dict[str, None] = field(default_factory=dict)
    _locks: dict[WorkloadKey, asyncio.Lock] = field(default_factory=dict)
    _counted_probes: set[tuple[str, str]] = field(default_factory=set)
    _started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5)))

    def __post_init__(self) -> None:
        if self.reports is None:
            self.reports = PolicyReports(self.kube, enabled=self.settings.policy_reports, metrics=self.metrics)
        self.metrics.runtime = self
        self.store.trusted_namespaces = tuple(self.settings.trusted_namespaces)

    def count_probe(self, probe: PodProbe, outcome: str) -> None:
        """Count each finished probe once (a Pod's status changes many times), and only probes that
        finished while this process ran: a restarted operator does not count old failures again."""
        seen = (probe.pod_uid, probe.finished_at)
        if seen in self._counted_probes or probe.finished_at < self._started_at:
            return
        if len(self._counted_probes) > 10_000:
            self._counted_probes.clear()
        self._counted_probes.add(seen)
        self.metrics.probe_report(outcome, probe.status)

    def refuse_probe(self, pod_uid: str, why: str) -> None:
        self.refused_probes[pod_uid] = why
        while len(self.refused_probes) > MEMORY_LIMIT:
            del self.refused_probes[next(iter(self.refused_probes))]

    def first_report(self, name: str) -> bool:
        """True the first time an Event of this name is about to be posted (by this process)."""
        if name in self.reported:
            return False
        self.reported[name] = None
        while len(self.reported) > MEMORY_LIMIT:
            del self.reported[next(iter(self.reported))]
        return True

    def annotates(self, kind: str) -> bool:
        """Whether the verdict goes into the object's annotations (else only Events, reports, memory)."""
        return kind != kserve.KIND or self.settings.annotate_inference_services

    def lock(self, key: WorkloadKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def probes_of_owner(self, namespace: str, owner_kind: str, owner_name: str) -> list[PodProbe]:
        return list((self.indices.get("pod_probes") or {}).get((namespace, owner_kind, owner_name), []))

    def pod_probe(self, namespace: str, owner_kind: str, owner_name: str, pod_uid: str) -> Optional[PodProbe]:
        """The probe of one Pod, as the index parsed it (a Pod's report is parsed once)."""
        return next((p for p in self.probes_of_owner(namespace, owner_kind, owner_name) if p.pod_uid == pod_uid), None)

    def latest_probe(self, kind: str, namespace: str, name: str) -> Optional[PodProbe]:
        """The most recent finished probe among the workload's Pods (Pod -> ReplicaSet -> Deployment;
        an InferenceService's predictor Pods by KServe's label, whatever controller made them)."""
        if kind == kserve.KIND:
            found = list((self.indices.get("inference_service_probes") or {}).get((namespace, name), []))
        else:
            owners: list[tuple[str, str]] = [(kind, name)]
            if kind == "Deployment":
                replicasets = self.indices.get("replicasets_by_deployment") or {}
                owners = [("ReplicaSet", rs) for rs in replicasets.get((namespace, name), [])]
            found = [p for owner_kind, owner_name in owners for p in self.probes_of_owner(namespace, owner_kind, owner_name)]
        return max(found, key=lambda p: (p.finished_at, p.pod), default=None)

    def workloads_of_pod(self, probe: PodProbe) -> list[WorkloadKey]:
        if probe.owner_kind == "ReplicaSet":
            owners = self.indices.get("deployment_of_replicaset") or {}
            return [("Deployment", probe.namespace, d) for d in owners.get((probe.namespace, probe.owner_name), [])]
        if probe.owner_kind in WORKLOAD_KINDS:
            return [(probe.owner_kind, probe.namespace, probe.owner_name or "")]
        return []
