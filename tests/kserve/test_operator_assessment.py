"""What the operator says about an InferenceService (no cluster): the same assessment as for a
Deployment, of the predictor's pod as KServe derives it, naming the runtime; nothing for a
predictor of another framework; the Event on the InferenceService itself."""

from __future__ import annotations

from tfguard.operator.annotate import assess, event_body
from tfguard.operator.reconcile import compact

from .documents import isvc_model, isvc_tensorflow
from .test_predictor import store  # noqa: F401  (the fixture: runtimes and profiles as the watches feed them)


def test_an_isvc_whose_runtime_cannot_load_its_model_is_incompatible_naming_runtime_and_image(store):  # noqa: F811
    assessment = assess(compact(isvc_tensorflow(runtime_version="2.6.2")), store)
    assert (assessment.verdict, assessment.code, assessment.event_reason) == (
        "incompatible", "OP_NOT_REGISTERED", "TFGuardIncompatible")
    assert "tensorflow/serving:2.6.2 (predictor on ClusterServingRuntime kserve-tensorflow-serving)" in assessment.event_message
    assert "DatasetFingerprint" in assessment.reason


def test_a_runtime_version_that_registers_every_op_is_compatible(store):  # noqa: F811
    assessment = assess(compact(isvc_model(runtime_version="2.20.0")), store)
    assert assessment.verdict == "compatible" and "tensorflow/serving:2.20.0" in assessment.reason


def test_a_runtime_that_does_not_exist_is_said_and_leaves_the_verdict_unknown(store):  # noqa: F811
    assessment = assess(compact(isvc_model(runtime="nope")), store)
    assert (assessment.verdict, assessment.code) == ("unknown", "KSERVE_RUNTIME_NOT_FOUND")


def test_another_frameworks_predictor_is_not_judged(store):  # noqa: F811
    assert assess(compact(isvc_model(format_name="sklearn", version="1")), store) is None


def test_the_event_is_on_the_inference_service(store):  # noqa: F811
    body = compact({**isvc_tensorflow(), "metadata": {**isvc_tensorflow()["metadata"], "uid": "u-1"}})
    event = event_body(body, assess(body, store), "")
    assert event["involvedObject"] == {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                                       "name": "flowers", "namespace": "serving", "uid": "u-1", "resourceVersion": None}
