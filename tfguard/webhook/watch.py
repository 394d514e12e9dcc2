"""The webhook's own I/O: watches that keep the fact store current.

A store that cannot sync (no cluster access, no CRDs, no RBAC) is given up on after a bounded time:
the webhook then judges from annotations and the catalog alone (fail-open).
"""

from __future__ import annotations

import asyncio
import logging
import time

from tfguard.compat.resources import GROUP, VERSION
from tfguard.workload.store import IMAGE_STACKS, MODEL_PROFILES, FactStore

log = logging.getLogger("tfguard.webhook.watch")

PATHS = {resource: f"/apis/{GROUP}/{VERSION}/{resource}" for resource in (IMAGE_STACKS, MODEL_PROFILES)}


async def keep_store_current(store: FactStore, kube, sync_timeout: float) -> None:
    """Watch ImageStacks and ModelProfiles until cancelled; stop waiting for a sync after sync_timeout."""
    tasks = [asyncio.create_task(_follow(store, kube, resource)) for resource in PATHS]
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
