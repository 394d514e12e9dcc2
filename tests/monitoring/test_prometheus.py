"""A real Prometheus scrapes the real webhook (over TLS) and the real operator while tfguard works
on the real control plane: every alert of the chart's PrometheusRule and every panel query of its
dashboard returns data. The rules are rendered with thresholds this scenario crosses
(harness.monitoring.CROSSED); the webhook-down alert is checked after the webhook is stopped."""

from __future__ import annotations

import subprocess

import pytest

from harness.prerequisites import missing


@pytest.fixture(scope="module")
def monitoring(control_plane, tmp_path_factory):
    from harness.monitoring import Monitoring
    from harness.prometheus import PrometheusUnavailable, binaries

    try:
        binaries()
    except (PrometheusUnavailable, subprocess.SubprocessError, OSError) as exc:
        missing(f"no Prometheus ({exc}); `make monitoring-tools` fetches Debian's prometheus package")
    with Monitoring(control_plane, tmp_path_factory.mktemp("monitoring")) as mon:
        mon.load()
        yield mon


def test_every_dashboard_query_returns_data(monitoring):
    from harness.monitoring import dashboard_queries

    empty = []
    for title, legend, expr in dashboard_queries():
        try:
            monitoring.cp.wait_for(lambda: monitoring.query(expr), timeout=60, interval=1, what=expr)
        except TimeoutError:
            empty.append(f"{title}: {expr}")
    assert not empty, "panel queries without data:\n" + "\n".join(empty)


def test_every_alert_but_webhook_down_fires_under_this_load(monitoring):
    quiet = []
    for alert, expr in monitoring.alert_expressions().items():
        if alert == "TFGuardWebhookDown":
            assert not monitoring.query(expr), "the webhook is up, yet its down alert has data"
            continue
        try:
            monitoring.cp.wait_for(lambda: monitoring.query(expr), timeout=60, interval=1, what=alert)
        except TimeoutError:
            quiet.append(f"{alert}: {expr}")
    assert not quiet, "alert expressions without data:\n" + "\n".join(quiet)
    # Prometheus evaluates the rules itself too: the alerts without a `for` are firing already.
    firing = {a["labels"]["alertname"] for a in monitoring._api("alerts")["alerts"]}
    assert "TFGuardProbeFailuresRising" in firing


def test_the_webhook_down_alert_once_it_stops(monitoring):
    expr = monitoring.alert_expressions()["TFGuardWebhookDown"]
    monitoring.tfguard.stop_webhook()
    monitoring.cp.wait_for(lambda: monitoring.query(expr), timeout=60, interval=1, what="TFGuardWebhookDown data")
