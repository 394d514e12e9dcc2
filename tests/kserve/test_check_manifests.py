"""`tfguard check --manifests` judges InferenceServices as the webhook does at `kubectl apply`: the
serving runtimes come from the manifests or `--profiles` (`kubectl get clusterservingruntimes -o
yaml`), and without any the predictor's image is known only where the InferenceService names it."""

from __future__ import annotations

import json

import yaml

from tfguard.cli import main
from tfguard.compat.resources import model_profile_resource

from .documents import TF_SERVING_RUNTIME, isvc_containers, isvc_model, isvc_tensorflow
from .test_predictor import NEW_OP_MODEL


def write(path, *objects) -> str:
    path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False))
    return str(path)


def judged(capsys, *argv) -> tuple[int, dict[str, dict]]:
    code = main(["check", "--output", "json", *argv])
    out = json.loads(capsys.readouterr().out)
    return code, {r["name"]: r for r in out["results"]}


def test_isvcs_are_judged_with_the_runtimes_in_the_manifests(tmp_path, capsys):
    manifests = tmp_path / "deploy"
    manifests.mkdir()
    write(manifests / "runtimes.yaml", TF_SERVING_RUNTIME)
    write(manifests / "isvcs.yaml",
          isvc_tensorflow(runtime_version="2.6.2"),
          isvc_model(name="newer", runtime_version="2.20.0"),
          isvc_model(name="sk", format_name="sklearn", version="1"),
          isvc_containers("custom", "serving", "tensorflow/tensorflow:2.20.0"),
          isvc_model(name="plain", annotations={}))
    profiles = write(tmp_path / "profiles.yaml", model_profile_resource(NEW_OP_MODEL, "flowers", namespace="serving"))
    code, results = judged(capsys, "--manifests", str(manifests), "--profiles", profiles)
    assert code == 1
    flowers = results["flowers"]
    assert (flowers["kind"], flowers["verdict"], flowers["admittedInEnforce"]) == ("InferenceService", "incompatible", False)
    assert "ClusterServingRuntime kserve-tensorflow-serving" in flowers["message"]
    assert flowers["image"] == "tensorflow/serving:2.6.2" and "OP_NOT_REGISTERED" in flowers["message"]
    assert results["newer"]["verdict"] == "compatible"
    assert results["custom"]["verdict"] == "compatible" and results["custom"]["image"] == "tensorflow/tensorflow:2.20.0"
    assert results["sk"]["verdict"] == "skipped" and "no TensorFlow model" in results["sk"]["message"]
    assert results["plain"]["verdict"] == "skipped"


def test_without_runtimes_the_image_is_unknown_until_profiles_bring_them(tmp_path, capsys):
    isvcs = write(tmp_path / "isvc.yaml", isvc_tensorflow(runtime_version="2.6.2"))
    profile = model_profile_resource(NEW_OP_MODEL, "flowers", namespace="serving")
    profiles = write(tmp_path / "profiles.yaml", profile)
    code, results = judged(capsys, "--manifests", isvcs, "--profiles", profiles)
    assert code == 0 and results["flowers"]["verdict"] == "unknown"
    assert "KSERVE_RUNTIMES_UNKNOWN" in [f["code"] for f in results["flowers"]["findings"]]
    # what `kubectl get clusterservingruntimes -o yaml` prints
    listed = write(tmp_path / "runtimes.yaml", {"apiVersion": "v1", "kind": "List", "items": [TF_SERVING_RUNTIME]})
    code, results = judged(capsys, "--manifests", isvcs, "--profiles", profiles, "--profiles", listed)
    assert code == 1 and results["flowers"]["verdict"] == "incompatible"
