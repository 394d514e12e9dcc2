"""`tfguard check --manifests`: every pod controller in rendered manifests judged as the admission
webhook judges it, printed as text, JSON, SARIF 2.1.0 (validated against the OASIS schema) or JUnit."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import jsonschema
import pytest
import yaml

from tfguard.cli import main
from tfguard.compat.inspect import schema
from tfguard.progress import Progress

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def saved_model(directory: Path, ops=("Placeholder", "MatMul"), tensorflow_version="2.15.1", producer=1766) -> Path:
    model = schema.BINARY.SavedModel(saved_model_schema_version=1)
    graph = model.meta_graphs.add()
    graph.meta_info_def.tensorflow_version = tensorflow_version
    graph.meta_info_def.tags.append("serve")
    graph.graph_def.versions.producer = producer
    graph.graph_def.versions.min_consumer = 12
    for i, op in enumerate(ops):
        graph.graph_def.node.add(name=f"n{i}", op=op)
    directory.mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(model.SerializeToString())
    (directory / "variables").mkdir()
    return directory


def workload(kind: str, name: str, image: str, annotations: dict | None, namespace: str | None = "serving") -> dict:
    template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "serve", "image": image}]}}
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), **({"annotations": annotations} if annotations else {})}
    if kind == "CronJob":
        spec = {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"selector": {"matchLabels": {"app": name}}, "template": template}
    api = "batch/v1" if kind in ("CronJob", "Job") else "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with manifests: a model that needs an op TF 2.15 lacks, one that loads, one
    workload tfguard does not watch, and a Service."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    saved_model(tmp_path / "models" / "new-op", ops=("Placeholder", "DatasetFingerprint"),
                tensorflow_version="2.20.0", producer=2199)
    saved_model(tmp_path / "models" / "plain")
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    serving = [
        workload("Deployment", "ranker", "tensorflow/serving:2.15.0", {"tfguard.io/model-profile": "ranker"}),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ranker"}, "spec": {"ports": [{"port": 80}]}},
        workload("StatefulSet", "embedder", "tensorflow/serving:2.15.0", {"tfguard.io/model-profile": "embedder"}),
    ]
    (deploy / "serving.yaml").write_text(yaml.safe_dump_all(serving, sort_keys=False))
    (deploy / "batch.yaml").write_text(yaml.safe_dump_all([
        workload("CronJob", "nightly", "tensorflow/tensorflow:2.12.0", {"tfguard.io/model-producer-version": "2.17.0"}),
        workload("Deployment", "frontend", "nginx:1.27", None),
    ], sort_keys=False))
    return tmp_path


def check(*argv: str, capsys) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


MODELS = ("--model", "ranker=models/new-op", "--model", "embedder=models/plain")


def test_every_workload_is_judged_and_an_incompatible_one_fails_the_build(repo, capsys):
    code, out, _ = check("--manifests", "deploy", *MODELS, "--output", "json", capsys=capsys)
    assert code == 1
    data = json.loads(out)
    by_name = {r["name"]: r for r in data["results"]}
    assert set(by_name) == {"ranker", "embedder", "nightly", "frontend"}
    ranker = by_name["ranker"]
    assert ranker["verdict"] == "incompatible" and ranker["admittedInEnforce"] is False
    assert "OP_NOT_REGISTERED" in [f["code"] for f in ranker["findings"]]
    assert ranker["file"] == "deploy/serving.yaml" and ranker["line"] == 1
    assert by_name["embedder"]["verdict"] == "compatible" and by_name["embedder"]["line"] > 1
    assert by_name["nightly"]["kind"] == "CronJob" and by_name["nightly"]["verdict"] == "risky"
    assert by_name["frontend"]["verdict"] == "skipped"
    assert data["summary"]["incompatible"] == 1 and data["exitCode"] == 1


def test_the_verdict_is_the_webhooks_own_for_the_same_object(repo, capsys):
    """The same manifest sent to the webhook (with the same facts in its store) is judged alike."""
    from tfguard.commands.manifests import fact_store, read_documents
    from tfguard.webhook.app import create_app
    from tfguard.webhook.settings import WebhookSettings

    code, out, _ = check("--manifests", "deploy/serving.yaml", *MODELS, "--output", "json", capsys=capsys)
    cli = {r["name"]: r for r in json.loads(out)["results"]}
    documents = read_documents("deploy/serving.yaml")
    store = fact_store(documents, {"ranker": "models/new-op", "embedder": "models/plain"}, {"serving"})
    app = create_app(WebhookSettings(watch=False, default_mode="enforce"), store)

    async def review(obj):
        request = {"uid": str(uuid.uuid4()), "kind": {"group": "apps", "version": "v1", "kind": obj["kind"]},
                   "name": obj["metadata"]["name"], "namespace": "serving", "operation": "CREATE", "object": obj}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webhook") as client:
            answer = await client.post("/validate/enforce", json={"apiVersion": "admission.k8s.io/v1",
                                                                  "kind": "AdmissionReview", "request": request})
        return answer.json()["response"]

    for doc in documents:
        if doc.obj["kind"] in ("Deployment", "StatefulSet"):
            response = asyncio.run(review(doc.obj))
            mine = cli[doc.obj["metadata"]["name"]]
            assert response["auditAnnotations"]["verdict"] == mine["verdict"]
            assert response["allowed"] == mine["admittedInEnforce"]
            assert response["auditAnnotations"].get("codes", "").split(",") == list(
                dict.fromkeys(f["code"] for f in mine["findings"])) or not mine["findings"]


def test_sarif_is_valid_sarif_2_1_0_with_rules_from_the_code_registry(repo, capsys):
    code, out, _ = check("--manifests", "deploy", *MODELS, "--output", "sarif", capsys=capsys)
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    (run,) = log["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "OP_NOT_REGISTERED" in rules and rules["OP_NOT_REGISTERED"]["help"]["text"].startswith("Fix: ")
    errors = [r for r in run["results"] if r["level"] == "error"]
    assert errors and all(r["ruleId"] in rules for r in run["results"])
    location = errors[0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "deploy/serving.yaml"
    assert location["physicalLocation"]["region"]["startLine"] == 1
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "Deployment/serving/ranker"


def test_sarif_for_a_single_model_check_is_valid_too(repo, capsys):
    code, out, _ = check("--model", "models/new-op", "--image", "tensorflow/serving:2.15.0", "--output", "sarif",
                         capsys=capsys)
    assert code == 1
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(out))


def test_junit_has_one_case_per_workload_and_fails_the_incompatible_one(repo, capsys):
    code, out, _ = check("--manifests", "deploy", *MODELS, "--output", "junit", capsys=capsys)
    assert code == 1
    suites = ET.fromstring(out)
    (suite,) = suites.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failure = cases["Deployment serving/ranker"].find("failure")
    assert failure is not None and "OP_NOT_REGISTERED" in failure.text and "fix:" in failure.text
    assert cases["Deployment serving/frontend"].find("skipped") is not None
    assert cases["StatefulSet serving/embedder"].find("failure") is None
    assert cases["Deployment serving/ranker"].get("file") == "deploy/serving.yaml"


def test_helm_template_output_on_stdin_with_profiles_from_files(repo, capsys, monkeypatch):
    """`helm template ... | tfguard check --manifests -`, with ModelProfiles made by `tfguard inspect
    --profile` (here: in their own file) instead of --model."""
    assert main(["inspect", "models/plain", "--profile", "embedder"]) == 0
    (repo / "profiles.yaml").write_text(capsys.readouterr().out)
    rendered = "---\n# Source: chart/templates/sts.yaml\n" + yaml.safe_dump(
        workload("StatefulSet", "embedder", "tensorflow/serving:2.15.0", {"tfguard.io/model-profile": "embedder"},
                 namespace=None))
    monkeypatch.setattr("sys.stdin", io.StringIO(rendered))
    code, out, _ = check("--manifests", "-", "--profiles", "profiles.yaml", "--output", "json", capsys=capsys)
    (result,) = json.loads(out)["results"]
    assert code == 0 and result["verdict"] == "compatible" and result["namespace"] == "default"
    assert result["modelSource"] == "profile" and result["file"] == "<stdin>" and result["line"] == 3


def test_text_output_names_the_finding_and_the_fix(repo, capsys):
    code, out, _ = check("--manifests", "deploy", *MODELS, capsys=capsys)
    assert code == 1
    assert "INCOMPATIBLE Deployment serving/ranker (deploy/serving.yaml:1)" in out
    assert "fix:" in out and "4 workloads: 1 incompatible, 1 risky, 1 compatible, 1 skipped" in out


@pytest.mark.parametrize("setup, says", [
    (lambda d: (d / "chart" / "templates").mkdir(parents=True) or (d / "chart" / "Chart.yaml").write_text("name: c\n"),
     "is a Helm chart: render it first"),
    (lambda d: (d / "chart").mkdir() or (d / "chart" / "bad.yaml").write_text("kind: Deployment\n  bad: [\n"),
     "chart/bad.yaml:2: not YAML or JSON"),
])
def test_bad_input_is_a_clear_usage_error(tmp_path, capsys, monkeypatch, setup, says):
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    code, _, err = check("--manifests", "chart", capsys=capsys)
    assert code == 2 and says in err and "Traceback" not in err


def test_manifests_take_no_image_and_models_need_names(repo, capsys):
    assert check("--manifests", "deploy", "--image", "tensorflow/serving:2.15.0", capsys=capsys)[0] == 2
    code, _, err = check("--manifests", "deploy", "--model", "models/plain", capsys=capsys)
    assert code == 2 and "NAME=PATH" in err


def test_progress_draws_a_bar_on_a_terminal_only(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NO_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    screen = Terminal()
    with Progress(4, "checking", stream=screen) as progress:
        for i in range(4):
            progress.advance(note=f"file-{i}.yaml")
    assert "checking [" in screen.getvalue() and "4/4" in screen.getvalue()
    out = io.StringIO()
    with Progress(2, "measuring", stream=screen) as progress:
        progress.advance()
        progress.echo("[1/2] TensorFlow 2.15.1: 1500 ops", stream=out)  # a log line above the bar
    assert out.getvalue() == "[1/2] TensorFlow 2.15.1: 1500 ops\n"
    assert screen.getvalue().endswith("\r\033[K")  # the line is cleared when done
    monkeypatch.setenv("CI", "true")
    quiet = Terminal()
    with Progress(4, "checking", stream=quiet) as progress:
        progress.advance(4)
    assert quiet.getvalue() == ""
    assert not Progress(4, "x", stream=io.StringIO()).enabled  # a pipe or a file
