"""`make demo`'s look at tfguard's results where platform teams read them: `kubectl tfguard`,
PolicyReports, the Prometheus metrics, and a `tfguard check --manifests` of the gallery as CI would
run it; then the one-screen summary's figures. A step of its own (harness/demo.py calls it), so the
demo's other steps can change without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from harness import gallery


def _plugin_on_path() -> None:
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])


def scrape(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from what a /metrics endpoint served."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def _sum(samples: dict[str, float], name: str, **match: str) -> float:
    total = 0.0
    for key, value in samples.items():
        metric, _, labels = key.partition("{")
        pairs = dict(p.split("=", 1) for p in labels.rstrip("}").split(",") if "=" in p)
        if metric == name and all(pairs.get(k) == v for k, v in match.items()):
            total += value
    return total


def _reports(cp) -> list[dict[str, Any]]:
    return cp.request("GET", "/apis/wgpolicyk8s.io/v1alpha2/policyreports").get("items") or []


def show(cp, tfguard, namespaces: dict[str, str], profiles: dict[str, str], workdir: Path, shown, note, heading) -> dict[str, Any]:
    """Print the step; return the figures for the summary."""
    _plugin_on_path()
    heading("Where platform teams look: kubectl tfguard, PolicyReports, metrics, CI output")
    note("kubectl finds the kubectl-tfguard executable the package installed; it only reads the cluster")
    shown(cp, "tfguard", "status", "-A")
    shown(cp, "tfguard", "explain", "deployment/missing-op", "-n", namespaces["warn"])
    shown(cp, "tfguard", "probe-results")
    note("the operator's verdicts as wg-policy PolicyReports, one per namespace (what Kyverno's viewers read)")
    try:
        cp.wait_for(lambda: len(_reports(cp)) >= len(namespaces), timeout=30, interval=1,
                    what="a PolicyReport in every demo namespace")
    except TimeoutError as exc:
        note(str(exc))
    shown(cp, "get", "policyreports", "-A")
    figures: dict[str, Any] = {}
    try:
        webhook = scrape(tfguard.metrics_text("webhook"))
        operator = scrape(tfguard.metrics_text("operator"))
    except OSError as exc:
        note(f"could not scrape the metrics: {exc}")
        webhook, operator = {}, {}
    figures["reviews"] = _sum(webhook, "tfguard_admission_requests_total")
    figures["denied"] = _sum(webhook, "tfguard_admission_requests_total", allowed="false")
    figures["failed_open"] = _sum(webhook, "tfguard_admission_fail_open_total")
    figures["workloads"] = {v: int(_sum(operator, "tfguard_operator_workloads", verdict=v))
                            for v in ("compatible", "risky", "incompatible", "unknown", "error")}
    figures["probes"] = int(_sum(operator, "tfguard_operator_probe_reports_total"))
    note(f"webhook /metrics: {figures['reviews']:.0f} admission reviews answered, {figures['denied']:.0f} denied; "
         f"operator /metrics: {sum(figures['workloads'].values())} workloads judged, {figures['probes']} probe reports")
    reports = _reports(cp)
    results = Counter(r["result"] for report in reports for r in report.get("results") or [])
    figures["reports"] = (len(reports), dict(results))
    note("the same gallery judged in CI, before it reaches a cluster: tfguard check --manifests --output junit")
    manifests = [str(e.manifest) for e in gallery.EXAMPLES_LIST]
    profile_dir = workdir / "profiles"
    profile_dir.mkdir(exist_ok=True)
    for name, text in profiles.items():
        (profile_dir / f"{name}.yaml").write_text(text)
    done = subprocess.run([sys.executable, "-m", "tfguard.cli", "check", *sum((["--manifests", m] for m in manifests), []),
                           "--profiles", str(profile_dir), "--output", "junit"],
                          capture_output=True, text=True, env={**os.environ, "CI": "true"})
    from xml.etree import ElementTree as ET

    try:
        suite = ET.fromstring(done.stdout).find("testsuite")
        outcome = (f"{suite.get('tests')} workloads as JUnit test cases, {suite.get('failures')} failed "
                   f"(incompatible), {suite.get('skipped')} skipped") if suite is not None else done.stdout[-200:]
    except ET.ParseError:
        outcome = done.stderr.strip()[-200:]
    note(f"tfguard check --manifests examples/*/ --profiles ... --output junit: exit {done.returncode}; {outcome}")
    figures["ci"] = (done.returncode, outcome)
    return figures


def summary_lines(figures: dict[str, Any]) -> list[str]:
    if not figures:
        return []
    count, results = figures.get("reports", (0, {}))
    workloads = ", ".join(f"{n} {v}" for v, n in figures.get("workloads", {}).items() if n)
    return [
        f"  operator: {workloads or 'no workloads'}; {figures.get('probes', 0)} probe reports",
        f"  PolicyReports: {count} objects, results " + ", ".join(f"{n} {r}" for r, n in sorted(results.items())),
        f"  webhook: {figures.get('reviews', 0):.0f} reviews, {figures.get('denied', 0):.0f} denied, "
        f"{figures.get('failed_open', 0):.0f} failed open (before the webhook was stopped)",
        f"  CI: tfguard check --manifests examples/ exits {figures['ci'][0]}: {figures['ci'][1]}" if "ci" in figures else "",
        "  see them again: kubectl tfguard status -A; kubectl get policyreports -A; docs/metrics.md",
    ]
