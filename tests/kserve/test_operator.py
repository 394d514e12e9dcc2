"""The operator on InferenceServices, on the real control plane with KServe's CRDs (no KServe
controller): the verdict of each InferenceService's predictor becomes Events on the
InferenceService (what `kubectl describe isvc` shows) and a PolicyReport result; a changed runtime
or runtimeVersion re-judges it; the probe in a predictor Pod (found by KServe's label) overrides
the static verdict; annotations only when asked for, since KServe copies them into the predictor."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import yaml

from tfguard import annotations as A
from tfguard.compat.resources import model_profile_resource

from .conftest import REPO
from .documents import TF_SERVING_RUNTIME, TRITON_RUNTIME, isvc_model, isvc_tensorflow, serving_runtime
from .test_cluster import NEW_OP_MODEL

pytestmark = pytest.mark.cluster
WAIT = 300  # the operator starts, lists everything and judges: minutes on a loaded machine


def events_on(cp, namespace: str, name: str) -> list[dict]:
    items = cp.get("events", namespace=namespace).get("items", [])
    return [e for e in items if e.get("involvedObject", {}).get("kind") == "InferenceService"
            and e["involvedObject"].get("name") == name and (e.get("reason") or "").startswith("TFGuard")]


def wait_for_event(cp, op, namespace: str, name: str, reason: str) -> dict:
    def found():
        op.assert_running()
        return next((e for e in events_on(cp, namespace, name) if e["reason"] == reason), None)

    return cp.wait_for(found, timeout=WAIT, interval=1, what=f"Event {reason} on InferenceService {name}\n{op.output()}")


def profile(cp, namespace: str) -> None:
    cp.kubectl("apply", "-n", namespace, "-f", "-",
               input=json.dumps(model_profile_resource(NEW_OP_MODEL, "flowers", namespace=namespace)))


@pytest.fixture(scope="module")
def policy_report_crd(kserve_crds):
    cp = kserve_crds
    rendered = cp.helm("template", "tfguard", str(REPO / "charts" / "tfguard"), "--show-only", "templates/policyreport-crd.yaml").stdout
    cp.kubectl("apply", "-f", "-", input=rendered)
    cp.kubectl("wait", "--for=condition=Established", "crd/policyreports.wgpolicyk8s.io", "--timeout=60s")
    return cp


def test_kubectl_describe_isvc_shows_the_verdict_and_a_new_runtime_version_revises_it(
        kserve_operator, policy_report_crd, namespace):
    cp = policy_report_crd
    cp.apply([TF_SERVING_RUNTIME, TRITON_RUNTIME])
    profile(cp, namespace)
    op = kserve_operator()
    cp.apply(isvc_tensorflow(namespace=namespace, runtime_version="2.6.2"))

    event = wait_for_event(cp, op, namespace, "flowers", "TFGuardIncompatible")
    assert event["type"] == "Warning"
    assert event["involvedObject"]["apiVersion"] == "serving.kserve.io/v1beta1"
    for words in ("tensorflow/serving:2.6.2", "ClusterServingRuntime kserve-tensorflow-serving", "OP_NOT_REGISTERED",
                  "DatasetFingerprint", "Fix:"):
        assert words in event["message"], event["message"]
    described = cp.kubectl("describe", "inferenceservice", "flowers", "-n", namespace).stdout
    print(described)
    assert "TFGuardIncompatible" in described and "DatasetFingerprint" in described
    # KServe copies an InferenceService's annotations into its predictor's pods: none written by default.
    notes = cp.get("inferenceservice", "flowers", namespace)["metadata"]["annotations"]
    assert A.VERDICT not in notes and A.REASON not in notes

    report = cp.wait_for(lambda: next((r for r in cp.get("policyreports", namespace=namespace).get("items", [])
                                       for r in r.get("results", []) if r["resources"][0]["kind"] == "InferenceService"),
                                      None), timeout=WAIT, interval=1, what="the PolicyReport result")
    assert (report["result"], report["rule"]) == ("fail", "OP_NOT_REGISTERED")
    assert report["resources"][0]["apiVersion"] == "serving.kserve.io/v1beta1"

    # A runtimeVersion whose TF registers every op the model uses.
    cp.kubectl("patch", "inferenceservice", "flowers", "-n", namespace, "--type=merge",
               "-p", json.dumps({"spec": {"predictor": {"tensorflow": {"runtimeVersion": "2.20.0"}}}}))
    event = wait_for_event(cp, op, namespace, "flowers", "TFGuardCompatible")
    assert "tensorflow/serving:2.20.0" in event["message"]
    op.assert_running()


def test_a_changed_serving_runtime_image_rejudges_the_inference_services_it_serves(kserve_operator, kserve_crds, namespace):
    cp = kserve_crds
    cp.apply([TF_SERVING_RUNTIME, TRITON_RUNTIME])
    profile(cp, namespace)
    cp.apply(serving_runtime("team-tfs", namespace, "tensorflow/serving:2.6.2", priority=5))
    op = kserve_operator()
    cp.apply(isvc_model(name="ranker", namespace=namespace, version="2"))  # auto-selects team-tfs
    event = wait_for_event(cp, op, namespace, "ranker", "TFGuardIncompatible")
    assert "ServingRuntime team-tfs" in event["message"] and "tensorflow/serving:2.6.2" in event["message"]

    cp.kubectl("patch", "servingruntime", "team-tfs", "-n", namespace, "--type=json", "-p",
               json.dumps([{"op": "replace", "path": "/spec/containers/0/image", "value": "tensorflow/serving:2.20.0"}]))
    event = wait_for_event(cp, op, namespace, "ranker", "TFGuardCompatible")
    assert "ServingRuntime team-tfs" in event["message"] and "tensorflow/serving:2.20.0" in event["message"]
    op.assert_running()


def test_with_annotate_inference_services_the_verdict_annotations_are_written_and_removed(
        kserve_operator, kserve_crds, namespace):
    cp = kserve_crds
    cp.apply([TF_SERVING_RUNTIME, TRITON_RUNTIME])
    profile(cp, namespace)
    op = kserve_operator("--annotate-inference-services")
    cp.apply(isvc_tensorflow(namespace=namespace, runtime_version="2.6.2"))

    def annotated():
        op.assert_running()
        notes = cp.get("inferenceservice", "flowers", namespace)["metadata"].get("annotations") or {}
        return notes if notes.get(A.VERDICT) else None

    notes = cp.wait_for(annotated, timeout=WAIT, interval=1, what=f"the verdict annotation\n{op.output()}")
    assert notes[A.VERDICT] == "incompatible" and "OP_NOT_REGISTERED" in notes[A.REASON]
    assert notes[A.IMAGE_STACK].startswith("catalog: TF 2.6") and notes[A.CHECKED_AT]
    assert [e["reason"] for e in events_on(cp, namespace, "flowers")] == ["TFGuardIncompatible"]

    # The user's annotation gone: tfguard's go too.
    cp.kubectl("annotate", "inferenceservice", "flowers", "-n", namespace, f"{A.MODEL_PROFILE}-")
    cp.wait_for(lambda: A.VERDICT not in (cp.get("inferenceservice", "flowers", namespace)["metadata"].get("annotations")
                                          or {}), timeout=WAIT, interval=1, what="the verdict annotation removed")
    op.assert_running()


def real_probe_report(tmp_path) -> str:
    """The termination message of the real probe: TF 2.15.1 loading a model TF 2.20.0 saved with an op
    2.15.1 lacks (what a kubelet would put into the Pod status)."""
    from harness.models import model_path
    from harness.tfenvs import NEW_TF, OLD_TF, tf_python
    from tfguard.probes import probe as probe_module

    log = tmp_path / "termination-log"
    done = subprocess.run([str(tf_python(OLD_TF)), probe_module.__file__, "--model",
                           str(model_path("new_op_saved_model", NEW_TF)), "--gpu", "none", "--loader", "serving",
                           "--mode", "enforce", "--termination-log", str(log)], capture_output=True, text=True,
                          timeout=1800)
    assert log.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    return log.read_text()


def injected_spec(image: str) -> dict:
    """A predictor pod with the probe exactly as tfguard's mutating webhook injects it (the operator
    takes reports from no other)."""
    from tfguard.settings import Injection
    from tfguard.workload.injection import PROBE_VOLUME, install_container, probe_container

    serving = {"name": "kserve-container", "image": image}
    defaults = Injection()
    spec = {"containers": [serving]}
    return {**spec, "volumes": [PROBE_VOLUME], "initContainers": [
        install_container(defaults.probe_image, defaults.probe_install_command, spec),
        probe_container(serving, "/mnt/models", None, "serving", "none", "enforce")]}


@pytest.mark.tf
def test_a_failed_probe_in_a_predictor_pod_is_reported_on_its_inference_service(kserve_operator, kserve_crds,
                                                                                  namespace, tmp_path):
    from harness.tfenvs import OLD_TF

    cp = kserve_crds
    cp.apply([TF_SERVING_RUNTIME, TRITON_RUNTIME])
    profile(cp, namespace)
    report = real_probe_report(tmp_path)
    op = kserve_operator()
    cp.apply(isvc_tensorflow(namespace=namespace, runtime_version=OLD_TF))
    wait_for_event(cp, op, namespace, "flowers", "TFGuardIncompatible")

    image = f"tensorflow/serving:{OLD_TF}"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": f"flowers-predictor-{uuid.uuid4().hex[:5]}", "namespace": namespace,
                        "labels": {"serving.kserve.io/inferenceservice": "flowers", "component": "predictor"}},
           "spec": injected_spec(image)}
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(pod))
    cp.set_pod_status(namespace, pod["metadata"]["name"], {
        "phase": "Pending",
        "initContainerStatuses": [{
            "name": A.PROBE_CONTAINER, "image": image, "imageID": f"docker.io/tensorflow/serving@sha256:{'ab' * 32}",
            "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 1, "reason": "Error", "message": report,
                                     "startedAt": "2030-01-01T00:00:00Z", "finishedAt": "2030-01-01T00:00:01Z"}}}],
    })
    event = wait_for_event(cp, op, namespace, "flowers", "TFGuardProbeFailed")
    assert pod["metadata"]["name"] in event["message"] and "kubectl logs" in event["message"]
    op.assert_running()
