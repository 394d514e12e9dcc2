"""POST /validate judges the pod template of pod controllers and admits, warns or denies by mode."""

from __future__ import annotations

import pytest

from tfguard import annotations as A
from tfguard.compat.facts import ModelFacts, StackFacts
from tfguard.compat.resources import image_stack_resource, model_profile_resource
from tfguard.workload.store import FactStore

from webhook_documents import MODEL, admission_review, deployment, pod_spec

IMAGE = "registry.example/ml/tf-server:2.15"
DIGEST = "sha256:" + "ab" * 32
# A graph that demands a newer GraphDef consumer than any TensorFlow has: no runtime loads it.
UNLOADABLE = ModelFacts(
    path="/models/future/1", format="saved_model", tensorflow_version="2.15.1",
    graph_producer=1645, graph_min_consumer=10**6, ops=["Const", "Identity"], source="inspect",
)
LOADABLE = ModelFacts(
    path="/models/resnet/1", format="saved_model", tensorflow_version="2.15.1",
    graph_producer=1645, graph_min_consumer=0, ops=["Const", "Identity"], source="inspect",
)

# A .keras file of a subclassed model whose class was not registered with Keras when it was saved.
SUBCLASSED = ModelFacts(
    path="/models/sub.keras", format="keras_v3", keras_format="keras_v3", keras_version="2.15.0",
    keras_classes={"my_models:Tiny": ["name"]}, keras_modules=["my_models"],
    keras_custom_classes={"my_models:Tiny": "Tiny"}, source="inspect",
)


@pytest.fixture
def store() -> FactStore:
    store = FactStore()
    stack = image_stack_resource(
        StackFacts(image=IMAGE, image_digest=DIGEST, source="probe", tensorflow_version="2.15.1",
                   tf_keras_major=2, python_version="3.11.7", import_ok=True),
        references=[IMAGE],
    )
    store.put_stack(stack)
    for name, facts in (("future", UNLOADABLE), ("resnet", LOADABLE), ("subclassed", SUBCLASSED)):
        store.put_profile(model_profile_resource(facts, name, namespace="serving"))
    return store


@pytest.fixture
def hook(start_webhook, store):
    return start_webhook(store)


def judged(hook, obj, mode="warn", **review):
    with hook.client() as client:
        resp = client.post(f"/validate/{mode}", json=(r := admission_review(obj, **review)))
    assert resp.status_code == 200, resp.text
    answer = resp.json()["response"]
    assert answer["uid"] == r["request"]["uid"]
    return answer


def unloadable(**extra):
    return deployment(annotations={A.MODEL_PROFILE: "future", **extra}, spec=pod_spec(IMAGE))


def test_enforce_denies_an_incompatible_model_with_a_message_a_person_can_act_on(hook):
    answer = judged(hook, unloadable(), "enforce")
    assert answer["allowed"] is False
    message = answer["status"]["message"]
    assert answer["status"]["code"] == 403
    assert "future" in message and IMAGE in message and "TF 2.15.1" in message
    assert "[GRAPH_MIN_CONSUMER]" in message and "Fix:" in message
    assert answer["auditAnnotations"]["verdict"] == "incompatible"
    assert "GRAPH_MIN_CONSUMER" in answer["auditAnnotations"]["codes"]


def test_warn_admits_an_incompatible_model_with_warnings(hook):
    answer = judged(hook, unloadable(), "warn")
    assert answer["allowed"] is True
    assert any("GRAPH_MIN_CONSUMER" in w for w in answer["warnings"])
    assert answer["warnings"][0].startswith("tfguard: incompatible")
    assert all(len(w) <= 256 for w in answer["warnings"])


def test_audit_admits_silently_but_records_the_verdict(hook):
    answer = judged(hook, unloadable(), "audit")
    assert answer["allowed"] is True and "warnings" not in answer
    assert answer["auditAnnotations"]["verdict"] == "incompatible"
    assert answer["auditAnnotations"]["mode"] == "audit"


def test_bare_validate_uses_the_default_mode(start_webhook, store):
    hook = start_webhook(store, default_mode="enforce")
    with hook.client() as client:
        answer = client.post("/validate", json=admission_review(unloadable())).json()["response"]
    assert answer["allowed"] is False


def test_object_annotation_may_make_the_mode_stricter_but_not_weaker(hook):
    assert judged(hook, unloadable(**{A.MODE: "enforce"}), "warn")["allowed"] is False
    assert judged(hook, unloadable(**{A.MODE: "audit"}), "enforce")["allowed"] is False


def test_a_compatible_model_is_admitted_without_warnings(hook):
    obj = deployment(annotations={A.MODEL_PROFILE: "resnet"}, spec=pod_spec(IMAGE))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True and "warnings" not in answer
    assert answer["auditAnnotations"]["verdict"] == "compatible"
    assert answer["auditAnnotations"]["stack-source"] == "probe"
    assert answer["auditAnnotations"]["model-source"] == "profile"


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"])
def test_every_pod_controller_is_judged_by_its_pod_template(hook, kind):
    obj = unloadable()
    obj["kind"] = kind
    if kind == "CronJob":
        obj["spec"] = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": obj["spec"]["template"]}}}
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is False and "[GRAPH_MIN_CONSUMER]" in answer["status"]["message"]


def test_annotations_on_the_pod_template_count_too(hook):
    obj = deployment(template_annotations={A.MODEL_PROFILE: "future"}, spec=pod_spec(IMAGE))
    assert judged(hook, obj, "enforce")["allowed"] is False


def test_image_referenced_by_digest_finds_the_probed_stack(hook):
    obj = deployment(annotations={A.MODEL_PROFILE: "future"}, spec=pod_spec(f"registry.example/ml/other@{DIGEST}"))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is False
    assert answer["auditAnnotations"]["stack-source"] == "probe"


def test_probed_stack_wins_over_a_declared_version(hook):
    obj = unloadable(**{A.IMAGE_TENSORFLOW_VERSION: "2.20.0"})
    answer = judged(hook, obj, "enforce")
    assert answer["auditAnnotations"]["stack-source"] == "probe"


def test_unknown_image_is_a_warning_even_in_enforce_mode(hook):
    obj = deployment(annotations=MODEL, spec=pod_spec("registry.example/in-house/server:7"))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True
    assert answer["auditAnnotations"]["verdict"] in ("unknown", "risky")
    assert answer["warnings"]


def test_a_missing_profile_never_blocks_it_falls_back_to_annotations_and_says_so(hook):
    obj = deployment(annotations={A.MODEL_PROFILE: "nobody-made-this", A.MODEL_PRODUCER_VERSION: "2.15.1"},
                     spec=pod_spec(IMAGE))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True
    assert any("ADMISSION_PROFILE_MISSING" in w for w in answer["warnings"])
    assert answer["auditAnnotations"]["model-source"] == "annotation"


def test_a_stale_profile_is_set_aside_with_a_warning(hook):
    obj = unloadable(**{A.MODEL_PRODUCER_VERSION: "2.12.0"})
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True
    assert any("ADMISSION_PROFILE_STALE" in w for w in answer["warnings"])


def test_nonsense_versions_are_a_finding_not_an_error(hook):
    obj = deployment(annotations={**MODEL, A.MODEL_PRODUCER_VERSION: "banana"}, spec=pod_spec(IMAGE))
    answer = judged(hook, obj, "warn")
    assert answer["allowed"] is True
    assert any("ADMISSION_BAD_ANNOTATION" in w and "banana" in w for w in answer["warnings"])


def test_objects_without_tfguard_annotations_are_admitted_silently(hook):
    answer = judged(hook, deployment(spec=pod_spec(IMAGE)), "enforce")
    assert answer["allowed"] is True and "warnings" not in answer
    assert answer["auditAnnotations"]["verdict"] == "skipped"


def test_an_update_that_leaves_the_template_alone_is_not_judged_again(hook):
    old = unloadable()
    new = unloadable()
    new["spec"]["replicas"] = 5
    answer = judged(hook, new, "enforce", operation="UPDATE", old=old)
    assert answer["allowed"] is True and answer["auditAnnotations"]["verdict"] == "unchanged"


def test_an_update_that_changes_the_image_is_judged(hook):
    old = deployment(annotations={A.MODEL_PROFILE: "future"}, spec=pod_spec("registry.example/ml/tf-server:old"))
    answer = judged(hook, unloadable(), "enforce", operation="UPDATE", old=old)
    assert answer["allowed"] is False


def test_dry_run_gets_the_same_answer(hook):
    assert judged(hook, unloadable(), "enforce", dry_run=True)["allowed"] is False


def test_namespaces_of_the_cluster_and_of_tfguard_are_never_judged(hook):
    for namespace in ("kube-system", hook.settings.namespace):
        obj = unloadable()
        obj["metadata"]["namespace"] = namespace
        answer = judged(hook, obj, "enforce")
        assert answer["allowed"] is True and answer["auditAnnotations"]["verdict"] == "skipped"


def test_the_operator_writing_its_status_annotations_is_not_judged_again(hook):
    old = unloadable()
    new = unloadable(**{A.VERDICT: "incompatible", A.REASON: "GRAPH_MIN_CONSUMER"})
    answer = judged(hook, new, "enforce", operation="UPDATE", old=old)
    assert answer["allowed"] is True and answer["auditAnnotations"]["verdict"] == "unchanged"


def test_the_profile_the_operator_observed_is_used_when_the_object_names_none(hook):
    obj = deployment(annotations={A.MODEL_PATH: "/models/future/1", A.OBSERVED_MODEL_PROFILE: "future"},
                     spec=pod_spec(IMAGE))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is False and answer["auditAnnotations"]["model-source"] == "profile"


# --- better facts win over annotations; what the annotations get wrong is said ---


def test_a_declared_version_never_overrides_the_catalog_and_the_disagreement_is_a_finding(hook):
    obj = deployment(annotations={**MODEL, A.IMAGE_TENSORFLOW_VERSION: "2.12.0"}, spec=pod_spec("tensorflow/tensorflow:2.15.1"))
    answer = judged(hook, obj, "warn")
    assert answer["auditAnnotations"]["stack-source"] == "catalog"
    assert any("ADMISSION_DECLARED_STACK_CONTRADICTED" in w and "2.15.1" in w for w in answer["warnings"])


def test_a_declared_version_never_overrides_a_probed_stack(hook):
    answer = judged(hook, unloadable(**{A.IMAGE_TENSORFLOW_VERSION: "2.20.0"}), "enforce")
    assert answer["allowed"] is False and answer["auditAnnotations"]["stack-source"] == "probe"
    assert "ADMISSION_DECLARED_STACK_CONTRADICTED" in answer["auditAnnotations"]["codes"]


def test_a_declared_version_that_agrees_is_no_finding(hook):
    obj = deployment(annotations={**MODEL, A.IMAGE_TENSORFLOW_VERSION: "2.15"}, spec=pod_spec("tensorflow/tensorflow:2.15.1"))
    assert "ADMISSION_DECLARED_STACK_CONTRADICTED" not in judged(hook, obj, "warn")["auditAnnotations"].get("codes", "")


def test_gpu_none_on_a_container_that_requests_gpus_is_a_finding(hook):
    spec = pod_spec("tensorflow/tensorflow:2.15.1", resources={"limits": {"nvidia.com/gpu": "1"}})
    answer = judged(hook, deployment(annotations={**MODEL, A.GPU: "none"}, spec=spec), "warn")
    assert any("ADMISSION_GPU_DECLARED_NONE" in w for w in answer["warnings"])


def test_a_mig_slice_is_a_gpu_request(hook):
    spec = pod_spec("tensorflow/tensorflow:2.15.1", resources={"limits": {"nvidia.com/mig-1g.5gb": 1}})
    answer = judged(hook, deployment(annotations={**MODEL, A.GPU: "none"}, spec=spec), "warn")
    assert any("ADMISSION_GPU_DECLARED_NONE" in w and "nvidia.com/mig-1g.5gb" in w for w in answer["warnings"])
    # and without the annotation the GPU is required of the image: a CPU-only build is an error
    answer = judged(hook, deployment(annotations=MODEL, spec=spec), "enforce")
    assert answer["allowed"] is False


def test_a_misspelled_annotation_is_a_warning_that_names_the_right_one(hook):
    answer = judged(hook, deployment(annotations={**MODEL, "tfguard.io/model-pth": "/models/x"}, spec=pod_spec(IMAGE)), "warn")
    assert any("ADMISSION_UNKNOWN_ANNOTATION" in w and "tfguard.io/model-path" in w for w in answer["warnings"])
    # an object with nothing but a typo is not judged, and says why
    answer = judged(hook, deployment(annotations={"tfguard.io/model-profle": "future"}, spec=pod_spec(IMAGE)), "enforce")
    assert answer["allowed"] is True and answer["auditAnnotations"]["verdict"] == "skipped"
    assert any("tfguard.io/model-profile" in w for w in answer["warnings"])


# --- every path to a Pod ---


def bare_pod(**annotations):
    from webhook_documents import pod

    obj = pod({A.MODEL_PROFILE: "future", **annotations}, spec=pod_spec(IMAGE))
    obj["metadata"]["name"] = "bare"
    return obj


def test_an_incompatible_bare_pod_is_denied_in_enforce(hook):
    answer = judged(hook, bare_pod(), "enforce")
    assert answer["allowed"] is False and "tfguard denied Pod bare" in answer["status"]["message"]


def test_a_pod_its_controller_made_is_judged_at_the_controller(hook):
    obj = bare_pod()
    obj["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u",
                                           "controller": True}]
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True and answer["auditAnnotations"]["judged-at"] == "controller"


def test_a_pod_update_that_changes_an_image_in_place_is_judged(hook):
    old = bare_pod()
    old["spec"]["containers"][0]["image"] = "registry.example/ml/tf-server:old"
    new = bare_pod()
    new["status"] = {"phase": "Running"}
    assert judged(hook, new, "enforce", operation="UPDATE", old=old)["allowed"] is False
    relabelled = bare_pod()
    relabelled["metadata"]["labels"] = {"x": "y"}
    assert judged(hook, relabelled, "enforce", operation="UPDATE", old=bare_pod())["auditAnnotations"]["verdict"] == "unchanged"


def test_a_replication_controller_is_judged_like_a_replica_set(hook):
    obj = unloadable()
    obj["kind"], obj["apiVersion"] = "ReplicationController", "v1"
    assert judged(hook, obj, "enforce")["allowed"] is False


# --- objects that fail tfguard's model of them ---


def test_annotations_as_a_list_are_denied_in_enforce_with_the_field_named(hook):
    obj = unloadable()
    obj["spec"]["template"]["metadata"]["annotations"] = ["tfguard.io/model-profile=future"]
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is False and answer["status"]["code"] == 400
    assert "spec.template.metadata.annotations: expected a map of strings, got a list" in answer["status"]["message"]
    warned = judged(hook, obj, "warn")
    assert warned["allowed"] is True and any("ADMISSION_MALFORMED_OBJECT" in w for w in warned["warnings"])


def test_resources_of_the_wrong_type_are_a_clear_answer_not_an_internal_error(hook):
    obj = unloadable()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": ["nvidia.com/gpu"]}
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is False and "resources.limits: expected an object, got a list" in answer["status"]["message"]
    assert "ADMISSION_INTERNAL_ERROR" not in answer["auditAnnotations"].get("codes", "")


def test_workloads_naming_the_same_profile_on_the_same_image_share_one_evaluation(store, monkeypatch):
    from tfguard.compat import verdict as engine
    from tfguard.webhook.models import AdmissionRequest
    from tfguard.webhook.validate import VerdictMemo, validate

    calls = []
    real = engine.evaluate
    monkeypatch.setattr(engine, "evaluate", lambda *a, **k: calls.append(a[0].source) or real(*a, **k))
    memo = VerdictMemo()

    def judge(container: str, profile: str = "future") -> str:
        spec = pod_spec(IMAGE)
        spec["containers"][0]["name"] = container
        obj = deployment(name=container, annotations={A.MODEL_PROFILE: profile}, spec=spec)
        return validate(AdmissionRequest(**admission_review(obj)["request"]), "warn", store, memo).verdict

    assert [judge(f"team-{i}") for i in range(3)] == ["incompatible"] * 3
    assert calls == ["profile"]  # distinct workloads (no request-level hit), one evaluation
    assert judge("team-3", profile="resnet") == "compatible" and len(calls) == 2
    store.put_profile(model_profile_resource(LOADABLE, "future", namespace="serving"))
    assert judge("team-4") == "compatible" and len(calls) == 3  # new facts, judged afresh


def test_the_memo_charges_itself_for_verdicts_not_for_the_profiles_the_store_holds(store):
    from tfguard.webhook.models import AdmissionRequest
    from tfguard.webhook.validate import VerdictMemo, validate
    from tfguard.workload.memo import approximate_size

    from tfguard.compat.releases import release

    tf = release("2.15.1")  # a profile of every op the release registers: it loads, the verdict is short
    ops = sorted(op for op in tf.ops if tf.has_kernel(op, "CPU"))
    big = ModelFacts(path="/models/big/1", format="saved_model", tensorflow_version="2.15.1", graph_producer=1645,
                     graph_min_consumer=0, ops=ops, op_attrs={op: sorted(tf.op_attrs[op]) for op in ops}, source="inspect")
    store.put_profile(model_profile_resource(big, "big", namespace="serving"))
    memo = VerdictMemo()
    obj = deployment(annotations={A.MODEL_PROFILE: "big"}, spec=pod_spec(IMAGE))
    validate(AdmissionRequest(**admission_review(obj)["request"]), "warn", store, memo)
    assert len(memo) == 1
    assert memo.bytes < approximate_size(store.profile("serving", "big")) / 20


def test_what_the_server_imports_decides_whether_unregistered_keras_classes_block(hook):
    def subclassed(**extra):
        return deployment(annotations={A.MODEL_PROFILE: "subclassed", A.MODEL_LOADER: "keras", **extra},
                          spec=pod_spec(IMAGE))

    unknown = judged(hook, subclassed(), "enforce")
    assert unknown["allowed"] is True and any("KERAS_CUSTOM_CLASS_NOT_REGISTERED" in w for w in unknown["warnings"])
    declared = judged(hook, subclassed(**{A.MODEL_IMPORTS: "my_models"}), "enforce")
    assert declared["allowed"] is False and "KERAS_CUSTOM_CLASS_NOT_REGISTERED" in declared["status"]["message"]


def test_a_bad_model_imports_annotation_is_a_finding_and_judged_as_not_known(hook):
    obj = deployment(annotations={A.MODEL_PROFILE: "subclassed", A.MODEL_IMPORTS: "my models;rm -rf"},
                     spec=pod_spec(IMAGE))
    answer = judged(hook, obj, "enforce")
    assert answer["allowed"] is True and any(A.MODEL_IMPORTS in w for w in answer["warnings"])
