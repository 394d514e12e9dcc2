"""Which pod an InferenceService's predictor runs, found from the serving runtimes as KServe's
controller finds it, and the verdict the webhook then gives (no cluster: the runtimes are fed to
the store the way its watch feeds it)."""

from __future__ import annotations

import pytest

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts
from tfguard.compat.resources import model_profile_resource
from tfguard.webhook.models import parse_review
from tfguard.webhook.validate import validate
from tfguard.workload import kserve
from tfguard.workload.runtimes import CLUSTER_SERVING_RUNTIMES, SERVING_RUNTIMES, RuntimeStore
from tfguard.workload.store import FactStore

from .documents import (TF_SERVING_RUNTIME, TRITON_RUNTIME, isvc_containers, isvc_model, isvc_review,
                        isvc_tensorflow, serving_runtime)

NEW_OP_MODEL = ModelFacts(  # needs an op (DatasetFingerprint) TF 2.6 does not register
    path="/mnt/models", format="saved_model", tensorflow_version="2.20.0", graph_producer=2000,
    ops=["Const", "DatasetFingerprint", "Identity", "MatMul"], source="inspect",
)
PLAIN_MODEL = ModelFacts(path="/mnt/models", format="saved_model", tensorflow_version="2.6.2", graph_producer=808,
                         ops=["Const", "Identity", "MatMul"], source="inspect")


def runtimes(*namespaced) -> RuntimeStore:
    store = RuntimeStore()
    store.apply(CLUSTER_SERVING_RUNTIMES, "LISTED", {"items": [TF_SERVING_RUNTIME, TRITON_RUNTIME]})
    store.apply(SERVING_RUNTIMES, "LISTED", {"items": list(namespaced)})
    return store


def test_the_older_tensorflow_shape_runs_kserves_tf_serving_runtime_at_runtime_version():
    found = kserve.predictor(isvc_tensorflow(runtime_version="2.14.1"), "serving", runtimes())
    assert found.runtime.label == "ClusterServingRuntime kserve-tensorflow-serving"
    container = found.pod_spec["containers"][0]
    assert container["image"] == "tensorflow/serving:2.14.1"
    assert "--model_name=flowers" in container["args"] and "--model_base_path=/mnt/models" in container["args"]
    assert found.findings == []


def test_auto_selection_skips_runtimes_of_another_protocol_and_prefers_priority():
    # Triton lists tensorflow too, but for protocol v2 only; a namespace runtime comes before the cluster's.
    found = kserve.predictor(isvc_model(version="2"), "serving", runtimes())
    assert found.runtime.name == "kserve-tensorflow-serving"
    own = serving_runtime("team-tfs", "serving", "tensorflow/serving:2.15.1", priority=5)
    assert kserve.predictor(isvc_model(version="2"), "serving", runtimes(own)).runtime.name == "team-tfs"
    # another namespace's ServingRuntime is not this namespace's
    assert kserve.predictor(isvc_model(version="2"), "other", runtimes(own)).runtime.name == "kserve-tensorflow-serving"
    # a format version the runtime does not list is not auto-selected by it
    assert kserve.predictor(isvc_model(version="3"), "serving", runtimes(own)).runtime is None


def test_priority_decides_among_a_namespaces_runtimes_and_disabled_ones_never_run():
    low = serving_runtime("low", "serving", "tensorflow/serving:2.12.1", priority=1)
    high = serving_runtime("high", "serving", "tensorflow/serving:2.15.1", priority=9)
    off = serving_runtime("off", "serving", "tensorflow/serving:2.16.1", priority=99, disabled=True)
    found = kserve.predictor(isvc_model(), "serving", runtimes(low, high, off))
    assert found.runtime.name == "high"
    assert found.pod_spec["containers"][0]["image"] == "tensorflow/serving:2.15.1"


def test_a_named_runtime_is_used_even_without_auto_select_and_a_missing_one_is_a_finding():
    manual = serving_runtime("manual", "serving", "tensorflow/serving:2.13.1", auto_select=False)
    found = kserve.predictor(isvc_model(runtime="manual"), "serving", runtimes(manual))
    assert found.runtime.name == "manual" and found.findings == []
    missing = kserve.predictor(isvc_model(runtime="nope"), "serving", runtimes())
    assert [f.code for f in missing.findings] == ["KSERVE_RUNTIME_NOT_FOUND"]
    wrong = kserve.predictor(isvc_model(runtime="kserve-tritonserver", version="7"), "serving", runtimes())
    assert [f.code for f in wrong.findings] == ["KSERVE_RUNTIME_FORMAT_UNSUPPORTED"]


def test_a_gpu_request_gets_the_gpu_image_unless_runtime_version_pins_the_tag():
    gpu = {"resources": {"limits": {"nvidia.com/gpu": "1"}}}
    found = kserve.predictor(isvc_model(**gpu), "serving", runtimes())
    assert found.pod_spec["containers"][0]["image"] == "tensorflow/serving:2.6.2-gpu"
    pinned = kserve.predictor(isvc_model(runtime_version="2.15.1", **gpu), "serving", runtimes())
    assert pinned.pod_spec["containers"][0]["image"] == "tensorflow/serving:2.15.1"


def test_without_known_runtimes_only_an_image_the_isvc_names_is_judged():
    store = RuntimeStore()  # KServe's CRDs absent: never synced
    found = kserve.predictor(isvc_model(image="tensorflow/serving:2.15.1"), "serving", store)
    assert found.runtime is None and [f.code for f in found.findings] == ["KSERVE_RUNTIMES_UNKNOWN"]
    assert found.pod_spec["containers"][0]["image"] == "tensorflow/serving:2.15.1"


def test_custom_containers_and_other_frameworks():
    custom = kserve.predictor(isvc_containers("c", "serving", "tensorflow/tensorflow:2.15.1"), "serving", runtimes())
    assert custom.shape == "containers" and custom.pod_spec["containers"][0]["image"] == "tensorflow/tensorflow:2.15.1"
    assert kserve.predictor(isvc_model(format_name="sklearn", version="1"), "serving", runtimes()) is None


# --- the webhook's answer ---------------------------------------------------------------------


@pytest.fixture
def store() -> FactStore:
    store = FactStore()
    store.runtimes.apply(CLUSTER_SERVING_RUNTIMES, "LISTED", {"items": [TF_SERVING_RUNTIME, TRITON_RUNTIME]})
    store.runtimes.apply(SERVING_RUNTIMES, "LISTED", {"items": []})
    store.put_profile(model_profile_resource(NEW_OP_MODEL, "flowers", namespace="serving"))
    store.put_profile(model_profile_resource(PLAIN_MODEL, "plain", namespace="serving"))
    return store


def admit(obj, mode, store, **review):
    return validate(parse_review(__import__("json").dumps(isvc_review(obj, **review)).encode()).request, mode, store)


def test_enforce_denies_an_isvc_whose_runtime_cannot_load_its_model_naming_runtime_and_image(store):
    outcome = admit(isvc_tensorflow(runtime_version="2.6.2"), "enforce", store)
    assert outcome.allowed is False and outcome.verdict == "incompatible"
    assert "InferenceService flowers (predictor on ClusterServingRuntime kserve-tensorflow-serving)" in outcome.message
    assert "tensorflow/serving:2.6.2" in outcome.message and "[OP_NOT_REGISTERED]" in outcome.message
    assert outcome.audit["runtime"] == "ClusterServingRuntime kserve-tensorflow-serving"


def test_warn_admits_with_warning_lines_that_name_the_runtime(store):
    outcome = admit(isvc_model(version="2"), "warn", store)
    assert outcome.allowed is True
    assert outcome.warnings[0].startswith("tfguard: incompatible: InferenceService flowers predictor on "
                                          "ClusterServingRuntime kserve-tensorflow-serving")
    assert any("OP_NOT_REGISTERED" in w for w in outcome.warnings)


def test_a_model_the_runtime_loads_is_admitted_silently_and_unannotated_isvcs_are_not_judged(store):
    ok = admit(isvc_model(annotations={A.MODEL_PROFILE: "plain"}, runtime_version="2.15.1"), "enforce", store)
    assert (ok.allowed, ok.verdict, ok.warnings) == (True, "compatible", [])
    assert admit(isvc_model(annotations={}), "enforce", store).verdict == "skipped"


def test_an_update_that_leaves_the_predictor_alone_is_not_judged_again(store):
    obj = isvc_model()
    changed_status = {**obj, "status": {"url": "http://flowers"}}
    assert admit(changed_status, "enforce", store, operation="UPDATE", old=obj).verdict == "unchanged"
    newer = isvc_model(runtime_version="2.20.0")
    assert admit(newer, "enforce", store, operation="UPDATE", old=obj).verdict == "compatible"
