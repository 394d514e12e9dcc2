"""The operator's Prometheus metrics (prometheus_client), served on its health port at /metrics.

Names, labels, units and buckets are listed in docs/metrics.md. What the operator holds in memory
(workloads by verdict, fact store sizes, API writes, leadership) is read at scrape time; only
reconciles, probe reports, report writes and certificate passes are recorded as they happen.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Iterable, Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tfguard import __version__

disable_created_metrics()

# A reconcile judges from memory (sub-millisecond) and may PATCH the workload and POST an Event.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RESULTS = ("patched", "unchanged", "skipped", "error", "failed")
PROBE_OUTCOMES = ("accepted", "rejected", "failed")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class OperatorMetrics:
    content_type = CONTENT_TYPE

    def __init__(self, registry: Optional[CollectorRegistry] = None):
        self.registry = r = registry if registry is not None else CollectorRegistry(auto_describe=False)
        self.started_at = time.time()
        self.runtime: Any = None  # set once this replica leads and has a Runtime
        self.leader = False
        self.reconcile = Histogram(
            "tfguard_operator_reconcile_duration_seconds",
            "Time to assess one workload and write what changed, by kind and result.",
            ("kind", "result"), buckets=BUCKETS, registry=r,
        )
        self.probe_reports = Counter(
            "tfguard_operator_probe_reports",
            "Finished probes read from Pods: accepted (facts recorded), rejected (unreadable report) or "
            "failed (the facts could not be written), by the probe's status.",
            ("outcome", "status"), registry=r,
        )
        self.report_writes = Counter(
            "tfguard_operator_policy_report_writes",
            "PolicyReport writes: applied, deleted, failed.", ("outcome",), registry=r,
        )
        self.certificate_expiry = Gauge(
            "tfguard_certificate_expiry_timestamp_seconds",
            "When the webhook's certificates expire (Unix time): the serving certificate and the signing CA.",
            ("certificate",), registry=r,
        )
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            for result in ("patched", "unchanged"):
                self.reconcile.labels(kind, result)
        for outcome in PROBE_OUTCOMES:
            for status in ("pass", "fail"):
                self.probe_reports.labels(outcome, status)
        for outcome in ("applied", "deleted", "failed"):
            self.report_writes.labels(outcome)
        r.register(_StateCollector(self))

    def reconciled(self, kind: str, result: str, seconds: float) -> None:
        self.reconcile.labels(kind, result if result in RESULTS else "error").observe(seconds)

    def probe_report(self, outcome: str, status: str) -> None:
        self.probe_reports.labels(outcome, "pass" if status == "pass" else "fail").inc()

    def report_write(self, outcome: str) -> None:
        self.report_writes.labels(outcome).inc()

    def certificates(self, data: dict[str, bytes]) -> None:
        """Expiry times from the Secret data the certificate pass left (tls.crt; ca-signing.crt, else ca.crt)."""
        from tfguard.operator.certs import load_certs

        serving = load_certs(data.get("tls.crt"))
        if serving:
            self.certificate_expiry.labels("serving").set(serving[0].not_valid_after_utc.timestamp())
        cas = load_certs(data.get("ca-signing.crt")) or load_certs(data.get("ca.crt"))
        if cas:
            now = dt.datetime.now(dt.timezone.utc)
            live = [c for c in cas if c.not_valid_after_utc > now] or cas
            self.certificate_expiry.labels("ca").set(max(c.not_valid_after_utc for c in live).timestamp())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector:
    def __init__(self, metrics: OperatorMetrics):
        self.metrics = metrics

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        m = self.metrics
        info = GaugeMetricFamily("tfguard_build_info", "The running tfguard release (always 1).", labels=("version", "component"))
        info.add_metric((__version__, "operator"), 1)
        yield info
        yield GaugeMetricFamily("tfguard_operator_leader", "1 while this replica holds the Lease (or runs standalone).",
                                value=1 if m.leader else 0)
        rt = m.runtime
        workloads = GaugeMetricFamily("tfguard_operator_workloads", "tfguard workloads held, by their current verdict.",
                                      labels=("verdict",))
        counts = {v: 0 for v in ("compatible", "risky", "incompatible", "unknown", "error")}
        writes = CounterMetricFamily("tfguard_operator_api_writes", "Writes the operator made to the API, by call.",
                                     labels=("call",))
        if rt is not None:
            for entries in rt.reports.entries.values():
                for entry in entries.values():
                    counts[entry.verdict if entry.verdict in counts else "error"] += 1
            for call, n in sorted(rt.calls.items()):
                writes.add_metric((call,), n)
            objects = GaugeMetricFamily("tfguard_cache_objects", "Objects held in the in-memory fact store.",
                                        labels=("resource",))
            for resource, n in sorted(rt.store.sizes().items()):
                objects.add_metric((resource,), n)
            yield objects
        for verdict, n in counts.items():
            workloads.add_metric((verdict,), n)
        yield workloads
        yield writes
