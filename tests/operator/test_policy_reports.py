"""PolicyReports (wgpolicyk8s.io/v1alpha2): one per namespace, one result per tfguard workload,
replaced (never appended) when a verdict changes, so their size in etcd follows the number of
workloads, not the number of checks. The cluster tests run the real operator against the real
control plane, with the CRD the chart installs; the sizes are read from etcd itself."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from datetime import datetime, timezone

import pytest

from operator_helpers import REPO
from tfguard.operator import reports
from tfguard.operator.annotate import Assessment

CHART = REPO / "charts" / "tfguard"
PREFIX = "/registry/wgpolicyk8s.io/policyreports/"


def entry(name: str, verdict: str = "compatible", rule: str = "compatible", kind: str = "Deployment") -> reports.Entry:
    return reports.Entry(kind=kind, name=name, uid=f"uid-{name}", verdict=verdict, rule=rule,
                         message=f"{verdict}: {name}", checked_at="2026-11-25T10:00:00Z")


# --- the report bodies ------------------------------------------------------------------------


def test_one_result_per_workload_with_the_fields_report_viewers_read():
    (body,) = reports.report_bodies("ml", {
        ("Deployment", "a"): entry("a"),
        ("Deployment", "b"): entry("b", "incompatible", "OP_NOT_REGISTERED"),
        ("StatefulSet", "c"): entry("c", "risky", "PRODUCER_NEWER_UNVERIFIED", kind="StatefulSet"),
        ("Deployment", "d"): entry("d", "unknown", "STACK_UNKNOWN"),
        ("Deployment", "e"): entry("e", "error", "OPERATOR_CHECK_FAILED"),
    }).values()
    assert body["apiVersion"] == "wgpolicyk8s.io/v1alpha2" and body["kind"] == "PolicyReport"
    assert body["metadata"]["name"] == "tfguard" and body["metadata"]["namespace"] == "ml"
    assert body["summary"] == {"pass": 1, "fail": 1, "warn": 2, "error": 1, "skip": 0}
    by_name = {r["resources"][0]["name"]: r for r in body["results"]}
    failed = by_name["b"]
    assert failed["source"] == "tfguard" and failed["policy"] == "tfguard-model-compatibility"
    assert failed["rule"] == "OP_NOT_REGISTERED" and failed["result"] == "fail" and failed["severity"] == "high"
    stamp = datetime(2026, 11, 25, 10, tzinfo=timezone.utc).timestamp()
    assert failed["scored"] is True and failed["timestamp"] == {"seconds": int(stamp), "nanos": 0}
    assert failed["resources"][0] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "b",
                                      "namespace": "ml", "uid": "uid-b"}
    assert failed["properties"]["verdict"] == "incompatible"
    assert by_name["a"]["result"] == "pass" and "severity" not in by_name["a"]
    assert by_name["c"]["result"] == "warn" and by_name["d"]["scored"] is False
    assert by_name["e"]["result"] == "error"


def test_a_crowded_namespace_is_split_so_no_report_nears_the_etcd_object_limit():
    many = {("Deployment", f"m{i:05d}"): entry(f"m{i:05d}") for i in range(reports.RESULTS_PER_REPORT * 2 + 5)}
    bodies = reports.report_bodies("ml", many)
    assert list(bodies) == ["tfguard", "tfguard-2", "tfguard-3"]
    assert [len(b["results"]) for b in bodies.values()] == [reports.RESULTS_PER_REPORT] * 2 + [5]
    assert max(len(json.dumps(b)) for b in bodies.values()) < 1024 * 1024


def test_the_entry_names_the_worst_finding_or_the_verdict():
    assessment = Assessment("risky", "risky: [PRODUCER_NEWER_UNVERIFIED] ...", "catalog: TF 2.12.0", "",
                            "Warning", "TFGuardRisky", "...", code="PRODUCER_NEWER_UNVERIFIED")
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "uid": "u"}}
    made = reports.entry_for(body, assessment, "2026-11-25T10:00:00Z")
    assert made.rule == "PRODUCER_NEWER_UNVERIFIED" and made.image_stack == "catalog: TF 2.12.0"
    verified = Assessment("compatible", "loads", "sha256-ab", "", "Normal", "TFGuardVerified", "...")
    assert reports.entry_for(body, verified, "").rule == "verified"


def test_the_same_failure_seen_again_writes_nothing():
    held = reports.PolicyReports(kube=None)
    first = reports.error_entry({"kind": "Deployment", "metadata": {"name": "w"}}, ValueError("bad"))
    held.record(("Deployment", "ml", "w"), first)
    held.dirty.clear()
    later = reports.error_entry({"kind": "Deployment", "metadata": {"name": "w"}}, ValueError("bad"))
    held.record(("Deployment", "ml", "w"), later)
    assert not held.dirty and held.entries["ml"][("Deployment", "w")] is first


# --- on the real control plane ----------------------------------------------------------------


@pytest.fixture(scope="module")
def policy_report_crd(crds):
    rendered = crds.helm("template", "tfguard", str(CHART), "--show-only", "templates/policyreport-crd.yaml").stdout
    crds.kubectl("apply", "-f", "-", input=rendered)
    crds.kubectl("wait", "--for=condition=Established", "crd/policyreports.wgpolicyk8s.io", "--timeout=60s")
    return crds


def etcd_reports(cp) -> dict[str, int]:
    """Every PolicyReport as etcd stores it: key -> bytes."""
    end = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
    query = {"key": base64.b64encode(PREFIX.encode()).decode(), "range_end": base64.b64encode(end.encode()).decode()}
    request = urllib.request.Request(f"{cp.etcd_url}/v3/kv/range", data=json.dumps(query).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        kvs = json.load(answer).get("kvs") or []
    return {base64.b64decode(kv["key"]).decode(): len(base64.b64decode(kv["value"])) for kv in kvs}


def deployments(namespace: str, n: int, start: int = 0) -> list[dict]:
    variants = (("tensorflow/serving:2.15.0", "2.15.1"),  # compatible
                ("tensorflow/serving:2.12.0", "2.17.0"),  # risky: a newer producer
                ("registry.example/in-house:7", "2.15.1"))  # unknown: no stack facts
    items = []
    for i in range(start, start + n):
        image, producer = variants[i % 3]
        items.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"model-{i:04d}", "namespace": namespace,
                         "annotations": {"tfguard.io/model-producer-version": producer}},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": f"m{i}"}},
                     "template": {"metadata": {"labels": {"app": f"m{i}"}},
                                  "spec": {"containers": [{"name": "serve", "image": image}]}}},
        })
    return items


def results_in(cp, namespaces) -> int:
    total = 0
    for ns in namespaces:
        listed = cp.request("GET", f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/policyreports")["items"]
        total += sum(len(r.get("results") or []) for r in listed)
    return total


@pytest.mark.timeout(1800)  # 1,000 Deployments and their ReplicaSets on a shared 2-core machine: minutes
def test_a_thousand_workloads_make_bounded_reports_in_etcd(policy_report_crd, operator, record_property):
    cp = policy_report_crd
    namespaces = [f"reports-{i}-{int(time.time()) % 100000}" for i in range(4)]
    for ns in namespaces:
        cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    proc = operator("--standalone", "--no-certificates")
    before = set(etcd_reports(cp))
    try:
        for ns in namespaces:
            items = deployments(ns, 250)
            for start in range(0, len(items), 125):
                cp.apply(items[start:start + 125])
        cp.wait_for(lambda: results_in(cp, namespaces) == 1000, timeout=600, interval=2,
                    what="1,000 results in the PolicyReports")
        proc.assert_running()
        stored = {k: v for k, v in etcd_reports(cp).items() if k not in before}
        assert len(stored) == 4  # one report per namespace, not one per workload or per check
        first_bytes = sum(stored.values())
        assert max(stored.values()) < 1024 * 1024

        # Every verdict in one namespace changes: its results are replaced, not appended to.
        changed = namespaces[0]
        cp.kubectl("annotate", "deployments", "--all", "-n", changed, "--overwrite",
                   "tfguard.io/model-producer-version=2.19.0")

        def all_risky() -> bool:
            (report,) = cp.request("GET", f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{changed}/policyreports")["items"]
            return report["summary"]["pass"] == 0 and len(report["results"]) == 250

        cp.wait_for(all_risky, timeout=300, interval=2, what="the changed verdicts in the report")
        after = {k: v for k, v in etcd_reports(cp).items() if k not in before}
        assert len(after) == 4 and len(cp.request("GET", "/apis/wgpolicyk8s.io/v1alpha2/policyreports")["items"]) >= 4
        assert sum(after.values()) < first_bytes * 1.2
        record_property("policy_reports", json.dumps({"objects": len(after), "bytes_first": first_bytes,
                                                      "bytes_after_change": sum(after.values()),
                                                      "largest": max(after.values())}))
        print(f"\n1,000 workloads in 4 namespaces: {len(after)} PolicyReports, {first_bytes} bytes in etcd "
              f"({max(stored.values())} the largest); after 250 verdicts changed: {sum(after.values())} bytes")

        # Workloads that go away leave the report; the last one takes the report with it.
        cp.kubectl("delete", "deployments", "--all", "-n", namespaces[1], "--wait=false")
        cp.wait_for(lambda: not cp.request("GET", f"/apis/wgpolicyk8s.io/v1alpha2/namespaces/{namespaces[1]}/policyreports")["items"],
                    timeout=300, interval=2, what="the emptied namespace's report to go")
    finally:
        for ns in namespaces:
            cp.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def test_without_the_crd_the_reports_wait_and_nothing_fails(crds, monkeypatch, caplog):
    """No PolicyReport CRD (policyReports.installCRD=false and no Kyverno): the real API server answers
    404 for the resource; the reports say so once, keep their entries and try again later."""
    import asyncio

    from tfguard.kube import KubeClient, load_config

    monkeypatch.setattr(reports, "GROUP", "absent.tfguard.io")

    async def attempt():
        async with KubeClient(load_config(str(crds.kubeconfig))) as kube:
            held = reports.PolicyReports(kube, flush_delay=0)
            held.record(("Deployment", "default", "w"), entry("w"))
            await held.flush()
            return held

    held = asyncio.run(attempt())
    assert "no PolicyReport CRD" in caplog.text
    assert held.dirty == {"default"} and held.entries["default"]


def test_the_chart_leaves_a_policy_report_crd_it_did_not_install_alone(policy_report_crd, tfguard_namespace):
    """Kyverno (here: anyone but this release) installed the CRD: `helm install` neither fails on it
    nor takes it over."""
    cp = policy_report_crd
    release = f"polr-{tfguard_namespace[-6:]}"
    done = cp.helm("install", release, str(CHART), "--namespace", tfguard_namespace,
                   "--set", "webhook.external.url=https://127.0.0.1:9", "--set", "webhook.external.caBundle=Q0EK",
                   "--set", "operator.enabled=false", "--set", "webhook.failurePolicy=Ignore", check=False)
    try:
        assert done.returncode == 0, done.stderr
        crd = cp.get("crd", "policyreports.wgpolicyk8s.io")
        assert (crd["metadata"].get("annotations") or {}).get("meta.helm.sh/release-name") != release
        manifest = cp.helm("get", "manifest", release, "--namespace", tfguard_namespace).stdout
        assert "policyreports.wgpolicyk8s.io" not in manifest.split("kind: ClusterRole")[0]
    finally:
        cp.helm("uninstall", release, "--namespace", tfguard_namespace, check=False)
    assert cp.get("crd", "policyreports.wgpolicyk8s.io")  # and uninstalling leaves it too
