"""examples/kserve does what its comments say: judged offline by `tfguard check --manifests`, with the
runtime from the example's own ClusterServingRuntime and the gallery's missing-op model facts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tfguard.cli import main
from tfguard.compat.resources import model_profile_resource

from .test_predictor import NEW_OP_MODEL

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kserve"


def test_the_kserve_example_denies_the_old_server_and_admits_the_new_one(tmp_path, capsys):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(yaml.safe_dump(model_profile_resource(NEW_OP_MODEL, "missing-op")))
    code = main(["check", "--output", "json", "--manifests", str(EXAMPLE), "--profiles", str(profiles)])
    results = {r["name"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert code == 1
    old, new = results["flowers-2-15"], results["flowers-2-20"]
    assert (old["verdict"], old["image"], old["admittedInEnforce"]) == ("incompatible", "tensorflow/serving:2.15.0", False)
    assert "OP_NOT_REGISTERED" in old["message"] and "ClusterServingRuntime kserve-tensorflow-serving" in old["message"]
    assert (new["verdict"], new["image"]) == ("compatible", "tensorflow/serving:2.20.0")
