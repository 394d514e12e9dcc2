"""The chart's monitoring pieces, opt-in: the PrometheusRule passes `promtool check rules`, every
dashboard query is valid PromQL (promtool checks it as a recording rule), and the dashboard ships as
a ConfigMap with the label Grafana's sidecar watches. tests/monitoring runs them against a live
Prometheus scraping tfguard under load."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from harness.prerequisites import missing


@pytest.fixture(scope="module")
def promtool():
    from harness.prometheus import PrometheusUnavailable, binaries

    try:
        return binaries()["promtool"]
    except (PrometheusUnavailable, subprocess.SubprocessError, OSError) as exc:
        missing(f"promtool is not available ({exc}); `make monitoring-tools` fetches Debian's prometheus package")


def test_monitoring_objects_are_opt_in(render):
    kinds = {o["kind"] for o in render()}
    assert "PrometheusRule" not in kinds and not [o for o in render() if o["kind"] == "ConfigMap"]


def test_the_rendered_prometheus_rule_passes_promtool(render, promtool, tmp_path):
    objects = render("metrics.prometheusRule.enabled=true", "metrics.prometheusRule.labels.release=monitoring")
    (rule,) = [o for o in objects if o["kind"] == "PrometheusRule"]
    assert rule["metadata"]["labels"]["release"] == "monitoring"
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert alerts == {"TFGuardWebhookDown", "TFGuardWebhookFailingOpen", "TFGuardAdmissionLatencyHigh",
                      "TFGuardCertificateExpiring", "TFGuardProbeFailuresRising"}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_every_dashboard_query_is_valid_promql(render, promtool, tmp_path):
    objects = render("metrics.dashboard.enabled=true", "metrics.dashboard.namespace=monitoring")
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "monitoring"
    dashboard = json.loads(config_map["data"]["tfguard.json"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 8 and exprs
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"tfguard:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_operator_is_scraped_like_the_webhook(render):
    objects = render("metrics.serviceMonitor.enabled=true")
    (monitor,) = [o for o in objects if o["kind"] == "PodMonitor"]
    assert monitor["spec"]["podMetricsEndpoints"][0] == {"port": "health", "path": "/metrics", "interval": "30s"}
    (operator,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator")]
    assert operator["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8080"


def test_the_policy_report_crd_and_its_rbac_follow_the_values(render):
    objects = render()
    (crd,) = [o for o in objects if o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == "policyreports.wgpolicyk8s.io"]
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha2"]
    role = next(o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-operator"))
    assert any("wgpolicyk8s.io" in r["apiGroups"] for r in role["rules"])
    skipped = render("policyReports.installCRD=false")
    assert not [o for o in skipped if o["metadata"]["name"] == "policyreports.wgpolicyk8s.io"]
    off = render("policyReports.enabled=false")
    role = next(o for o in off if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-operator"))
    assert not any("wgpolicyk8s.io" in r["apiGroups"] for r in role["rules"])
    operator = next(o for o in off if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-operator"))
    assert "--no-policy-reports" in operator["spec"]["template"]["spec"]["containers"][0]["args"]
