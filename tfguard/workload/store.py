"""The fact store: ImageStacks and ModelProfiles held in memory, read on every admission and check.

Objects are turned into facts when they arrive, so a lookup is a dict access. Each service feeds
the store from its own watches (the webhook's watch loop, the operator's kopf handlers); the store
itself does no I/O. It keeps, in one place, what the operator used to hold three times: the
objects as the API server has them (when `keep_objects`), their facts, and the index from image
references and digests to ImageStack names.

Facts are scoped (docs/threat-model.md). An ImageStack the operator learned from a probe in
namespace A (`spec.observedIn: A`) applies to workloads in A only, unless A is one of the
`trusted_namespaces` the admin named: anyone who can create Pods in A can make its probe report
say anything, and must not change a verdict in namespace B. An ImageStack without `observedIn`
was written by someone allowed to write cluster-scoped tfguard objects (an admin) and applies
everywhere. ModelProfiles are namespaced and only ever read in their own namespace.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import facts_from_model_profile, stack_from_image_stack
from tfguard.workload.images import image_keys
from tfguard.workload.runtimes import RuntimeStore

log = logging.getLogger("tfguard.workload.store")

IMAGE_STACKS = "imagestacks"
MODEL_PROFILES = "modelprofiles"
RESOURCES = (IMAGE_STACKS, MODEL_PROFILES)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _namespaced_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def observed_in(obj: dict[str, Any]) -> str:
    """The namespace whose probe an ImageStack comes from ("" for one an admin declared). ImageStacks
    written before facts were scoped say it only in `status.observedBy`."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    scope = spec.get("observedIn")
    if isinstance(scope, str) and scope:
        return scope
    observed_by = (obj.get("status") or {}).get("observedBy") if isinstance(obj.get("status"), dict) else None
    namespace = observed_by.get("namespace") if isinstance(observed_by, dict) else None
    return namespace if isinstance(namespace, str) else ""


def stack_index_keys(obj: dict[str, Any]) -> list[str]:
    """Every key an ImageStack is found under: its digest, its image and each reference it lists."""
    spec = obj.get("spec") or {}
    keys = [spec.get("imageDigest") or ""]
    for ref in [spec.get("image") or ""] + list(spec.get("references") or []):
        keys += image_keys(ref) if isinstance(ref, str) else []
    return [k for k in keys if k]


class FactStore:
    def __init__(self, keep_objects: bool = False, trusted_namespaces: tuple[str, ...] = ()) -> None:
        self.keep_objects = keep_objects
        self.trusted_namespaces = tuple(trusted_namespaces)  # whose observations apply everywhere
        self._stacks: dict[str, StackFacts] = {}  # ImageStack name -> facts
        self._stack_objects: dict[str, dict[str, Any]] = {}
        self._stack_scopes: dict[str, str] = {}  # ImageStack name -> observedIn ("" = cluster-wide)
        # (observedIn, digest or reference) -> ImageStack name
        self._stack_index: dict[tuple[str, str], str] = {}
        self._profiles: dict[tuple[str, str], ModelFacts] = {}  # (namespace, name) -> facts
        self._profile_objects: dict[tuple[str, str], dict[str, Any]] = {}
        self._synced = dict.fromkeys(RESOURCES, False)
        self.gave_up = False  # the feeder stopped waiting for a sync: serve without it (fail-open)
        self.generation = 0  # bumped on every change: anything derived under an older one is stale
        self.started_at = time.monotonic()
        self.runtimes = RuntimeStore()  # KServe's serving runtimes (optional: never part of `synced`)

    # --- read side ---
    def stack_for(self, image: str, namespace: Optional[str]) -> Optional[StackFacts]:
        name = self.stack_name_for(image, namespace=namespace)
        return self._stacks.get(name) if name is not None else None

    def stack_name_for(
        self, image: Optional[str], digest: Optional[str] = None, namespace: Optional[str] = None
    ) -> Optional[str]:
        """The ImageStack that holds the facts of this image for a workload in `namespace`: by digest
        first, then by reference; observed in that namespace first, then declared cluster-wide, then
        observed in a trusted namespace. Another namespace's observations never apply."""
        keys = ([digest] if digest else []) + image_keys(image or "")
        for scope in self.scopes_for(namespace):
            for key in keys:
                name = self._stack_index.get((scope, key))
                if name is not None:
                    return name
        return None

    def scopes_for(self, namespace: Optional[str]) -> list[str]:
        own = [namespace] if namespace else []
        return own + [""] + [t for t in self.trusted_namespaces if t != namespace]

    def stack_scope(self, name: str) -> Optional[str]:
        return self._stack_scopes.get(name)

    def stack_object(self, name: str) -> Optional[dict[str, Any]]:
        return self._stack_objects.get(name)

    def profile(self, namespace: str, name: str) -> Optional[ModelFacts]:
        return self._profiles.get((namespace, name))

    def profile_object(self, namespace: str, name: str) -> Optional[dict[str, Any]]:
        return self._profile_objects.get((namespace, name))

    @property
    def synced(self) -> bool:
        return all(self._synced.values())

    def sync_state(self) -> dict[str, bool]:
        """Whether each resource has been listed once (for the metrics)."""
        return dict(self._synced)

    @property
    def ready(self) -> bool:
        return self.synced or self.gave_up

    def sizes(self) -> dict[str, int]:
        return {IMAGE_STACKS: len(self._stacks), MODEL_PROFILES: len(self._profiles)}

    # --- write side ---
    def mark_synced(self, resource: str) -> None:
        """The feeder has seen every object of `resource` once (a watch's initial list, or kopf's)."""
        if not self._synced[resource]:
            self._synced[resource] = True
            log.info("store synced", extra={"resource": resource, "objects": self.sizes()[resource]})

    def put_stack(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        name = _name(obj)
        self._unindex_stack(name)
        scope = observed_in(obj)
        self._stacks[name] = stack_from_image_stack(obj)
        self._stack_scopes[name] = scope
        if self.keep_objects:
            self._stack_objects[name] = obj
        for key in stack_index_keys(obj):
            self._stack_index[(scope, key)] = name

    def drop_stack(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        name = _name(obj)
        self._unindex_stack(name)
        self._stacks.pop(name, None)
        self._stack_scopes.pop(name, None)
        self._stack_objects.pop(name, None)

    def _unindex_stack(self, name: str) -> None:
        if name in self._stacks:
            for key in [k for k, v in self._stack_index.items() if v == name]:
                del self._stack_index[key]

    def replace_stacks(self, items: list[dict[str, Any]]) -> None:
        self.generation += 1
        self._stacks, self._stack_objects, self._stack_index, self._stack_scopes = {}, {}, {}, {}
        for obj in items:
            self.put_stack(obj)

    def put_profile(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        key = _namespaced_name(obj)
        self._profiles[key] = facts_from_model_profile(obj)
        if self.keep_objects:
            self._profile_objects[key] = obj

    def drop_profile(self, obj: dict[str, Any]) -> None:
        self.generation += 1
        key = _namespaced_name(obj)
        self._profiles.pop(key, None)
        self._profile_objects.pop(key, None)

    def replace_profiles(self, items: list[dict[str, Any]]) -> None:
        self.generation += 1
        self._profiles, self._profile_objects = {}, {}
        for obj in items:
            self.put_profile(obj)

    def apply(self, resource: str, event_type: str, obj: dict[str, Any]) -> None:
        """One watch event: LISTED (the whole list, then synced), ADDED, MODIFIED or DELETED."""
        stacks = resource == IMAGE_STACKS
        if event_type == "LISTED":
            (self.replace_stacks if stacks else self.replace_profiles)(obj.get("items") or [])
            self.mark_synced(resource)
        elif event_type in ("ADDED", "MODIFIED"):
            (self.put_stack if stacks else self.put_profile)(obj)
        elif event_type == "DELETED":
            (self.drop_stack if stacks else self.drop_profile)(obj)
