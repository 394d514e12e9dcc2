"""What the running operator holds in memory, handed to every kopf handler as `memo`.

Nothing here is state that matters across restarts: the caches are rebuilt from watches, and the
verdicts live in the workloads' annotations.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any, Optional

from tfguard.kube import KubeClient
from tfguard.operator.probe_results import ProbeResult
from tfguard.operator.settings import OperatorSettings
from tfguard.webhook.cache import IMAGE_STACKS, MODEL_PROFILES, Caches, image_keys

WORKLOAD_KINDS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
WorkloadKey = tuple[str, str, str]  # (kind, namespace, name)


@dataclass
class Runtime:
    settings: OperatorSettings
    kube: KubeClient
    caches: Caches = field(default_factory=Caches)
    workloads: dict[WorkloadKey, dict[str, Any]] = field(default_factory=dict)  # tfguard workloads, as last seen
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)  # ImageStack name -> object
    profiles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (ns, name) -> ModelProfile
    indices: dict[str, Any] = field(default_factory=dict)  # kopf's indices, by index name
    seen_specs: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # facts a re-check was run for
    recheck_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    indexed: asyncio.Event = field(default_factory=asyncio.Event)  # kopf has listed everything once
    calls: collections.Counter = field(default_factory=collections.Counter)  # writes made, by kind
    _locks: dict[WorkloadKey, asyncio.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The caches are filled by kopf's index handlers, which run to completion for every object
        # before any other handler sees one: by then they are as complete as a synced watch.
        self.caches.apply(IMAGE_STACKS, "LISTED", {"items": []})
        self.caches.apply(MODEL_PROFILES, "LISTED", {"items": []})

    def lock(self, key: WorkloadKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def latest_probe(self, kind: str, namespace: str, name: str) -> Optional[ProbeResult]:
        """The most recent finished probe among the workload's Pods (Pod -> ReplicaSet -> Deployment)."""
        probes = self.indices.get("probe_results") or {}
        owners: list[tuple[str, str]] = []
        if kind == "Deployment":
            replicasets = self.indices.get("replicasets_by_deployment") or {}
            owners = [("ReplicaSet", rs) for rs in replicasets.get((namespace, name), [])]
        else:
            owners = [(kind, name)]
        found: list[ProbeResult] = []
        for owner_kind, owner_name in owners:
            found.extend(probes.get((namespace, owner_kind, owner_name), []))
        return max(found, key=lambda p: (p.finished_at, p.pod), default=None)

    def stack_object_name(self, stack) -> Optional[str]:
        """The name of the ImageStack that holds these facts (by digest, else by reference)."""
        names = self.indices.get("stack_names") or {}
        for key in [stack.image_digest, *image_keys(stack.image or "")]:
            for name in names.get(key, []) if key else []:
                return name
        return None

    def workloads_of_pod(self, result: ProbeResult) -> list[WorkloadKey]:
        if result.owner_kind == "ReplicaSet":
            owners = self.indices.get("deployment_of_replicaset") or {}
            return [("Deployment", result.namespace, d) for d in owners.get((result.namespace, result.owner_name), [])]
        if result.owner_kind in WORKLOAD_KINDS:
            return [(result.owner_kind, result.namespace, result.owner_name or "")]
        return []
