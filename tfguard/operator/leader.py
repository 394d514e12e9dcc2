"""Leader election with a coordination.k8s.io Lease: of several replicas, one works at a time.

The leader renews the Lease every `lease_renew_every` seconds; a replica takes over once the Lease has
not been renewed for `lease_duration`. Writes carry the Lease's resourceVersion, so two replicas
can never both win. A leader that cannot renew in time stops working (the process exits and is
restarted as a candidate): all of tfguard's state lives in the API, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Optional

from tfguard.errors import ApiError, Conflict, NotFound
from tfguard.kube import KubeClient, resource_path
from tfguard.operator.settings import OperatorSettings

log = logging.getLogger("tfguard.operator.leader")


class LostLeadership(Exception):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _micro(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: Optional[str]) -> Optional[dt.datetime]:
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    return None


def expired(lease: dict[str, Any], now: dt.datetime) -> bool:
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity")
    renewed = _parse(spec.get("renewTime"))
    duration = spec.get("leaseDurationSeconds") or 0
    return not holder or renewed is None or (now - renewed).total_seconds() > duration


class Leader:
    def __init__(self, kube: KubeClient, settings: OperatorSettings):
        self.kube = kube
        self.settings = settings
        self.path = resource_path("coordination.k8s.io", "v1", "leases", settings.namespace, settings.lease_name)
        self.renewed_at: Optional[float] = None

    def _spec(self, acquired: Optional[str], transitions: int) -> dict[str, Any]:
        now = _micro(_now())
        return {
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": int(self.settings.lease_duration),
            "acquireTime": acquired or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def try_acquire(self) -> bool:
        try:
            lease = await self.kube.get(self.path)
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.settings.lease_name, "namespace": self.settings.namespace},
                "spec": self._spec(None, 0),
            }
            try:
                await self.kube.create(
                    resource_path("coordination.k8s.io", "v1", "leases", self.settings.namespace), body
                )
            except Conflict:
                return False
            return True
        spec = lease.get("spec") or {}
        mine = spec.get("holderIdentity") == self.settings.identity
        if not mine and not expired(lease, _now()):
            return False
        transitions = (spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        lease["spec"] = self._spec(spec.get("acquireTime") if mine else None, transitions)
        try:
            await self.kube.request("PUT", self.path, body=lease)  # carries resourceVersion: one winner
        except Conflict:
            return False
        return True

    async def acquire(self) -> None:
        log.info("waiting to become the leader (Lease %s/%s)", self.settings.namespace, self.settings.lease_name)
        while not await self._attempt():
            await asyncio.sleep(self.settings.lease_renew_every)
        log.info("became the leader as %s", self.settings.identity)

    async def _attempt(self) -> bool:
        try:
            won = await self.try_acquire()
        except (ApiError, OSError, asyncio.TimeoutError) as exc:
            log.warning("lease: %s", exc)
            return False
        if won:
            self.renewed_at = asyncio.get_running_loop().time()
        return won

    async def keep(self) -> None:
        """Renew until cancelled; raise LostLeadership when the Lease is gone to someone else or stale."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.settings.lease_renew_every)
            if await self._attempt():
                continue
            if loop.time() - (self.renewed_at or 0) > self.settings.lease_duration * 2 / 3:
                raise LostLeadership(f"could not renew Lease {self.settings.lease_name}")

    async def release(self) -> None:
        """Hand over at once on a clean shutdown, instead of making the next leader wait."""
        try:
            lease = await self.kube.get(self.path)
            if (lease.get("spec") or {}).get("holderIdentity") != self.settings.identity:
                return
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["renewTime"] = None
            await self.kube.request("PUT", self.path, body=lease)
        except Exception as exc:  # best effort: the Lease expires anyway
            log.info("could not release the Lease: %s", exc)
