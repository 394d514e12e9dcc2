"""ImageStacks and ModelProfiles held in memory, fed by watches; read on every admission.

Objects are converted to facts when they arrive, so the admission path only does dict lookups.
A cache that cannot sync (no cluster access, no CRDs, no RBAC) is given up on after a bounded time:
the webhook then judges from annotations and the catalog alone (fail-open).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Optional

from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import GROUP, VERSION, facts_from_model_profile, stack_from_image_stack

log = logging.getLogger("tfguard.webhook.cache")

IMAGE_STACKS = f"/apis/{GROUP}/{VERSION}/imagestacks"
MODEL_PROFILES = f"/apis/{GROUP}/{VERSION}/modelprofiles"


def image_keys(image: str) -> list[str]:
    """The lookup keys of an image reference: itself, with :latest when untagged, and its digest."""
    image = (image or "").strip()
    if not image:
        return []
    keys = [image]
    name, at, digest = image.partition("@")
    if at:
        keys.append(digest)
    elif ":" not in name.rsplit("/", 1)[-1]:
        keys.append(name + ":latest")
    return keys


class Caches:
    def __init__(self) -> None:
        self._stacks: dict[str, StackFacts] = {}  # uid -> facts
        self._stack_index: dict[str, str] = {}  # digest or reference -> uid
        self._profiles: dict[tuple[str, str], ModelFacts] = {}
        self._synced = {IMAGE_STACKS: False, MODEL_PROFILES: False}
        self.gave_up = False
        self.generation = 0  # bumped on every change: verdicts remembered under an older one are stale
        self.started_at = time.monotonic()

    # --- read side (admission path) ---
    def stack_for(self, image: str) -> Optional[StackFacts]:
        for key in image_keys(image):
            uid = self._stack_index.get(key)
            if uid is not None:
                return self._stacks.get(uid)
        return None

    def profile(self, namespace: str, name: str) -> Optional[ModelFacts]:
        return self._profiles.get((namespace, name))

    @property
    def synced(self) -> bool:
        return all(self._synced.values())

    @property
    def ready(self) -> bool:
        return self.synced or self.gave_up

    def sizes(self) -> dict[str, int]:
        return {"imagestacks": len(self._stacks), "modelprofiles": len(self._profiles)}

    # --- write side (watch events) ---
    def put_stack(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        uid = _uid(obj)
        self.drop_stack(obj)
        facts = stack_from_image_stack(obj)
        self._stacks[uid] = facts
        spec = obj.get("spec") or {}
        keys = [spec.get("imageDigest") or ""]
        for ref in [spec.get("image") or ""] + list(spec.get("references") or []):
            keys += image_keys(ref)
        for key in keys:
            if key:
                self._stack_index[key] = uid

    def drop_stack(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        uid = _uid(obj)
        if self._stacks.pop(uid, None) is not None:
            for key in [k for k, v in self._stack_index.items() if v == uid]:
                del self._stack_index[key]

    def replace_stacks(self, items: list[dict[str, Any]]) -> None:
        self.generation += 1
        self._stacks, self._stack_index = {}, {}
        for obj in items:
            self.put_stack(obj)

    def put_profile(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        meta = obj.get("metadata") or {}
        self._profiles[(meta.get("namespace") or "", meta.get("name") or "")] = facts_from_model_profile(obj)

    def drop_profile(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        meta = obj.get("metadata") or {}
        self._profiles.pop((meta.get("namespace") or "", meta.get("name") or ""), None)

    def replace_profiles(self, items: list[dict[str, Any]]) -> None:
        self.generation += 1
        self._profiles = {}
        for obj in items:
            self.put_profile(obj)

    def apply(self, path: str, event_type: str, obj: dict[str, Any]) -> None:
        stacks = path == IMAGE_STACKS
        if event_type == "LISTED":
            (self.replace_stacks if stacks else self.replace_profiles)(obj.get("items") or [])
            if not self._synced[path]:
                self._synced[path] = True
                log.info("cache synced", extra={"resource": path.rsplit("/", 1)[-1], "objects": len(obj.get("items") or [])})
        elif event_type in ("ADDED", "MODIFIED"):
            (self.put_stack if stacks else self.put_profile)(obj)
        elif event_type == "DELETED":
            (self.drop_stack if stacks else self.drop_profile)(obj)

    # --- running the watches ---
    async def run(self, kube, sync_timeout: float) -> None:
        """Watch both resources until cancelled; give up waiting for a sync after sync_timeout."""
        tasks = [asyncio.create_task(self._follow(kube, path)) for path in (IMAGE_STACKS, MODEL_PROFILES)]
        try:
            deadline = time.monotonic() + sync_timeout
            while not self.synced and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if not self.synced:
                self.gave_up = True
                log.warning("caches not synced after %.0fs; serving without them until they are", sync_timeout)
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _follow(self, kube, path: str) -> None:
        async for event in kube.watch(path):
            try:
                self.apply(path, event.type, event.object)
            except Exception:  # one malformed object must not stop the watch
                log.exception("could not cache a %s event", event.type)


def _uid(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("uid") or meta.get("name") or ""
