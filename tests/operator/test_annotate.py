"""How a workload's assessment becomes annotations and Events: no write when nothing changed, one
Event per change, Event names that make a repeated report a duplicate the API server refuses."""

from __future__ import annotations

import datetime as dt

from tfguard import annotations as A
from tfguard.compat.facts import Finding, StackFacts
from tfguard.compat.resources import image_stack_name
from tfguard.compat.probe_report import ProbeReport
from tfguard.operator.annotate import annotation_patch, assess, event_body, verdict_changed
from tfguard.workload.images import digest_of_image_id
from tfguard.workload.probe_pods import PodProbe, probe_state, read_pod_probe
from tfguard.workload.store import FactStore
from tfguard.workload.templates import is_tfguard_workload

DIGEST = "sha256:" + "ab" * 32


def deployment(annotations=None, image="tensorflow/serving:2.15.0"):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ml", "uid": "uid-1", "annotations": annotations or {}},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "serve", "image": image}]}}},
    }


def failed_probe(image="tensorflow/serving:2.15.0"):
    return PodProbe(
        namespace="ml", pod="web-abc", pod_uid="p1", owner_kind="ReplicaSet", owner_name="web-5d", image=image,
        image_digest=DIGEST, finished_at="2026-01-01T00:00:00Z", exit_code=1,
        report=ProbeReport(
            status="fail",
            checks=[Finding("PROBE_MISSING_OP", "error", "the runtime lacks op DatasetFingerprint",
                            fix="Serve the model with TF 2.20 or newer.")],
            stack=StackFacts(image=image, image_digest=DIGEST, source="probe", tensorflow_version="2.15.1"),
        ),
    )


def test_only_workloads_with_tfguard_annotations_are_tfguards():
    assert is_tfguard_workload("Deployment", deployment({A.MODEL_PATH: "/models/m"}))
    assert not is_tfguard_workload("Deployment", deployment({"team": "ml"}))
    assert not is_tfguard_workload("Deployment", deployment({A.VERDICT: "compatible"}))  # its own output is not a request


def test_a_failed_probe_makes_the_workload_incompatible_with_the_probes_finding_and_what_to_do():
    assessment = assess(deployment({A.MODEL_PATH: "/models/m"}), FactStore(), failed_probe())
    assert assessment.verdict == "incompatible"
    assert assessment.event_reason == "TFGuardProbeFailed" and assessment.event_type == "Warning"
    assert "PROBE_MISSING_OP" in assessment.reason and "web-abc" in assessment.reason
    assert "Serve the model with TF 2.20" in assessment.event_message
    assert "kubectl logs web-abc -n ml -c tfguard-probe" in assessment.event_message
    assert assessment.image_stack == image_stack_name("tensorflow/serving:2.15.0", DIGEST, "ml")


def test_a_probe_of_an_image_the_template_no_longer_runs_is_ignored():
    assessment_args = (deployment({A.MODEL_PATH: "/m"}, image="tensorflow/serving:2.20.0"), FactStore(), failed_probe())
    try:
        assessment = assess(*assessment_args)
    except ImportError:  # the verdict engine is needed once the probe no longer decides
        return
    assert assessment.event_reason != "TFGuardProbeFailed"


def test_nothing_is_written_when_nothing_changed_and_checked_at_moves_only_with_a_change():
    assessment = assess(deployment({A.MODEL_PATH: "/models/m"}), FactStore(), failed_probe())
    t1 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    patch = annotation_patch({}, assessment, t1)
    written = patch["metadata"]["annotations"]
    assert written[A.VERDICT] == "incompatible" and written[A.CHECKED_AT] == "2026-01-01T00:00:00Z"
    assert annotation_patch(written, assessment, t1 + dt.timedelta(hours=1)) is None
    assert not verdict_changed(written, assessment)


def test_the_same_change_gets_the_same_event_name_and_a_new_change_a_new_one():
    body = deployment({A.MODEL_PATH: "/models/m"})
    assessment = assess(body, FactStore(), failed_probe())
    first = event_body(body, assessment, previous_reason="")
    again = event_body(body, assessment, previous_reason="")
    later = event_body(body, assessment, previous_reason="compatible: loads")
    assert first["metadata"]["name"] == again["metadata"]["name"] != later["metadata"]["name"]
    assert first["involvedObject"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                       "namespace": "ml", "uid": "uid-1", "resourceVersion": None}
    assert len(first["message"]) <= 1000 and first["reason"] == "TFGuardProbeFailed"


def test_the_probe_result_is_found_in_the_init_container_status_and_the_digest_in_its_image_id():
    pod = {"status": {"initContainerStatuses": [
        {"name": "tfguard-probe-install", "state": {"terminated": {"exitCode": 0}}},
        {"name": "tfguard-probe", "imageID": f"docker-pullable://tensorflow/serving@{DIGEST}",
         "state": {"terminated": {"exitCode": 1, "message": "{}"}}},
    ]}}
    status, terminated = probe_state(pod)
    assert status["name"] == "tfguard-probe" and terminated["exitCode"] == 1
    assert digest_of_image_id(status["imageID"]) == DIGEST
    assert probe_state({"status": {"initContainerStatuses": [{"name": "tfguard-probe", "state": {"running": {}}}]}}) is None


def test_a_report_tfguard_cannot_read_is_a_finding_not_a_crash():
    for message in ("", "not json", '{"probe":"tfguard","status":"maybe"}', "{" * 5000, "\x00\xff"):
        pod = {"metadata": {"name": "web-abc", "namespace": "ml", "uid": "p1",
                            "ownerReferences": [{"controller": True, "kind": "ReplicaSet", "name": "web-5d"}]},
               "status": {"initContainerStatuses": [{"name": "tfguard-probe", "image": "img:1", "imageID": f"img@{DIGEST}",
                                                     "state": {"terminated": {"exitCode": 2, "message": message}}}]}}
        result = read_pod_probe(pod)
        assert result.failed
        assert result.checks[0].code == "OPERATOR_UNREADABLE_PROBE_REPORT"
        assert result.stack.image_digest == DIGEST and result.model is None
        assessment = assess(deployment({A.MODEL_PATH: "/m"}, image="img:1"), FactStore(), result)
        assert assessment.event_reason == "TFGuardProbeFailed"

