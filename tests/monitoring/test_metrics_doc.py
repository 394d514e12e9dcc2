"""docs/metrics.md lists every metric the webhook and the operator export (and nothing they do not)."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tfguard.operator.metrics import OperatorMetrics
from tfguard.webhook.metrics import Metrics
from tfguard.webhook.validate import VerdictMemo
from tfguard.workload.store import FactStore

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def exported() -> set[str]:
    webhook = Metrics(FactStore(), VerdictMemo())
    webhook.observe("validate", "Deployment", "CREATE", "warn", "compatible", True, 0.00004)
    webhook.reject("malformed")
    operator = OperatorMetrics()
    operator.certificates({})
    names = set()
    for text in (webhook.render().decode(), operator.render().decode()):
        for family in text_string_to_metric_families(text):
            names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_every_exported_metric_is_documented_and_every_documented_one_exported():
    documented = set(re.findall(r"^\| `(tfguard_[a-z_]+)`", DOC.read_text(), re.M))
    names = exported() | {"tfguard_certificate_expiry_timestamp_seconds"}  # set after the first certificate pass
    assert names == documented


def test_metric_names_follow_the_prometheus_conventions():
    for name in exported():
        assert re.fullmatch(r"tfguard_[a-z_]+", name)
        assert not name.endswith("_total_total")
