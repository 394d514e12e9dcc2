"""The release facts (tfguard/compat/data/release*.json, keras.json) and their accessor.

The unmarked tests check the accessor and the data's own consistency; the tf-marked ones check the
stored data against the two real releases the test suite installs anyway (2.15.1 and 2.20.0), with
those releases' own code. The older releases (1.15-2.11, CPython 3.7/3.8 wheels) are measured by
tools/gen_knowledge.py with pyenv interpreters the suite does not need; the same measuring code
(tools/measure_release.py, tools/measure_keras.py) is what the tf-marked tests run here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.tfenvs import NEW_TF, NEWEST_PATCHES, OLD_TF, cache_dir, tf_python
from tfguard.compat import releases as knowledge
from tfguard.compat.chains import chain, dumps_document, loads_document, unchain
from tfguard.compat.releases import (
    DATA_DIR,
    first_release_with_op,
    keras_release,
    keras_versions,
    min_driver_for_cuda,
    min_driver_for_cuda_major,
    newest_op_release,
    release,
    releases,
)

TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.mark.parametrize("version", ["2.15.1", "2.15", "2.15.0", "v2.15.0-rc1", "2.15.0-gpu", " 2.15.1 "])
def test_any_spelling_of_a_version_finds_its_series(version):
    found = release(version)
    assert found is not None and found.series == "2.15" and found.wheel_version == "2.15.1"


@pytest.mark.parametrize("version", ["1.14.0", "3.0", "2.99.0", "", "latest", "two.fifteen", "2", None])
def test_unknown_versions_are_none(version):
    assert release(version) is None


def test_releases_are_oldest_first_and_unique():
    series = [r.version_tuple for r in releases()]
    assert series == sorted(series) and len(series) == len(set(series))


def test_every_minor_from_1_15_to_the_newest_is_present_measured_or_with_its_reason():
    assert [r.series for r in releases()] == [".".join(v.split(".")[:2]) for v in NEWEST_PATCHES]
    for r, wheel in zip(releases(), NEWEST_PATCHES):
        if r.measured:
            assert r.wheel_version == wheel and r.ops and r.graph_def_version and r.git_version
            assert r.package in ("tensorflow", "tensorflow-cpu") and r.measured_with_python
        else:
            assert r.error and not r.ops and not r.op_attrs and r.op_def("MatMul") is None
            assert r.graph_def_min_consumer == 0 and r.graph_def_min_producer == 0


def test_the_suite_releases_are_measured():
    for version in (OLD_TF, NEW_TF):
        r = release(version)
        assert r.measured and r.wheel_version == version
        assert r.ops and r.graph_def_version and r.python_tags and "numpy" in r.requires
        assert r.ops_without_cpu_kernel < r.ops


def test_old_releases_record_their_interpreter_and_era_pins():
    r115, r20, r27 = release("1.15"), release("2.0"), release("2.7")
    assert r115.package == "tensorflow" and r115.measured_with_python.startswith("3.7.")
    assert release("2.5").measured_with_python.startswith("3.8.")
    assert "protobuf<3.20" in r115.era_pins and "numpy<1.24" in r27.era_pins
    assert not release(NEW_TF).era_pins
    # What the wheel declares and what it ran with, side by side.
    protobuf = r20.python_packages["protobuf"]
    assert protobuf.declared and "<" not in protobuf.declared  # the loose bound that needed the pin
    assert protobuf.installed.startswith("3.") and r20.protobuf_runtime["version"] == protobuf.installed
    assert r27.python_packages["numpy"].installed < "1.24"


def test_tf_keras_is_keras_2_up_to_2_15_and_keras_3_from_2_16():
    for r in releases():
        if r.keras_major is not None:
            assert r.keras_major == (2 if r.version_tuple <= (2, 15) else 3), r.series
    assert release("1.15").tf_keras_package == "tensorflow.python.keras"
    assert release("2.6").tf_keras_package == "keras"


def test_first_release_with_an_op_added_after_the_first_measured_release():
    series = first_release_with_op("DatasetFingerprint")
    assert series is not None
    assert release(OLD_TF).version_tuple < release(series).version_tuple <= release(NEW_TF).version_tuple
    before = [r for r in releases() if r.measured and r.version_tuple < release(series).version_tuple]
    assert all("DatasetFingerprint" not in r.ops for r in before)
    assert "DatasetFingerprint" in release(series).ops


def test_first_release_with_an_old_op_is_the_first_measured_release_and_unknown_ops_have_none():
    first_measured = next(r for r in releases() if r.measured)
    assert first_release_with_op("MatMul") == first_measured.series == "1.15"
    assert first_release_with_op("NoSuchOpAnywhere") is None


def test_newest_op_release_is_the_release_that_first_registered_the_newest_op():
    assert newest_op_release(["MatMul", "DatasetFingerprint"]) == first_release_with_op("DatasetFingerprint")
    assert newest_op_release(["MatMul"]) == "1.15"
    assert newest_op_release(["NoSuchOpAnywhere"]) is None


def test_op_attrs_follow_the_registry():
    old, new = release(OLD_TF), release(NEW_TF)
    assert set(old.op_attrs) == old.ops
    assert {"T", "transpose_a", "transpose_b"} <= old.op_attrs["MatMul"]
    # GatherNd grew an attr between the two: a 2.20 NodeDef setting it is not valid for 2.15.
    assert "bad_indices_policy" in new.op_attrs["GatherNd"] - old.op_attrs["GatherNd"]


def test_op_defs_carry_types_defaults_allowed_values_and_args():
    gather = release(OLD_TF).op_def("GatherNd")
    assert gather.attrs["Tindices"].type == "type"
    assert gather.attrs["Tindices"].allowed >= {"DT_INT32", "DT_INT64"}
    assert gather.required_attrs == {"Tparams", "Tindices"}
    assert [a.name for a in gather.inputs] == ["params", "indices"] and gather.inputs[0].type_attr == "Tparams"
    matmul = release(NEW_TF).op_def("MatMul")
    assert matmul.attrs["transpose_a"].has_default and matmul.attrs["transpose_a"].default is False
    assert release(NEW_TF).op_def("VarHandleOp").is_stateful and not matmul.is_stateful
    concat = release(NEW_TF).op_def("ConcatV2")
    assert concat.attrs["N"].minimum == 2 and concat.inputs[0].number_attr == "N"
    assert release(NEW_TF).op_def("NoSuchOp") is None


def test_deprecated_ops_name_the_graph_def_version_they_stop_at():
    batch_fft = release(OLD_TF).op_def("BatchFFT")
    assert batch_fft.deprecation_version == 15 and "FFT" in batch_fft.deprecation_explanation
    assert batch_fft.deprecated_at(15) and not batch_fft.deprecated_at(14)
    assert not release(OLD_TF).op_def("MatMul").deprecated_at(10**6)


def test_kernels_per_device_with_their_type_constraints():
    r = release(NEW_TF)
    assert r.has_kernel("MatMul", "CPU", {"T": "DT_FLOAT"})
    assert not r.has_kernel("MatMul", "CPU", {"T": "DT_STRING"})
    assert r.has_kernel("NoOp", "CPU")  # a DEFAULT-device kernel serves every device
    assert all(k.constraints["T"] for k in r.kernels("MatMul")["CPU"])
    assert r.kernels("NoSuchOp") == {}
    assert "GPU" not in r.kernels("MatMul")  # GPU kernels are left to the GPU facts
    assert all(not ({"CPU", "DEFAULT"} & set(r.kernels(op))) for op in r.ops_without_cpu_kernel)


def test_proto_schemas_of_what_the_loaders_parse():
    new, old, oldest = release(NEW_TF), release(OLD_TF), release("1.15")
    saved_object = new.proto("SavedObject")
    assert saved_object.name == "tensorflow.SavedObject" and "kind" in saved_object.oneofs
    assert {"user_object", "function", "variable", "resource"} <= saved_object.oneof_fields("kind")
    assert saved_object.by_number[4].name == "user_object"
    assert saved_object.fields["children"].type_name.endswith("TrackableObject.ObjectReference")
    assert "tensorflow.FingerprintDef" in new.proto_messages and oldest.proto("FingerprintDef") is None
    assert old.enum("DataType")["DT_FLOAT"] == 1 and "DT_FLOAT8_E4M3FN" in old.enum("DataType")
    assert "DT_FLOAT8_E4M3FN" not in oldest.enum("DataType")
    assert "RAGGED_TENSOR_SPEC" in new.enum("TypeSpecProto.TypeSpecClass")
    assert oldest.proto("tensorflow.MetaGraphDef") and new.proto("NoSuchMessage") is None


def test_checkpoint_header_and_protobuf_runtime():
    for r in releases():
        if r.measured:
            assert r.checkpoint["version_producer"] == 1 and r.checkpoint["version_min_consumer"] == 0, r.series
            assert r.protobuf_runtime["version"] and r.protobuf_runtime["implementation"], r.series


def test_every_keras_a_cluster_may_run_is_measured_or_with_its_reason():
    assert keras_versions("tensorflow")[0] == "1.15.5"  # tf.keras bundled with 1.15-2.5
    assert keras_versions("keras")[0].startswith("2.6") and keras_versions("keras")[-1].startswith("3.")
    assert {v.split(".")[1] for v in keras_versions("keras") if v.startswith("3.")} >= {str(m) for m in range(16)}
    assert keras_versions("tf-keras")[0].startswith("2.16")
    for package in ("tensorflow", "keras", "tf-keras"):
        for version in keras_versions(package):
            k = keras_release(package, version)
            assert k.measured or k.error, (package, version)
            if k.measured:
                assert k.modules and k.objects["layers"] and k.layer_kwargs, (package, version)


def test_keras_facts_tell_keras_2_from_keras_3_configs():
    k2, k3 = release(OLD_TF).keras, release(NEW_TF).keras
    assert (k2.package, k2.major, k3.major) == ("keras", 2, 3)
    assert k2.accepts_layer_kwarg("batch_input_shape") and not k2.accepts_layer_kwarg("batch_shape")
    assert "batch_shape" in k3.objects["layers"]["InputLayer"].params
    assert "batch_shape" not in k2.objects["layers"]["InputLayer"].params
    # A .keras config names the module of its class: Keras 2.15 has it under keras.src.engine,
    # 2.11 under keras.engine, Keras 3 under keras.src.models.
    assert "keras.src.engine.functional" in k2.modules and "keras.src.engine.functional" not in k3.modules
    assert "keras.engine.functional" in release("2.11").keras.modules and "keras.src.models.functional" in k3.modules
    assert "Dense" in k2.h5_layer_names and "Dense" in k3.h5_layer_names
    assert k2.loads("saved_model") and not k3.loads("saved_model") and k3.loads("keras")
    assert keras_release("tf_keras", "2.20.1").major == 2
    assert keras_release("keras", "3.9.0").version == "3.9.2"  # the minor's measured patch
    assert keras_release("keras", "9.9.9") is None and keras_release("nope", "1.0") is None


def test_cuda_drivers():
    assert min_driver_for_cuda("12.2") == "535.54.03"
    assert min_driver_for_cuda("12.2.140") == "535.54.03"
    assert min_driver_for_cuda("11.8") == "520.61.05"
    assert min_driver_for_cuda("99.1") is None and min_driver_for_cuda("cuda") is None
    assert min_driver_for_cuda_major(12) == "525.60.13"
    for r in releases():
        if r.cuda_version:
            assert min_driver_for_cuda(r.cuda_version), f"no driver for CUDA {r.cuda_version} ({r.series})"


def test_data_files_are_small_split_by_concern_and_name_their_sources():
    sizes = {p.name: p.stat().st_size for p in Path(DATA_DIR).glob("*.json*")}
    assert sizes["releases.json"] < 300 * 1024  # what release() alone loads
    assert sum(size for name, size in sizes.items() if name != "ngc_tensorflow.json") < 8 * 1024 * 1024
    assert {"measured", "keras", "gpu_builds", "cuda_drivers", "unmeasured"} <= set(knowledge.sources())


def test_version_level_facts_do_not_load_the_op_registry():
    code = (
        "import os; from tfguard.compat import releases as k; seen = []; load = k._load\n"
        "k._load = lambda path: (seen.append(os.path.basename(path)), load(path))[1]\n"
        "r = k.release('2.15'); r.graph_def_version, r.requires, r.cuda_version; k.min_driver_for_cuda('12.2')\n"
        "print(' '.join(sorted(set(seen))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert "releases.json" in loaded
    assert not loaded & {"release_ops.jsonl", "release_kernels.jsonl", "release_protos.jsonl", "keras.json"}


def test_chains_round_trip():
    snapshots = [("a", {"x": 1, "y": [1]}), ("b", {"x": 1, "y": [2], "z": 3}), ("c", {"z": 3})]
    stored = chain(snapshots)
    assert stored["diffs"]["b"] == {"changed": {"y": [2], "z": 3}, "removed": []}
    assert {k: dict(v) for k, v in unchain(stored).items()} == dict(snapshots)


def test_a_packed_chain_keeps_each_value_as_text_until_it_is_read():
    snapshots = [("a", {"x": {"attr": {"T": {}}}, "y": [1]}), ("b", {"x": {"attr": {"T": {}}}, "y": [2]})]
    stored = chain(snapshots, packed=True)
    assert stored["packed"] and stored["full"]["x"] == '{"attr":{"T":{}}}'
    assert stored["diffs"]["b"] == {"changed": {"y": "[2]"}, "removed": []}
    releases = unchain(stored)
    assert {k: dict(v) for k, v in releases.items()} == dict(snapshots)
    assert releases["a"]["x"] is releases["b"]["x"]  # an unchanged value is decoded once


def test_a_document_of_packed_chains_is_stored_as_one_line_per_distinct_value():
    snapshots = [("a", {"x": {"attr": {}}, "y": [1]}), ("b", {"x": {"attr": {}}, "y": [1], "z": "\n"})]
    document = {"stamp": "t", "chain": chain(snapshots, packed=True), "plain": chain(snapshots)}
    text = dumps_document(document)
    header, *values = text.splitlines()
    assert len(values) == 3 and json.loads(header)["chain"]["full"] == {"x": 1, "y": 2}
    back = loads_document(text.encode())
    assert back["stamp"] == "t" and back["plain"] == json.loads(json.dumps(document["plain"]))
    assert {k: dict(v) for k, v in unchain(back["chain"]).items()} == dict(snapshots)


def test_inspection_compares_attrs_with_the_oldest_measured_release():
    oldest = knowledge.measured_releases()[0]
    assert dict(knowledge.oldest_op_attrs()) == dict(oldest.op_attrs)
    assert "bad_indices_policy" not in knowledge.oldest_op_attrs()["GatherNd"]


# Runs inside a real TF venv with the generator's own measuring script. A measurement is kept per
# (venv, script) under $TFGUARD_CACHE, so a warm run does not measure the same stack again.
def _measure(version: str, script: str, *args: str) -> dict:
    python = tf_python(version)
    key = hashlib.sha256(json.dumps([str(python), (TOOLS / script).read_text(), args]).encode()).hexdigest()[:16]
    kept = cache_dir() / "knowledge-tests" / f"{version}-{key}.json"
    if kept.exists():
        return json.loads(kept.read_text())
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([str(python), str(TOOLS / script), *args], capture_output=True, text=True,
                          env=env, timeout=600, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(done.stdout)
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=[OLD_TF, NEW_TF])
def measured(request):
    return request.param, _measure(request.param, "measure_release.py")


@pytest.mark.tf
def test_stored_release_facts_match_the_real_release(measured):
    version, real = measured
    stored = release(version)
    assert (stored.graph_def_version, stored.graph_def_min_consumer, stored.graph_def_min_producer) == (
        real["graph_def_version"], real["graph_def_min_consumer"], real["graph_def_min_producer"])
    assert stored.keras_major == real["tf_keras_major"]
    assert stored.ops == set(real["op_defs"])
    assert {op: set(attrs) for op, attrs in stored.op_attrs.items()} == {
        op: set(d["attr"]) for op, d in real["op_defs"].items()}
    assert dict(stored._op_data) == real["op_defs"]
    assert stored.protobuf_runtime == real["protobuf_runtime"] and dict(stored.checkpoint) == real["checkpoint"]


@pytest.mark.tf
def test_stored_kernels_match_the_real_release(measured):
    version, real = measured
    stored = release(version)
    for op, devices in real["kernels"].items():
        for device, kernels in devices.items():
            if device not in ("CPU", "DEFAULT", "XLA_CPU"):
                continue
            # Every registered dtype combination finds a stored kernel (they are stored merged).
            for k in kernels:
                combos = [{}]
                for attr, types in k["constraints"].items():
                    combos = [dict(c, **{attr: t}) for c in combos for t in types] if types else combos
                for combo in combos[:50]:
                    assert any(s.accepts(combo) for s in stored.kernels(op)[device]), (op, device, combo)
    assert stored.ops_without_cpu_kernel == set(real["op_defs"]) - set(real["cpu_kernel_ops"])


@pytest.mark.tf
def test_stored_proto_schemas_match_the_real_release(measured):
    version, real = measured
    stored = release(version)
    assert stored.proto_messages == set(real["protos"]["messages"])
    for name, message in real["protos"]["messages"].items():
        schema = stored.proto(name)
        assert {f: vars(field) | {} for f, field in schema.fields.items()} == {
            f: {"name": f, "type_name": None, "oneof": None, **d} for f, d in message["fields"].items()}
    for name, values in real["protos"]["enums"].items():
        assert dict(stored.enum(name)) == values


@pytest.mark.tf
@pytest.mark.parametrize("version", [OLD_TF, NEW_TF])
def test_stored_keras_facts_match_the_real_keras(version):
    real = _measure(version, "measure_keras.py", "keras")
    stored = release(version).keras
    assert stored.keras_version == real["keras_version"] and stored.modules == set(real["modules"])
    for category, objects in real["classes"].items():
        assert set(stored.objects[category]) == set(objects), category
    assert stored.h5_layer_names == set(real["h5_layer_table"]["names"])
    assert stored.layer_kwargs.accepted == set(real["layer_kwargs"]["accepted"])
    formats = json.loads(re.sub(r"/[^\s'\"]*tfguard-keras-[A-Za-z0-9_]+", "<tmp>", json.dumps(real["formats"])))
    assert {f: dict(v) for f, v in stored.formats.items()} == formats  # the temporary path left out


def test_loading_the_whole_knowledge_is_cheap(capsys):
    """Not a timed assertion: prints the figures docs/knowledge.md quotes."""
    code = (
        "import time; t=time.perf_counter(); from tfguard.compat import releases as k;"
        "rs=k.releases(); t1=time.perf_counter();"
        "[r.ops for r in rs]; [r.op_def('MatMul') for r in rs]; t2=time.perf_counter();"
        "[r.ops_without_cpu_kernel for r in rs]; t3=time.perf_counter();"
        "[r.proto('SavedObject') for r in rs]; t4=time.perf_counter();"
        "[r.keras for r in rs if r.measured]; t5=time.perf_counter();"
        "print('releases %.0f ms, ops %.0f ms, kernels %.0f ms, protos %.0f ms, keras %.0f ms'"
        " % tuple(1000*x for x in (t1-t, t2-t1, t3-t2, t4-t3, t5-t4)))"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    with capsys.disabled():
        print(f"\n  knowledge load: {done.stdout.strip()} (process {time.perf_counter() - started:.2f}s)")


def test_keras_json_reads_back_into_the_measurements_it_was_built_from():
    """`gen_knowledge.py --merge-keras` re-measures a few stacks and rebuilds keras.json from the rest
    as stored: that is only safe while reading the file back gives exactly what built it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_knowledge", TOOLS / "gen_knowledge.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    stored = json.loads(Path(DATA_DIR, "keras.json").read_text())
    stamp = {key: stored[key] for key in ("generated_at", "generated_by")}
    assert generator.build_keras(generator.committed_keras(stored), stamp) == stored
