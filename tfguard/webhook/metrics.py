"""The webhook's Prometheus metrics (prometheus_client), named after the policy engines' own.

Kyverno has `kyverno_admission_review_duration_seconds`, Gatekeeper
`gatekeeper_validation_request_duration_seconds`; tfguard's are `tfguard_admission_*`. Every metric,
its labels, unit and buckets are in docs/metrics.md (a test keeps the two in step).

The hot path (`observe`) costs about a microsecond: the labelled children are looked up once per label
combination and kept, so a request pays a dict lookup, one histogram observation and one counter
increment. Every label takes its values from a closed set (an unknown kind becomes "other"), so a
client that sends arbitrary AdmissionReviews cannot grow the series without bound.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tfguard import __version__
from tfguard.workload.templates import TEMPLATE_PATHS

disable_created_metrics()  # no `_created` series beside every counter and histogram: half the scrape

# Admission answers take tens of microseconds; the API server waits for seconds (timeoutSeconds).
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LABELS = ("webhook", "kind", "operation", "mode", "verdict", "allowed")
KINDS = frozenset(TEMPLATE_PATHS) | {"Pod"}
FAIL_OPEN_REASONS = ("timeout", "internal_error")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """One webhook process's metrics, in a registry of their own (tests run several apps in one process)."""

    def __init__(self, store: Any = None, memo: Any = None, registry: Optional[CollectorRegistry] = None):
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        r = self.registry
        self.duration = Histogram(
            "tfguard_admission_review_duration_seconds",
            "Time from reading an admission request to having its answer, by outcome.",
            LABELS, buckets=BUCKETS, registry=r,
        )
        self.requests = Counter(
            "tfguard_admission_requests", "Admission requests answered, by outcome.", LABELS, registry=r,
        )
        self.failed_open = Counter(
            "tfguard_admission_fail_open",
            "Admission requests admitted unchecked because tfguard could not judge them in time or failed.",
            ("webhook", "reason"), registry=r,
        )
        self.rejected = Counter(
            "tfguard_admission_rejected_requests",
            "Requests answered with a 4xx: not an AdmissionReview tfguard can answer.",
            ("reason",), registry=r,
        )
        for webhook in ("validate", "mutate"):  # present (at 0) from the start: rate() needs a first sample
            for reason in FAIL_OPEN_REASONS:
                self.failed_open.labels(webhook, reason)
        r.register(_StateCollector(store, memo))
        self._children: dict[tuple, tuple[Any, Any]] = {}

    def observe(self, webhook: str, kind: str, operation: str, mode: str, verdict: str, allowed: bool, seconds: float) -> None:
        kind = kind if kind in KINDS else "other"  # a client's kind strings must not grow this map
        key = (webhook, kind, operation, mode, verdict, allowed)
        children = self._children.get(key)
        if children is None:
            labels = (webhook, kind, operation, mode, verdict, "true" if allowed else "false")
            children = self._children[key] = (self.duration.labels(*labels), self.requests.labels(*labels))
        children[0].observe(seconds)
        children[1].inc()

    def fail_open(self, webhook: str, reason: str) -> None:
        self.failed_open.labels(webhook, reason if reason in FAIL_OPEN_REASONS else "internal_error").inc()

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition (serve it with CONTENT_TYPE)."""
        return generate_latest(self.registry)


class _StateCollector:
    """Read at scrape time, never on the admission path: cache sizes, sync state, readiness."""

    def __init__(self, store: Any, memo: Any):
        self.store, self.memo = store, memo

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        info = GaugeMetricFamily("tfguard_build_info", "The running tfguard release (always 1).", labels=("version", "component"))
        info.add_metric((__version__, "webhook"), 1)
        yield info
        store = self.store
        if store is not None:
            objects = GaugeMetricFamily("tfguard_cache_objects", "Objects held in the in-memory fact store.", labels=("resource",))
            for resource, n in sorted(store.sizes().items()):
                objects.add_metric((resource,), n)
            yield objects
            synced = GaugeMetricFamily(
                "tfguard_cache_synced", "1 once the watch of the resource has listed it, else 0.", labels=("resource",)
            )
            for resource, done in sorted(store.sync_state().items()):
                synced.add_metric((resource,), 1 if done else 0)
            yield synced
            yield GaugeMetricFamily(
                "tfguard_webhook_ready",
                "1 while /readyz answers 200 (caches synced, or given up on after cache_sync_timeout).",
                value=1 if store.ready else 0,
            )
        if self.memo is not None:
            yield GaugeMetricFamily(
                "tfguard_verdict_cache_entries", "Verdicts remembered by what they depend on.", value=len(self.memo)
            )
            yield GaugeMetricFamily(
                "tfguard_verdict_cache_bytes", "Memory the remembered verdicts hold (bounded by verdict_cache_bytes).",
                value=getattr(self.memo, "bytes", 0),
            )

