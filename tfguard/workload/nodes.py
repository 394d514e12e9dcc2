"""The Nodes a pod can land on, held in memory from a watch, and what their labels say about GPUs and CPUs.

A Node becomes a few strings at arrival; nothing of the object is kept. Nodes whose labels (less the
per-node ones such as `kubernetes.io/hostname`), taints and GPU resources are equal share one
`_Pool`, so a cluster of thousands of nodes in a few pools costs a few pools plus a name each. The
store is bounded (`max_nodes`, `max_labels`): past the bound it stops answering (`None`: nodes not
known), and the verdict goes without node checks (fail-open).

`candidates(pod_spec, store)` matches a pod template the way the scheduler filters nodes:
`spec.nodeName`, `nodeSelector`, required node affinity (`matchExpressions`, `matchFields` on
`metadata.name`), taints with effect NoSchedule/NoExecute against tolerations, `spec.unschedulable`,
and the extended resources its containers ask for (`nvidia.com/gpu`, `nvidia.com/mig-*`) against
allocatable. It returns the candidates grouped by their GPU/CPU facts (tfguard.compat.facts.NodeFacts),
which the verdict engine judges (tfguard.compat.rules.gpu). Pure: no I/O.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable, Optional

from tfguard.compat.facts import NodeFacts
from tfguard.records import record

log = logging.getLogger("tfguard.workload.nodes")

NODES = "nodes"
HOSTNAME = "kubernetes.io/hostname"
ARCH = "kubernetes.io/arch"
CPUID = "feature.node.kubernetes.io/cpu-cpuid."
# The CPU instruction sets a TensorFlow build may be compiled for, as NFD names them.
CPU_FLAGS = ("AVX", "AVX2", "FMA3", "AVX512F", "AVX512VNNI", "AVX512BF16", "AVXVNNI", "AMXTILE", "AMXBF16")
EXTENDED_PREFIX = "nvidia.com/"
SCHEDULING_EFFECTS = ("NoSchedule", "NoExecute")


def _label(labels: dict[str, str], *names: str) -> Optional[str]:
    for name in names:
        value = labels.get(name)
        if value not in (None, ""):
            return value
    return None


def _version(labels: dict[str, str], full: str, parts: tuple[str, ...], old_parts: tuple[str, ...]) -> Optional[str]:
    """A version from GFD labels: `...full`, else major.minor[.revision] (new names, then the deprecated ones)."""
    if labels.get(full):
        return labels[full]
    for names in (parts, old_parts):
        values = [labels.get(n) for n in names]
        if values[0] and values[1]:
            return ".".join(v for v in values if v)
    return None


def gpu_facts(labels: dict[str, str]) -> dict[str, Any]:
    """The GPU and CPU facts of a node's labels (GPU Feature Discovery, Node Feature Discovery)."""
    driver = _version(
        labels, "nvidia.com/cuda.driver-version.full",
        ("nvidia.com/cuda.driver-version.major", "nvidia.com/cuda.driver-version.minor", "nvidia.com/cuda.driver-version.revision"),
        ("nvidia.com/cuda.driver.major", "nvidia.com/cuda.driver.minor", "nvidia.com/cuda.driver.rev"),
    )
    cuda = _version(
        labels, "nvidia.com/cuda.runtime-version.full",
        ("nvidia.com/cuda.runtime-version.major", "nvidia.com/cuda.runtime-version.minor"),
        ("nvidia.com/cuda.runtime.major", "nvidia.com/cuda.runtime.minor"),
    )
    major, minor = labels.get("nvidia.com/gpu.compute.major"), labels.get("nvidia.com/gpu.compute.minor")
    has_cpuid = any(k.startswith(CPUID) for k in labels)
    return {
        "driver_version": driver,
        "cuda_driver_version": cuda,
        "compute_capability": f"{major}.{minor}" if major and minor else None,
        "gpu_product": _label(labels, "nvidia.com/gpu.product"),
        "gpu_family": _label(labels, "nvidia.com/gpu.family"),
        "mig_strategy": _label(labels, "nvidia.com/mig.strategy"),
        "arch": _label(labels, ARCH),
        "cpu_flags": [f for f in CPU_FLAGS if labels.get(CPUID + f) == "true"] if has_cpuid else None,
    }


@record(frozen=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, taint: tuple[str, str, str]) -> bool:
        key, value, effect = taint
        if self.effect and self.effect != effect:
            return False
        if not self.key:
            return self.operator == "Exists"
        if self.key != key:
            return False
        return self.operator == "Exists" or self.value == value


class _Pool:
    """Nodes that schedule and judge alike: one labels dict, taints and resources, shared."""

    __slots__ = ("labels", "taints", "unschedulable", "resources", "facts", "members")

    def __init__(self, labels, taints, unschedulable, resources):
        self.labels: dict[str, str] = labels
        self.taints: tuple[tuple[str, str, str], ...] = taints
        self.unschedulable: bool = unschedulable
        self.resources: dict[str, int] = resources
        self.facts = gpu_facts(labels)
        self.members: dict[str, dict[str, str]] = {}  # node name -> its own labels (hostname)


class NodeStore:
    def __init__(self, max_nodes: int = 20000, max_labels: int = 512) -> None:
        self.max_nodes, self.max_labels = max_nodes, max_labels
        self._pools: dict[tuple, _Pool] = {}
        self._pool_of: dict[str, tuple] = {}  # node name -> pool key
        self.synced = False
        self.overflow = False  # more nodes (or labels) than the bounds: stop answering
        self.generation = 0  # bumped when what a verdict depends on changes

    # --- read side ---
    def __len__(self) -> int:
        return len(self._pool_of)

    @property
    def pools(self) -> int:
        return len(self._pools)

    @property
    def usable(self) -> bool:
        """Whether the store can answer: listed once, within bounds, and holding any Node at all (a
        cluster without Nodes, or a watch that may not list them, says nothing)."""
        return self.synced and not self.overflow and bool(self._pool_of)

    def candidates(self, pod_spec: dict[str, Any]) -> Optional[list[NodeFacts]]:
        """The nodes `pod_spec` can be scheduled on, grouped by their facts; None when not known."""
        if not self.usable:
            return None
        try:
            wanted = _Wanted.of(pod_spec)
        except (TypeError, ValueError, AttributeError) as exc:  # a malformed template: no node verdict
            log.debug("cannot read the scheduling constraints of a pod template: %s", exc)
            return None
        groups: dict[tuple, NodeFacts] = {}
        for pool in self._pools.values():
            if not wanted.fits_pool(pool):
                continue
            if wanted.node_name is None and not wanted.selector and wanted.terms is None:
                fitting = list(pool.members)  # nothing narrows the pool: every member fits
            else:
                fitting = [name for name, own in pool.members.items() if wanted.fits_node(name, pool, own)]
            if not fitting:
                continue
            key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(pool.facts.items()))
            group = groups.get(key)
            if group is None:
                group = groups[key] = NodeFacts(**pool.facts)
            group.names += fitting
            group.count += len(fitting)
        for group in groups.values():
            group.names.sort()
        return sorted(groups.values(), key=lambda g: g.names[0])

    # --- write side ---
    def put(self, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name") or "")
        if not name:
            return
        key, labels, own, taints, unschedulable, resources = self._read(name, obj)
        if labels is None:
            return
        if self._pool_of.get(name) == key and self._pools[key].members.get(name) == own:
            return  # a status heartbeat: nothing a verdict depends on changed
        self._remove(name)
        if name not in self._pool_of and len(self._pool_of) >= self.max_nodes:
            if not self.overflow:
                log.warning("more than %d Nodes: node checks are off (raise the bound to turn them on)", self.max_nodes)
            self.overflow = True
            return
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(labels, taints, unschedulable, resources)
        pool.members[name] = own
        self._pool_of[name] = key
        self.generation += 1

    def drop(self, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name") or "")
        if name in self._pool_of:
            self._remove(name)
            self.generation += 1

    def replace(self, items: Iterable[dict[str, Any]]) -> None:
        self._pools, self._pool_of, self.overflow = {}, {}, False
        for obj in items:
            self.put(obj)
        self.generation += 1

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        """One watch event: LISTED (the whole list, then synced), ADDED, MODIFIED or DELETED."""
        if event_type == "LISTED":
            self.replace(obj.get("items") or [])
            if not self.synced:
                self.synced = True
                log.info("node store synced", extra={"nodes": len(self), "pools": self.pools})
        elif event_type in ("ADDED", "MODIFIED"):
            self.put(obj)
        elif event_type == "DELETED":
            self.drop(obj)

    def _remove(self, name: str) -> None:
        key = self._pool_of.pop(name, None)
        if key is None:
            return
        pool = self._pools[key]
        pool.members.pop(name, None)
        if not pool.members:
            del self._pools[key]

    def _read(self, name: str, obj: dict[str, Any]):
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        raw = meta.get("labels") or {}
        if not isinstance(raw, dict) or len(raw) > self.max_labels:
            log.warning("Node %s has %s labels: left out of the node checks", name[:63], len(raw) if isinstance(raw, dict) else "no")
            return None, None, None, None, None, None
        labels, own = {}, {}
        for k, v in raw.items():
            if not isinstance(k, str) or not isinstance(v, str):
                continue
            # Labels of this node alone would make a pool per node: kept per node instead.
            (own if k == HOSTNAME or v == name else labels)[sys.intern(k)] = v if v == name else sys.intern(v)
        taints = tuple(sorted(
            (str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
            for t in spec.get("taints") or [] if isinstance(t, dict) and t.get("effect") in SCHEDULING_EFFECTS
        ))
        unschedulable = bool(spec.get("unschedulable"))
        resources = {
            sys.intern(k): _quantity(v) for k, v in (status.get("allocatable") or {}).items()
            if isinstance(k, str) and k.startswith(EXTENDED_PREFIX)
        }
        key = (tuple(sorted(labels.items())), taints, unschedulable, tuple(sorted(resources.items())))
        existing = self._pools.get(key)
        if existing is not None:
            labels = existing.labels  # share the one dict
        return key, labels, own, taints, unschedulable, resources


def _quantity(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def extended_requests(pod_spec: dict[str, Any]) -> dict[str, int]:
    """The nvidia.com/ resources the pod's containers ask for (limits, else requests), summed."""
    total: dict[str, int] = {}
    for container in pod_spec.get("containers") or []:
        if not isinstance(container, dict):
            continue
        resources = container.get("resources") or {}
        asked = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
        for name, value in asked.items():
            if isinstance(name, str) and name.startswith(EXTENDED_PREFIX):
                total[name] = total.get(name, 0) + _quantity(value)
    return {k: v for k, v in total.items() if v > 0}


@record
class _Wanted:
    node_name: Optional[str]
    selector: dict[str, str]
    terms: Optional[list[dict[str, Any]]]  # required node affinity; None: no constraint
    tolerations: list[Toleration]
    resources: dict[str, int]

    @classmethod
    def of(cls, spec: dict[str, Any]) -> "_Wanted":
        affinity = ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        tolerations = [
            Toleration(str(t.get("key") or ""), str(t.get("operator") or "Equal"), str(t.get("value") or ""),
                       str(t.get("effect") or ""))
            for t in spec.get("tolerations") or [] if isinstance(t, dict)
        ]
        return cls(
            node_name=spec.get("nodeName") or None,
            selector={str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()},
            terms=list(required.get("nodeSelectorTerms") or []) if isinstance(required, dict) else None,
            tolerations=tolerations,
            resources=extended_requests(spec),
        )

    def fits_pool(self, pool: _Pool) -> bool:
        for name, count in self.resources.items():
            if pool.resources.get(name, 0) < count:
                return False
        taints = pool.taints + ((("node.kubernetes.io/unschedulable", "", "NoSchedule"),) if pool.unschedulable else ())
        return all(any(t.tolerates(taint) for t in self.tolerations) for taint in taints)

    def fits_node(self, name: str, pool: _Pool, own: dict[str, str]) -> bool:
        if self.node_name is not None and self.node_name != name:
            return False
        labels = _Labels(pool.labels, own)
        if any(labels.get(k) != v for k, v in self.selector.items()):
            return False
        if self.terms is None:
            return True
        return any(_term_matches(term, labels, name) for term in self.terms if isinstance(term, dict))


class _Labels:
    """A pool's labels with one node's own on top, without copying either."""

    def __init__(self, shared: dict[str, str], own: dict[str, str]):
        self.shared, self.own = shared, own

    def get(self, key: str) -> Optional[str]:
        value = self.own.get(key)
        return value if value is not None else self.shared.get(key)


def _term_matches(term: dict[str, Any], labels: _Labels, name: str) -> bool:
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    fields = [e for e in term.get("matchFields") or [] if isinstance(e, dict)]
    if not expressions and not fields:
        return False  # an empty term matches no node
    return all(_expression(e, labels.get(str(e.get("key")))) for e in expressions) and all(
        _expression(e, name if e.get("key") == "metadata.name" else None) for e in fields
    )


def _expression(e: dict[str, Any], value: Optional[str]) -> bool:
    operator, values = e.get("operator"), [str(v) for v in e.get("values") or []]
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, bound = int(value), int(values[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def scheduling_key(pod_spec: dict[str, Any], store: Optional[NodeStore]) -> Optional[tuple]:
    """What a node verdict depends on, for memoising verdicts: the node store's state and the pod's
    scheduling constraints (a digest, so a huge affinity costs its hash, not its size)."""
    if store is None or not store.usable:
        return None
    import hashlib
    import json

    wanted = {k: pod_spec.get(k) for k in ("nodeName", "nodeSelector", "affinity", "tolerations")}
    wanted["resources"] = extended_requests(pod_spec)
    text = json.dumps(wanted, sort_keys=True, default=str)
    return store.generation, hashlib.sha256(text.encode()).hexdigest()
