"""tfguard under load with a real Prometheus scraping the webhook and the operator.

    with ControlPlane() as cp, Monitoring(cp, workdir) as mon:
        mon.load()                                   # kubectl applies, direct reviews, a failed probe
        mon.query('sum(rate(tfguard_admission_requests_total[5m]))')
        mon.rules                                    # the chart's PrometheusRule groups, as loaded

The webhook and the operator run as local processes (harness.localinstall, the chart installed with
an external webhook); Prometheus (Debian's package, harness.prometheus) scrapes the webhook over
TLS with the operator's CA and the operator's /metrics over HTTP every second, and evaluates the
alert rules the chart renders. The webhook runs with `--admission-timeout 0`, so a review larger than
`inline_body_bytes` is admitted unchecked (a deterministic fail-open), and the rules are rendered
with thresholds every alert crosses here, so that each alert's expression can be seen to return data.
tests/monitoring and tools/dashboard_picture.py use it.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional

import yaml

from harness.controlplane import ChildProcess, ControlPlane, free_port
from harness.lifecycle import StartStop
from harness.localinstall import CHART, LocalTfguard
from harness.prometheus import binaries
from tfguard.webhook.settings import WebhookSettings

DASHBOARD = CHART / "dashboards" / "tfguard.json"
WEBHOOK_JOB, OPERATOR_JOB = "tfguard-webhook", "tfguard-operator"
# Thresholds that the scenario crosses, so every alert's expression returns data.
CROSSED = {
    "admissionP99BudgetSeconds": 0.000001,
    "certificateExpiryDays": 3650,
    "failOpenRatio": 0.001,
    "probeFailuresPerHour": 0,
}


def render_rules(cp: ControlPlane, workdir: Path, thresholds: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The chart's PrometheusRule groups, with these thresholds (a values file: `--set` reads 1e-06 as a string)."""
    values = workdir / "rule-values.yaml"
    values.write_text(yaml.safe_dump({"metrics": {"prometheusRule": {
        "enabled": True, "webhookJob": WEBHOOK_JOB, **(thresholds or {})}}}))
    rendered = cp.helm("template", "tfguard", str(CHART), "--show-only", "templates/prometheusrule.yaml", "-f", str(values))
    return {"groups": yaml.safe_load(rendered.stdout)["spec"]["groups"]}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(panel title, legend format, PromQL) for every target of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target.get("legendFormat", ""), target["expr"])
            for panel in dashboard["panels"] for target in panel.get("targets", [])]


class Monitoring(StartStop):
    def __init__(self, cp: ControlPlane, workdir: Path, thresholds: Optional[dict[str, Any]] = None):
        self.cp, self.workdir = cp, workdir
        self.thresholds = CROSSED if thresholds is None else thresholds
        self.tfguard: Optional[LocalTfguard] = None
        self.prometheus: Optional[ChildProcess] = None
        self.port = free_port()
        self.rules: dict[str, Any] = {}
        self.namespace = f"monitoring-{uuid.uuid4().hex[:6]}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Monitoring":
        self.tfguard = LocalTfguard(self.cp, webhook_args=["--admission-timeout", "0"]).start()
        self.rules = render_rules(self.cp, self.workdir, self.thresholds)
        rules_file = self.workdir / "tfguard-rules.yml"
        rules_file.write_text(yaml.safe_dump(self.rules))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(rules_file)],
            "scrape_configs": [
                {"job_name": WEBHOOK_JOB, "scheme": "https", "metrics_path": "/metrics",
                 "tls_config": {"ca_file": str(self.tfguard.cert_dir / "ca.crt")},
                 "static_configs": [{"targets": [f"127.0.0.1:{self.tfguard.port}"]}]},
                {"job_name": OPERATOR_JOB, "metrics_path": "/metrics",
                 "static_configs": [{"targets": [f"127.0.0.1:{self.tfguard.operator_port}"]}]},
            ],
        }
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        tools = binaries()
        self.prometheus = ChildProcess("prometheus", [
            str(tools["prometheus"]), f"--config.file={config_file}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=2h",
            "--log.level=warn",
        ], self.workdir / "prometheus.log", self.cp.env)
        self.cp.wait_for(self._ready, timeout=60, interval=0.3, what="Prometheus to be ready")
        self.cp.wait_for(lambda: len(self.query("up == 1")) == 2, timeout=60, interval=0.5,
                         what="both tfguard targets scraped")
        return self

    def _ready(self) -> bool:
        if self.prometheus is not None and not self.prometheus.running():
            raise RuntimeError("Prometheus exited:\n" + (self.workdir / "prometheus.log").read_text()[-2000:])
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
            self.prometheus = None
        if self.tfguard is not None:
            self.tfguard.stop()
            self.tfguard = None
        self.cp.kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found", check=False)

    # --- Prometheus's HTTP API ---

    def _api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            body = json.load(answer)
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus refused {params}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self._api("query", query=expr)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 2.0) -> list[dict[str, Any]]:
        return self._api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")["result"]

    def alert_expressions(self) -> dict[str, str]:
        return {rule["alert"]: rule["expr"] for group in self.rules["groups"] for rule in group["rules"] if "alert" in rule}

    # --- load ---

    def load(self, reviews: int = 300, big: int = 12, waves: int = 1, pause: float = 0.0) -> None:
        """Everything the dashboard and the alerts look at: kubectl applies through the API server
        (admitted, warned, denied), AdmissionReviews straight to the webhook (some too large to be
        judged inline: failed open), and a probe whose report cannot be read (a probe failure)."""
        cp, ns = self.cp, self.namespace
        cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"tfguard.io/mode": "enforce"}}})
        cp.wait_for(lambda: cp.kubectl("get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0,
                    what=f"service account default in {ns}")
        cp.kubectl("apply", "-f", "-", input=self._profile())
        time.sleep(1.5)  # the webhook's watch delivers the ModelProfile
        for name, image, notes in self._workloads():
            cp.kubectl("apply", "-f", "-", input=json.dumps(_deployment(name, ns, image, notes)), check=False)
        self._failed_probe()
        for wave in range(waves):
            self._reviews(reviews, big)
            if pause and wave < waves - 1:
                time.sleep(pause)

    def _profile(self) -> str:
        from tfguard.compat.facts import ModelFacts
        from tfguard.compat.resources import model_profile_resource

        facts = ModelFacts(path="/models/ranker", format="saved_model", tensorflow_version="2.20.0",
                           graph_producer=2199, graph_min_consumer=12, ops=["DatasetFingerprint", "Placeholder"])
        return json.dumps(model_profile_resource(facts, "ranker", self.namespace))

    @staticmethod
    def _workloads() -> list[tuple[str, str, dict[str, str]]]:
        return [
            ("loads", "tensorflow/serving:2.15.0", {"tfguard.io/model-producer-version": "2.15.1"}),
            ("newer-producer", "tensorflow/serving:2.12.0", {"tfguard.io/model-producer-version": "2.17.0"}),
            ("unknown-image", "registry.example/in-house:7", {"tfguard.io/model-producer-version": "2.15.1"}),
            ("needs-new-op", "tensorflow/serving:2.15.0", {"tfguard.io/model-profile": "ranker"}),
        ]

    def _reviews(self, n: int, big: int) -> None:
        assert self.tfguard is not None
        ctx = ssl.create_default_context(cafile=str(self.tfguard.cert_dir / "ca.crt"))
        plans = [("validate/enforce", name, image, notes) for name, image, notes in self._workloads()]
        for i in range(n + big):
            path, name, image, notes = plans[i % len(plans)]
            notes = dict(notes)
            if i >= n:  # larger than inline_body_bytes: judged in a thread under a 0 s timeout
                notes["example.com/padding"] = "x" * (WebhookSettings().inline_body_bytes + 1024)
            body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": str(uuid.uuid4()), "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                "name": name, "namespace": self.namespace, "operation": "CREATE",
                "object": _deployment(name, self.namespace, image, notes)}}).encode()
            request = urllib.request.Request(f"{self.tfguard.url}/{path}", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, context=ctx, timeout=10) as answer:
                answer.read()

    def _failed_probe(self) -> None:
        """A bare Pod with the probe exactly as tfguard's webhook injects it (the operator takes reports
        from no other), whose probe left a report tfguard cannot read, as a kubelet would report it."""
        from tfguard.settings import Injection
        from tfguard.workload.injection import PROBE_VOLUME, install_container, probe_container

        cp, ns = self.cp, self.namespace
        image = "registry.example/serving:9"
        serving = {"name": "serve", "image": image}
        injection = Injection()
        spec = {"containers": [serving], "volumes": [PROBE_VOLUME], "initContainers": [
            install_container(injection.probe_image, injection.probe_install_command, {"containers": [serving]}),
            probe_container(serving, "/models/model", None, "auto", "none", "warn"),
        ]}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed", "namespace": ns}, "spec": spec}
        cp.kubectl("apply", "-f", "-", input=json.dumps(pod))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cp.set_pod_status(ns, "probed", {"phase": "Pending", "initContainerStatuses": [{
            "name": "tfguard-probe", "image": image, "imageID": "", "ready": False,
            "restartCount": 0, "started": False,
            "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": "Segmentation fault (core dumped)",
                                     "startedAt": now, "finishedAt": now}}}]})


def _deployment(name: str, namespace: str, image: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "serve", "image": image}]}}}}


def promtool_check(rules: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess:
    path = workdir / "rules-to-check.yml"
    path.write_text(yaml.safe_dump(rules))
    return subprocess.run([str(binaries()["promtool"]), "check", "rules", str(path)], capture_output=True, text=True)

