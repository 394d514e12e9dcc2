"""Prometheus text exposition, written by hand: three metric families do not need a client library."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self, cache_sizes: Callable[[], dict[str, int]] = dict):
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._sum: dict[tuple[str, str], float] = defaultdict(float)
        self._count: dict[tuple[str, str], int] = defaultdict(int)
        self._decisions: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self._rejected: dict[str, int] = defaultdict(int)
        self.cache_sizes = cache_sizes

    def observe(self, endpoint: str, operation: str, verdict: str, mode: str, allowed: bool, seconds: float) -> None:
        key = (f"{endpoint}:{operation}", verdict)
        with self._lock:
            row = self._buckets[key]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
                    break
            self._sum[key] += seconds
            self._count[key] += 1
            self._decisions[(endpoint, verdict, mode, "allowed" if allowed else "denied")] += 1

    def reject(self, reason: str) -> None:
        with self._lock:
            self._rejected[reason] += 1

    def render(self) -> str:
        out = [
            "# HELP tfguard_admission_duration_seconds Time to answer one admission request.",
            "# TYPE tfguard_admission_duration_seconds histogram",
        ]
        with self._lock:
            for (op, verdict), row in sorted(self._buckets.items()):
                endpoint, operation = op.split(":", 1)
                labels = f'endpoint="{endpoint}",operation="{operation}",verdict="{verdict}"'
                running = 0
                for bound, n in zip(BUCKETS, row):
                    running += n
                    out.append(f'tfguard_admission_duration_seconds_bucket{{{labels},le="{bound}"}} {running}')
                out.append(f'tfguard_admission_duration_seconds_bucket{{{labels},le="+Inf"}} {self._count[(op, verdict)]}')
                out.append(f"tfguard_admission_duration_seconds_sum{{{labels}}} {self._sum[(op, verdict)]:.6f}")
                out.append(f"tfguard_admission_duration_seconds_count{{{labels}}} {self._count[(op, verdict)]}")
            out += [
                "# HELP tfguard_admission_verdicts_total Admission decisions by verdict, mode and outcome.",
                "# TYPE tfguard_admission_verdicts_total counter",
            ]
            for (endpoint, verdict, mode, decision), n in sorted(self._decisions.items()):
                out.append(
                    f'tfguard_admission_verdicts_total{{endpoint="{endpoint}",verdict="{verdict}",'
                    f'mode="{mode}",decision="{decision}"}} {n}'
                )
            out += [
                "# HELP tfguard_admission_rejected_requests_total Requests answered with a 4xx (not an AdmissionReview tfguard can answer).",
                "# TYPE tfguard_admission_rejected_requests_total counter",
            ]
            for reason, n in sorted(self._rejected.items()):
                out.append(f'tfguard_admission_rejected_requests_total{{reason="{reason}"}} {n}')
        out += [
            "# HELP tfguard_cache_objects Objects held in the webhook's in-memory caches.",
            "# TYPE tfguard_cache_objects gauge",
        ]
        for resource, n in sorted(self.cache_sizes().items()):
            out.append(f'tfguard_cache_objects{{resource="{resource}"}} {n}')
        return "\n".join(out) + "\n"
