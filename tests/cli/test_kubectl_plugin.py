"""`kubectl tfguard` found by the real kubectl on $PATH, reading what the real operator recorded on
the real control plane: status, explain, probe-results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tfguard.cli import main

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
from test_check_manifests import saved_model  # noqa: E402


@pytest.fixture(scope="module")
def cluster(control_plane):
    for path in sorted((REPO / "charts" / "tfguard" / "crds").glob("*.yaml")):
        control_plane.kubectl("apply", "-f", str(path))
    crd = control_plane.helm("template", "tfguard", str(REPO / "charts" / "tfguard"),
                             "--show-only", "templates/policyreport-crd.yaml").stdout
    control_plane.kubectl("apply", "-f", "-", input=crd)
    for name in ("imagestacks.tfguard.io", "modelprofiles.tfguard.io", "policyreports.wgpolicyk8s.io"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    return control_plane


@pytest.fixture
def plugin_on_path(monkeypatch):
    """kubectl finds plugins on $PATH: put the venv's kubectl-tfguard there."""
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


@pytest.fixture
def recorded(cluster, namespace, tmp_path, plugin_on_path, capsys):
    """Three workloads the operator has judged, and an ImageStack as the operator records a probe."""
    cp = cluster
    saved_model(tmp_path / "new-op", ops=("Placeholder", "DatasetFingerprint"), tensorflow_version="2.20.0", producer=2199)
    assert main(["inspect", str(tmp_path / "new-op"), "--profile", "ranker", "--namespace", namespace]) == 0
    cp.kubectl("apply", "-f", "-", input=capsys.readouterr().out)
    cp.apply({"apiVersion": "tfguard.io/v1alpha1", "kind": "ImageStack", "metadata": {"name": "sha256-" + "ab" * 32},
              "spec": {"image": "registry.example/serving:7", "imageDigest": "sha256:" + "ab" * 32,
                       "references": ["registry.example/serving:7"],
                       "stack": {"tensorflowVersion": "2.15.1", "kerasVersion": "2.15.0", "cudaBuild": False, "importOk": True}}})

    def deployment(name, image, annotations):
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "serve", "image": image}]}}}}

    cp.apply([
        deployment("ranker", "tensorflow/serving:2.15.0", {"tfguard.io/model-profile": "ranker"}),
        deployment("embedder", "registry.example/serving:7", {"tfguard.io/model-producer-version": "2.15.1"}),
        deployment("legacy", "registry.example/unknown:1", {"tfguard.io/model-producer-version": "2.15.1"}),
    ])
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    log = open(tmp_path / "operator.log", "w+")
    operator = subprocess.Popen(
        [sys.executable, "-m", "tfguard.cli", "operator", "run", "--kubeconfig", str(cp.kubeconfig), "--standalone",
         "--no-certificates", "--namespace", f"{namespace}-tfguard"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def judged():
            items = cp.get("deployments", namespace=namespace)["items"]
            return len([d for d in items if "tfguard.io/verdict" in (d["metadata"].get("annotations") or {})]) == 3

        cp.wait_for(judged, timeout=600, interval=1, what="the operator's verdicts")
        cp.wait_for(lambda: cp.get("policyreports", namespace=namespace)["items"], timeout=120, interval=1, what="the PolicyReport")
        yield cp, namespace
    finally:
        operator.terminate()
        operator.wait(timeout=20)
        log.close()


def kubectl_tfguard(cp, *args: str) -> subprocess.CompletedProcess:
    return cp.kubectl("tfguard", *args, check=False)


def test_kubectl_finds_the_plugin(cluster, plugin_on_path):
    listed = cluster.kubectl("plugin", "list", check=False)
    assert "kubectl-tfguard" in listed.stdout


def test_status_lists_workloads_with_verdict_stack_and_reason(recorded):
    cp, namespace = recorded
    done = kubectl_tfguard(cp, "status", "-n", namespace)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[:4] == ["KIND", "NAME", "VERDICT", "IMAGE"]
    by_name = {row.split()[1]: row for row in rows}
    assert by_name["ranker"].split()[2] == "incompatible" and "OP_NOT_REGISTERED" in by_name["ranker"]
    assert by_name["embedder"].split()[2] == "compatible" and "sha256-" + "ab" * 32 in by_name["embedder"]
    assert by_name["legacy"].split()[2] == "unknown"
    everywhere = kubectl_tfguard(cp, "status", "-A", "-o", "json")
    rows = json.loads(everywhere.stdout)["workloads"]
    assert {(r["namespace"], r["name"]) for r in rows} >= {(namespace, "ranker"), (namespace, "embedder")}


def test_explain_shows_every_finding_its_fix_the_events_and_the_report(recorded):
    cp, namespace = recorded
    done = kubectl_tfguard(cp, "explain", "deployment/ranker", "-n", namespace)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "verdict (operator): incompatible" in out
    assert "OP_NOT_REGISTERED" in out and "fix:" in out and "would deny it" in out
    assert "PolicyReport: fail (tfguard-model-compatibility/OP_NOT_REGISTERED)" in out
    assert "TFGuardIncompatible" in out
    missing = kubectl_tfguard(cp, "explain", "sts/nope", "-n", namespace)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_probe_results_lists_image_stacks(recorded):
    cp, _ = recorded
    done = kubectl_tfguard(cp, "probe-results")
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("sha256-" + "ab" * 32)]
    assert "registry.example/serving:7" in row and "2.15.1" in row
    data = json.loads(kubectl_tfguard(cp, "probe-results", "-o", "json").stdout)
    assert any(s["tensorflow"] == "2.15.1" and s["importOk"] is True for s in data["imageStacks"])


def test_a_kubeconfig_that_cannot_be_used_is_a_clear_error(tmp_path, plugin_on_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}))
    done = subprocess.run([str(Path(sys.executable).parent / "kubectl-tfguard"), "status", "--kubeconfig", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no usable cluster configuration" in done.stderr and "Traceback" not in done.stderr
