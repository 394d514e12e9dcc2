"""The webhook's own I/O: watches that keep the fact store and the node store current.

A store that cannot sync (no cluster access, no CRDs, no RBAC) is given up on after a bounded time:
the webhook then judges from annotations and the catalog alone (fail-open). The Nodes never hold
up readiness: until they are listed (or where the webhook may not list them) verdicts go without
node checks.
"""

from __future__ import annotations

import asyncio
import logging
import time

from typing import Optional

from tfguard.compat.resources import GROUP, VERSION
from tfguard.workload.nodes import NodeStore
from tfguard.workload import runtimes as R
from tfguard.workload.store import IMAGE_STACKS, MODEL_PROFILES, FactStore

log = logging.getLogger("tfguard.webhook.watch")

PATHS = {resource: f"/apis/{GROUP}/{VERSION}/{resource}" for resource in (IMAGE_STACKS, MODEL_PROFILES)}
NODES_PATH = "/api/v1/nodes"
# KServe's runtimes, for InferenceServices: optional (a cluster without KServe has no such API; the
# watch then retries rarely and the webhook never waits for it).
RUNTIME_PATHS = {resource: f"/apis/{R.GROUP}/{R.RUNTIME_VERSION}/{resource}" for resource in R.RESOURCES}


async def keep_store_current(store: FactStore, kube, sync_timeout: float, nodes: Optional[NodeStore] = None) -> None:
    """Watch ImageStacks and ModelProfiles (and Nodes, when given a node store) until cancelled; stop
    waiting for a sync after sync_timeout."""
    tasks = [asyncio.create_task(_follow(store, kube, resource)) for resource in PATHS]
    if nodes is not None:
        tasks.append(asyncio.create_task(_follow_nodes(nodes, kube)))
    tasks += [asyncio.create_task(_follow_runtimes(store, kube, resource)) for resource in RUNTIME_PATHS]
    try:
        deadline = time.monotonic() + sync_timeout
        while not store.synced and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not store.synced:
            store.gave_up = True
            log.warning("fact store not synced after %.0fs; serving without it until it is", sync_timeout)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _follow(store: FactStore, kube, resource: str) -> None:
    async for event in kube.watch(PATHS[resource]):
        try:
            store.apply(resource, event.type, event.object)
        except Exception:  # one malformed object must not stop the watch
            log.exception("could not store a %s event", event.type)


async def _follow_nodes(nodes: NodeStore, kube) -> None:
    async for event in kube.watch(NODES_PATH):
        try:
            nodes.apply(event.type, event.object)
        except Exception:
            log.exception("could not store a Node %s event", event.type)
async def _follow_runtimes(store: FactStore, kube, resource: str) -> None:
    async for event in kube.watch(RUNTIME_PATHS[resource], backoff_max=300.0):
        try:
            store.runtimes.apply(resource, event.type, event.object)
        except Exception:
            log.exception("could not store a %s event", event.type)
