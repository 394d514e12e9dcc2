"""Whatever arrives, the webhook answers with a clear 4xx or a clear finding: never a 500 or a hang."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfguard import annotations as A
from tfguard.webhook.models import BadReview, parse_review

from webhook_documents import MODEL, admission_review, deployment, pod


def post(webhook, path, content, content_type="application/json"):
    with webhook.client() as client:
        return client.post(path, content=content, headers={"Content-Type": content_type})


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"", "empty body"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "Input should be an object"),
        (json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}).encode(), "apiVersion"),
        (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "Deployment"}).encode(), "kind"),
    ],
)
def test_malformed_reviews_get_a_400_that_says_what_is_wrong(webhook, body, expected):
    resp = post(webhook, "/validate", body)
    assert resp.status_code == 400
    assert expected in resp.json()["error"]


def test_missing_uid_is_a_400(webhook):
    review = admission_review(deployment(annotations=MODEL))
    del review["request"]["uid"]
    resp = post(webhook, "/validate", json.dumps(review))
    assert resp.status_code == 400 and "request.uid" in resp.json()["error"]


def test_non_json_content_type_is_a_415(webhook):
    resp = post(webhook, "/validate", b"<AdmissionReview/>", "application/xml")
    assert resp.status_code == 415


def test_bodies_of_several_megabytes_are_a_413(start_webhook):
    webhook = start_webhook(max_body_bytes=1024 * 1024)
    obj = deployment(annotations={**MODEL, "padding": "x" * (3 * 1024 * 1024)})
    resp = post(webhook, "/validate", json.dumps(admission_review(obj)))
    assert resp.status_code == 413
    assert "limit" in resp.json()["error"]
    # the server is still fine afterwards
    assert webhook.review(admission_review(deployment()))["allowed"] is True


def test_bad_mode_parameter_is_a_400(webhook):
    resp = post(webhook, "/validate/lenient", json.dumps(admission_review(deployment())))
    assert resp.status_code == 400 and "mode" in resp.json()["error"]


def test_wrong_object_kind_is_admitted_with_a_finding(webhook):
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "serving"}}
    response = webhook.review(admission_review(configmap))
    assert response["allowed"] is True
    assert "ADMISSION_UNSUPPORTED_OBJECT" in response["warnings"][0]
    assert response["auditAnnotations"]["codes"] == "ADMISSION_UNSUPPORTED_OBJECT"


def test_a_pod_sent_to_validate_or_a_deployment_sent_to_mutate_is_not_a_500(webhook):
    assert webhook.review(admission_review(pod(MODEL)))["allowed"] is True
    response = webhook.review(admission_review(deployment(annotations=MODEL)), "/mutate")
    assert response["allowed"] is True and "patch" not in response


def test_path_traversal_in_the_model_path_is_a_finding_and_not_injected(webhook):
    bad = {**MODEL, A.MODEL_PATH: "/models/../../etc/shadow"}
    response = webhook.review(admission_review(pod(bad)), "/mutate")
    import base64

    patch = json.loads(base64.b64decode(response["patch"]))
    probe = patch[-1]["value"][-1] if isinstance(patch[-1]["value"], list) else patch[-1]["value"]
    assert "/etc/shadow" not in " ".join(probe["command"])
    assert "ADMISSION_UNSAFE_MODEL_PATH" in response["auditAnnotations"]["codes"]


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=20,
    )
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parser_answers_any_json_with_a_review_or_a_clear_error(value):
    try:
        parse_review(json.dumps(value).encode())
    except BadReview as exc:
        assert exc.status == 400 and str(exc)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parser_answers_any_bytes_with_a_review_or_a_clear_error(body):
    try:
        parse_review(body)
    except BadReview as exc:
        assert exc.status == 400 and str(exc)


annotation_values = st.text(max_size=40) | st.sampled_from(["", "..", "2.15.1", "latest", "/models/../x", "\x00", "enforce"])


@given(
    annotations=st.dictionaries(st.sampled_from(A.USER_ANNOTATIONS + (A.INJECT,)), annotation_values, max_size=6),
    kind=st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]),
    operation=st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
    spec=st.sampled_from([None, {}, {"containers": []}, {"containers": "x"}, {"containers": [{}]}, {"containers": [{"name": "a", "image": 3}]}]),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_annotations_and_shapes_get_an_answer_over_https(webhook, annotations, kind, operation, spec):
    obj = deployment(annotations=annotations)
    obj["kind"] = kind
    if spec is not None:
        obj["spec"]["template"]["spec"] = spec
    if kind == "CronJob":
        obj["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": obj["spec"]["template"]}}}
    review = admission_review(obj, operation=operation, old=obj if operation == "UPDATE" else None)
    for path in ("/validate", "/mutate"):
        with webhook.client() as client:
            resp = client.post(path, json=review)
        assert resp.status_code == 200, resp.text
        answer = resp.json()["response"]
        assert answer["uid"] == review["request"]["uid"]
        assert answer["allowed"] is True or answer["status"]["message"]


# --- structure, not only bytes: any field of a real review replaced by anything ---

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


def _reviews():
    from tfguard import annotations as A

    base = deployment(annotations={**MODEL, A.GPU: "required", A.CONTAINER: "server"})
    base["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "serving"},
               "spec": {"schedule": "* * * * *", "jobTemplate": {"metadata": {"annotations": dict(MODEL)},
                                                                   "spec": {"template": base["spec"]["template"]}}}}
    return [admission_review(base), admission_review(base, "UPDATE", old=deployment()),
            admission_review(pod(MODEL)), admission_review(cronjob)]


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_field_of_a_review_replaced_by_anything_gets_a_clear_answer_never_an_internal_error(webhook, data):
    import copy

    review = copy.deepcopy(data.draw(st.sampled_from(_reviews())))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(review) if p]
        review = _replace(review, data.draw(st.sampled_from(paths)), data.draw(json_values))
    for path in ("/validate/enforce", "/mutate/enforce"):
        resp = post(webhook, path, json.dumps(review))
        assert resp.status_code in (200, 400), resp.text
        if resp.status_code == 400:
            assert resp.json()["error"].startswith(("not an AdmissionReview", "body is not valid JSON"))
            continue
        answer = resp.json()["response"]
        assert "ADMISSION_INTERNAL_ERROR" not in json.dumps(answer), answer
        assert answer["allowed"] is True or answer["status"]["message"]
