"""tfguard's background verdicts as wgpolicyk8s.io/v1alpha2 PolicyReports, one per namespace.

`kubectl get policyreport -A` and the report viewers built for Kyverno (Policy Reporter, Backstage
plugins) then show tfguard's results next to the other policy engines'. Each tfguard workload has
exactly one result in its namespace's report, replaced (never appended) when its verdict changes:
reports hold the present, so their size follows the number of workloads, not the number of checks.

The reports are derived from what the operator holds in memory (the assessment it just made of each
workload) and written with server-side apply, so a report is one PATCH and needs no read first; a
report whose content did not change is not written at all. Writes are batched: a burst of verdict
changes in a namespace costs one write after `flush_delay`. A namespace with more than
`RESULTS_PER_REPORT` tfguard workloads gets further reports (`tfguard-2`, ...), so no report object
nears etcd's 1.5 MiB limit. Without the PolicyReport CRD (the chart installs it unless told not to)
the operator logs that once and carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Optional

from tfguard.errors import ApiError, NotFound
from tfguard.kube import resource_path
from tfguard.records import record

log = logging.getLogger("tfguard.operator.reports")

GROUP, VERSION, PLURAL = "wgpolicyk8s.io", "v1alpha2", "policyreports"
API_VERSION = f"{GROUP}/{VERSION}"
NAME = "tfguard"
SOURCE = "tfguard"
POLICY = "tfguard-model-compatibility"
CATEGORY = "TensorFlow model compatibility"
FIELD_MANAGER = "tfguard-operator"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tfguard-operator"}
RESULTS_PER_REPORT = 1000  # ~600 bytes each: a report stays well under etcd's 1.5 MiB object limit
MESSAGE_LIMIT = 250
RETRY_MISSING_CRD = 300.0

# verdict -> (result, severity, scored)
RESULTS = {
    "compatible": ("pass", None, True),
    "risky": ("warn", "medium", True),
    "incompatible": ("fail", "high", True),
    "unknown": ("warn", "info", False),  # not enough facts: worth a look, not a score
    "error": ("error", None, False),  # the check itself failed
}
SUMMARY_KEYS = ("pass", "fail", "warn", "error", "skip")

WorkloadKey = tuple[str, str, str]  # (kind, namespace, name)


@record(frozen=True)
class Entry:
    """One workload's result, as the operator last assessed it."""

    kind: str
    name: str
    uid: str
    verdict: str  # a verdict, or "error"
    rule: str  # the finding code of the worst finding, or "compatible" / "verified"
    message: str
    checked_at: str  # RFC 3339: when the verdict or reason last changed (tfguard.io/checked-at)
    image_stack: str = ""
    model_profile: str = ""
    api_version: str = "apps/v1"

    def result(self, namespace: str) -> dict[str, Any]:
        outcome, severity, scored = RESULTS.get(self.verdict, RESULTS["error"])
        properties = {"verdict": self.verdict, "code": self.rule}
        if self.image_stack:
            properties["imageStack"] = self.image_stack[:250]
        if self.model_profile:
            properties["modelProfile"] = self.model_profile[:250]
        result = {
            "source": SOURCE,
            "policy": POLICY,
            "rule": self.rule,
            "category": CATEGORY,
            "result": outcome,
            "scored": scored,
            "message": self.message[:MESSAGE_LIMIT],
            "timestamp": {"seconds": _epoch(self.checked_at), "nanos": 0},
            "resources": [{"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
                           "namespace": namespace, "uid": self.uid}],
            "properties": properties,
        }
        if severity:
            result["severity"] = severity
        return result


def report_bodies(namespace: str, entries: dict[tuple[str, str], Entry]) -> dict[str, dict[str, Any]]:
    """The PolicyReports of one namespace, by name: results ordered by kind and name, at most
    RESULTS_PER_REPORT in each."""
    ordered = [entries[k] for k in sorted(entries)]
    bodies: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ordered), RESULTS_PER_REPORT):
        chunk = [e.result(namespace) for e in ordered[start:start + RESULTS_PER_REPORT]]
        summary = dict.fromkeys(SUMMARY_KEYS, 0)
        for result in chunk:
            summary[result["result"]] += 1
        name = NAME if start == 0 else f"{NAME}-{start // RESULTS_PER_REPORT + 1}"
        bodies[name] = {
            "apiVersion": API_VERSION,
            "kind": "PolicyReport",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "summary": summary,
            "results": chunk,
        }
    return bodies


class PolicyReports:
    """The operator's PolicyReports: entries in memory, written when a namespace's content changed."""

    def __init__(self, kube: Any, enabled: bool = True, flush_delay: float = 1.0, metrics: Any = None):
        self.kube, self.enabled, self.flush_delay, self.metrics = kube, enabled, flush_delay, metrics
        self.entries: dict[str, dict[tuple[str, str], Entry]] = {}  # namespace -> (kind, name) -> entry
        self.written: dict[str, dict[str, str]] = {}  # namespace -> report name -> digest of what we wrote
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self._missing_until = 0.0

    # --- what the reconciler tells us ---
    def record(self, key: WorkloadKey, entry: Entry) -> None:
        kind, namespace, name = key
        held = self.entries.setdefault(namespace, {})
        previous = held.get((kind, name))
        if previous is not None and previous.verdict == entry.verdict == "error" and previous.message == entry.message:
            return  # the same failure again: keep the time it was first seen, write nothing
        if previous != entry:
            held[(kind, name)] = entry
            self._touch(namespace)

    def forget(self, key: WorkloadKey) -> None:
        kind, namespace, name = key
        held = self.entries.get(namespace)
        if held is not None and held.pop((kind, name), None) is not None:
            self._touch(namespace)

    def _touch(self, namespace: str) -> None:
        if self.enabled:
            self.dirty.add(namespace)
            self.wake.set()

    # --- writing ---
    async def run(self) -> None:
        """Until cancelled: a little after anything changed, write the namespaces that changed."""
        while True:
            await self.wake.wait()
            await asyncio.sleep(self.flush_delay)  # let a burst of verdicts settle into one write
            self.wake.clear()
            await self.flush()

    async def flush(self) -> None:
        if time.monotonic() < self._missing_until:
            self.wake.set()  # keep what changed for when the CRD shows up
            return
        for namespace in sorted(self.dirty):
            self.dirty.discard(namespace)
            try:
                await self._write_namespace(namespace)
            except NotFound as exc:
                if "policyreports" in str(exc) and not (exc.body.get("details") or {}).get("name"):
                    log.warning("no PolicyReport CRD (%s) in the cluster: not writing PolicyReports; "
                                "will look again in %.0fs", API_VERSION, RETRY_MISSING_CRD)
                    self._missing_until = time.monotonic() + RETRY_MISSING_CRD
                    self.dirty.add(namespace)
                    return
                self.dirty.add(namespace)
            except ApiError as exc:
                if exc.namespace_terminating:
                    self.entries.pop(namespace, None)
                    self.written.pop(namespace, None)
                    continue
                log.warning("could not write the PolicyReport of namespace %s: %s", namespace, exc)
                self._count("failed")
                self.dirty.add(namespace)
            except Exception as exc:  # the API may be briefly away: try again on the next change
                log.warning("could not write the PolicyReport of namespace %s: %r", namespace, exc)
                self._count("failed")
                self.dirty.add(namespace)

    async def _write_namespace(self, namespace: str) -> None:
        bodies = report_bodies(namespace, self.entries.get(namespace) or {})
        written = self.written.setdefault(namespace, {})
        for name, body in bodies.items():
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if written.get(name) == digest:
                continue
            path = resource_path(GROUP, VERSION, PLURAL, namespace, name)
            await self.kube.patch(path, body, "apply", field_manager=FIELD_MANAGER, force=True)
            written[name] = digest
            self._count("applied")
        for name in [n for n in written if n not in bodies]:  # fewer workloads than before
            try:
                await self.kube.delete(resource_path(GROUP, VERSION, PLURAL, namespace, name))
                self._count("deleted")
            except NotFound:
                pass
            written.pop(name, None)
        if not bodies:
            self.entries.pop(namespace, None)
            self.written.pop(namespace, None)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.report_write(outcome)


def entry_for(body: dict[str, Any], assessment: Any, checked_at: str) -> Entry:
    """A workload's entry from the assessment the reconciler made (tfguard.operator.annotate)."""
    meta = body.get("metadata") or {}
    verdict = assessment.verdict
    rule = assessment.code or ("verified" if assessment.event_reason == "TFGuardVerified" else verdict)
    return Entry(
        kind=body.get("kind") or "Deployment",
        name=meta.get("name") or "",
        uid=meta.get("uid") or "",
        verdict=verdict,
        rule=rule,
        message=assessment.reason,
        checked_at=checked_at,
        image_stack=assessment.image_stack,
        model_profile=assessment.model_profile,
        api_version=body.get("apiVersion") or "apps/v1",
    )


def error_entry(body: dict[str, Any], exc: BaseException, now: Optional[datetime] = None) -> Entry:
    """The check of this workload failed (the engine raised): an `error` result that says so."""
    meta = body.get("metadata") or {}
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Entry(
        kind=body.get("kind") or "Deployment", name=meta.get("name") or "", uid=meta.get("uid") or "",
        verdict="error", rule="OPERATOR_CHECK_FAILED",
        message=f"tfguard could not judge this workload: {type(exc).__name__}: {str(exc)[:180]}",
        checked_at=stamp, api_version=body.get("apiVersion") or "apps/v1",
    )


def _epoch(stamp: str) -> int:
    try:
        return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
    except (TypeError, ValueError):
        return int(time.time())
