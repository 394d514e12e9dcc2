"""Real models saved by real TF releases: tfguard's facts agree with what TensorFlow itself reads.

For each SavedModel, TensorFlow (in the release's own venv) parses saved_model.pb with its own
generated protos and lists the ops with `meta_graph.ops_used_by_graph_def`; tfguard's op set,
op attrs and versions must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tfguard.compat.inspect import inspect_model
from harness.models import MODELS, NEW_OP, build_record, model_path, models_for
from harness.tfenvs import NEW_TF, OLD_TF, tf_python

pytestmark = pytest.mark.tf

CASES = [(name, version) for version in (OLD_TF, NEW_TF) for name in models_for(version)]
SAVED_MODEL_CASES = [(n, v) for n, v in CASES if MODELS[n].kind == "saved_model"]

# Runs in the TF venv: argv = saved_model.pb paths; prints {path: what TF reads} as JSON.
TF_READS = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import meta_graph

out = {}
for path in sys.argv[1:]:
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    (graph,) = saved_model.meta_graphs
    graph_def = graph.graph_def
    ops = sorted(set(meta_graph.ops_used_by_graph_def(graph_def)))
    functions = {f.signature.name for f in graph_def.library.function}
    attrs = {}
    for node in list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]:
        if node.op not in functions:
            attrs.setdefault(node.op, set()).update(node.attr.keys())
    out[path] = {
        "ops": ops,
        "op_attrs": {op: sorted(a) for op, a in attrs.items()},
        "tensorflow_version": graph.meta_info_def.tensorflow_version,
        "tensorflow_git_version": graph.meta_info_def.tensorflow_git_version,
        "producer": graph_def.versions.producer,
        "min_consumer": graph_def.versions.min_consumer,
        "bad_consumers": list(graph_def.versions.bad_consumers),
        "signatures": sorted(k for k in graph.signature_def.keys() if k != "__saved_model_init_op"),
    }
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def tf_reads():
    """{(name, version): what TensorFlow `version` reads from that SavedModel}."""
    reads = {}
    for version in (OLD_TF, NEW_TF):
        cases = {str(model_path(n, v) / "saved_model.pb"): (n, v) for n, v in SAVED_MODEL_CASES if v == version}
        done = subprocess.run(
            [str(tf_python(version)), "-c", TF_READS, *cases],
            capture_output=True, text=True, timeout=300, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        for path, read in json.loads(done.stdout.strip().splitlines()[-1]).items():
            reads[cases[path]] = read
    return reads


@pytest.mark.parametrize("name,version", SAVED_MODEL_CASES, ids=[f"{n}-tf{v}" for n, v in SAVED_MODEL_CASES])
def test_saved_model_facts_match_what_tensorflow_reads(name, version, tf_reads):
    facts = inspect_model(model_path(name, version))
    tf = tf_reads[(name, version)]

    assert facts.ops == tf["ops"]
    assert facts.op_attrs == tf["op_attrs"]
    assert facts.tensorflow_version == tf["tensorflow_version"] == version
    assert facts.tensorflow_git_version == tf["tensorflow_git_version"]
    assert (facts.graph_producer, facts.graph_min_consumer) == (tf["producer"], tf["min_consumer"])
    assert facts.graph_bad_consumers == tf["bad_consumers"]
    assert facts.signatures == tf["signatures"]
    assert "serving_default" in facts.signatures


@pytest.mark.parametrize("name,version", CASES, ids=[f"{n}-tf{v}" for n, v in CASES])
def test_keras_facts_match_the_build(name, version):
    record = build_record(name, version)
    facts = inspect_model(model_path(name, version))

    assert facts.format == MODELS[name].kind
    assert facts.digest.startswith("sha256:")
    if name in ("keras_v3", "keras_h5"):
        assert facts.keras_version == record["keras_version"]
        assert facts.keras_format == {"keras_v3": "keras_v3", "keras_h5": "h5"}[name]
        assert not facts.weights_only
    elif record.get("keras_metadata"):
        assert facts.keras_format == "saved_model_keras"
        assert facts.keras_version == record["keras_version"]
        assert facts.keras_backend == "tensorflow"
    else:
        assert facts.keras_format is None and facts.keras_version is None


def test_the_new_op_model_names_the_new_op():
    assert NEW_OP in inspect_model(model_path("new_op_saved_model", NEW_TF)).ops
    assert NEW_OP not in inspect_model(model_path("plain_saved_model", NEW_TF)).ops


@pytest.mark.parametrize("name,version", CASES, ids=[f"{n}-tf{v}" for n, v in CASES])
def test_the_probe_reads_the_same_facts(name, version):
    """The probe (stdlib only, inside the pod) and `tfguard inspect` must agree on every fact."""
    from tfguard.probes import probe

    path = str(model_path(name, version))
    mine = inspect_model(path).to_dict()
    theirs, problem = probe.model_facts(path)

    assert problem is None
    for key in ("format", "tensorflow_version", "tensorflow_git_version", "graph_producer", "graph_min_consumer",
                "graph_bad_consumers", "ops", "op_attrs", "keras_version", "keras_format", "keras_backend",
                "signatures", "digest", "saved_model_schema_version"):
        assert theirs.get(key) == mine[key], key


def test_profile_of_the_new_op_model_names_a_release_newer_than_old_tf(capsys):
    import yaml

    from tfguard.cli import main

    assert main(["inspect", str(model_path("new_op_saved_model", NEW_TF)), "--profile", "new-op"]) == 0
    spec = yaml.safe_load(capsys.readouterr().out)["spec"]

    assert NEW_OP in spec["ops"]
    assert tuple(map(int, spec["newestOpRelease"].split("."))) > tuple(map(int, OLD_TF.split(".")[:2]))
