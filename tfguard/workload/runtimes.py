"""KServe's ServingRuntimes and ClusterServingRuntimes, held in memory from watches.

The admission path picks an InferenceService's runtime from here as KServe's controller would
(tfguard.workload.kserve), without any request to the API server. Like the FactStore, this does no
I/O: the webhook's watch loop and the operator's kopf handlers feed it. KServe is optional: a
cluster without its CRDs simply never syncs this store, and InferenceServices are then judged from
what they say themselves (with a finding that the runtimes are not known).
"""

from __future__ import annotations

from typing import Any, Optional

from tfguard.records import record

GROUP = "serving.kserve.io"
RUNTIME_VERSION = "v1alpha1"
SERVING_RUNTIMES = "servingruntimes"
CLUSTER_SERVING_RUNTIMES = "clusterservingruntimes"
RESOURCES = (SERVING_RUNTIMES, CLUSTER_SERVING_RUNTIMES)


@record(frozen=True)
class Runtime:
    """One ServingRuntime (namespace set) or ClusterServingRuntime (namespace None), as read."""

    name: str
    namespace: Optional[str]
    spec: dict[str, Any]
    created: str = ""  # metadata.creationTimestamp (RFC 3339: sorts as text)

    @property
    def kind(self) -> str:
        return "ServingRuntime" if self.namespace is not None else "ClusterServingRuntime"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def _runtime(obj: dict[str, Any], cluster: bool) -> Optional[Runtime]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name")
    spec = obj.get("spec")
    if not isinstance(name, str) or not isinstance(spec, dict):
        return None
    namespace = None if cluster else str(meta.get("namespace") or "")
    return Runtime(name=name, namespace=namespace, spec=spec, created=str(meta.get("creationTimestamp") or ""))


class RuntimeStore:
    def __init__(self) -> None:
        self._namespaced: dict[tuple[str, str], Runtime] = {}
        self._cluster: dict[str, Runtime] = {}
        self._synced = dict.fromkeys(RESOURCES, False)
        self.generation = 0

    # --- read side ---
    @property
    def synced(self) -> bool:
        return all(self._synced.values())

    def named(self, namespace: str, name: str) -> Optional[Runtime]:
        """A runtime by name as KServe looks it up: the namespace's ServingRuntime, else the cluster's."""
        return self._namespaced.get((namespace, name)) or self._cluster.get(name)

    def in_namespace(self, namespace: str) -> list[Runtime]:
        return [r for (ns, _), r in self._namespaced.items() if ns == namespace]

    def cluster(self) -> list[Runtime]:
        return list(self._cluster.values())

    def sizes(self) -> dict[str, int]:
        return {SERVING_RUNTIMES: len(self._namespaced), CLUSTER_SERVING_RUNTIMES: len(self._cluster)}

    # --- write side ---
    def mark_synced(self, resource: str) -> None:
        self._synced[resource] = True

    def put(self, resource: str, obj: dict[str, Any]) -> None:
        runtime = _runtime(obj, cluster=resource == CLUSTER_SERVING_RUNTIMES)
        if runtime is None:
            return
        self.generation += 1
        if runtime.namespace is None:
            self._cluster[runtime.name] = runtime
        else:
            self._namespaced[(runtime.namespace, runtime.name)] = runtime

    def drop(self, resource: str, obj: dict[str, Any]) -> None:
        runtime = _runtime(obj, cluster=resource == CLUSTER_SERVING_RUNTIMES)
        if runtime is None:
            return
        self.generation += 1
        if runtime.namespace is None:
            self._cluster.pop(runtime.name, None)
        else:
            self._namespaced.pop((runtime.namespace, runtime.name), None)

    def apply(self, resource: str, event_type: str, obj: dict[str, Any]) -> None:
        """One watch event: LISTED (the whole list, then synced), ADDED, MODIFIED or DELETED."""
        if event_type == "LISTED":
            self.generation += 1
            if resource == CLUSTER_SERVING_RUNTIMES:
                self._cluster = {}
            else:
                self._namespaced = {}
            for item in obj.get("items") or []:
                if isinstance(item, dict):
                    self.put(resource, item)
            self.mark_synced(resource)
        elif event_type in ("ADDED", "MODIFIED"):
            self.put(resource, obj)
        elif event_type == "DELETED":
            self.drop(resource, obj)
