"""On the real control plane: a probe report written into a Pod status, as a kubelet would, becomes
an ImageStack and a ModelProfile, and the Deployment gets tfguard's annotations and an Event that
`kubectl describe deployment` shows. The operator runs as `tfguard operator run` in a subprocess."""

from __future__ import annotations

import json

import pytest

from tfguard.compat.resources import image_stack_name

from operator_helpers import (
    annotations_of,
    image_for,
    serving_deployment,
    tfguard_events,
    wait_for_pod,
    write_probe_status,
)

pytestmark = [pytest.mark.cluster, pytest.mark.tf]


def observed_image_stack(cp, name):
    """The ImageStack once the operator has written its status too (a second write after the create)."""
    out = cp.kubectl("get", "imagestack", name, "-o", "json", check=False).stdout
    stack = json.loads(out) if out else None
    return stack if stack and stack.get("status", {}).get("observedBy") else None


def deploy_and_probe(cp, namespace, name, tf_version, report, exit_code):
    image, digest = image_for(tf_version)
    cp.apply(serving_deployment(name, namespace, image))
    pod = wait_for_pod(cp, namespace, name)
    write_probe_status(cp, namespace, pod, image, digest, report, exit_code)
    return image, digest, pod


def test_a_passing_probe_verifies_the_image_and_profiles_the_model(operator, namespace, probe_reports, crds):
    cp = crds
    op = operator("--standalone")
    tf_version, report = probe_reports["verified"]
    image, digest, pod = deploy_and_probe(cp, namespace, "resnet", tf_version, report, 0)

    stack_name = image_stack_name(image, digest, namespace)
    stack = cp.wait_for(lambda: observed_image_stack(cp, stack_name), timeout=60, what="the ImageStack and its status")
    assert stack["spec"]["imageDigest"] == digest
    assert image in stack["spec"]["references"]
    assert stack["spec"]["stack"]["tensorflowVersion"] == tf_version
    assert stack["spec"]["stack"]["importOk"] is True
    assert stack["status"]["observedBy"]["name"] == pod
    assert stack["status"]["probeStatus"] == "pass"

    profiles = cp.wait_for(lambda: cp.get("modelprofiles", namespace=namespace)["items"], timeout=30,
                           what="a ModelProfile")
    profile = profiles[0]
    assert profile["spec"]["digest"].startswith("sha256:")
    assert profile["spec"]["opCount"] == len(profile["spec"]["ops"]) > 0
    assert "MatMul" in profile["spec"]["ops"]

    notes = cp.wait_for(lambda: (a := annotations_of(cp, namespace, "deployment", "resnet")).get("tfguard.io/verdict") and a,
                        timeout=30, what="the verdict annotation")
    assert notes["tfguard.io/verdict"] == "compatible", notes
    assert notes["tfguard.io/image-stack"] == stack_name
    assert notes["tfguard.io/observed-model-profile"] == profile["metadata"]["name"]
    assert notes["tfguard.io/checked-at"]
    events = cp.wait_for(lambda: tfguard_events(cp, namespace, "resnet"), timeout=30, what="an Event")
    assert [e["reason"] for e in events] == ["TFGuardVerified"], [(e["reason"], e["message"]) for e in events]

    described = cp.kubectl("describe", "deployment", "resnet", "-n", namespace).stdout
    print(described)
    assert "tfguard.io/verdict: compatible" in described
    assert "TFGuardVerified" in described

    listed = cp.kubectl("get", "imagestacks").stdout
    print(listed)
    assert stack_name in listed and tf_version in listed
    listed = cp.kubectl("get", "modelprofiles", "-n", namespace).stdout
    print(listed)
    assert profile["metadata"]["name"] in listed
    op.assert_running()


def test_a_failing_probe_marks_the_deployment_incompatible_with_the_missing_op(operator, namespace, probe_reports, crds):
    cp = crds
    op = operator("--standalone")
    tf_version, report = probe_reports["missing_op"]
    deploy_and_probe(cp, namespace, "newmodel", tf_version, report, 1)

    notes = cp.wait_for(lambda: (a := annotations_of(cp, namespace, "deployment", "newmodel")).get("tfguard.io/verdict") and a,
                        timeout=60, what="the verdict annotation")
    assert notes["tfguard.io/verdict"] == "incompatible", notes
    assert "probe failed" in notes["tfguard.io/reason"]
    events = cp.wait_for(lambda: tfguard_events(cp, namespace, "newmodel"), timeout=30, what="an Event")
    assert [e["reason"] for e in events] == ["TFGuardProbeFailed"]
    assert events[0]["type"] == "Warning"
    assert "DatasetFingerprint" in events[0]["message"] or "DatasetFingerprint" in report

    described = cp.kubectl("describe", "deployment", "newmodel", "-n", namespace).stdout
    print(described)
    assert "TFGuardProbeFailed" in described
    assert "kubectl logs" in described  # tells on-call where the full report is
    assert "Fix:" in described  # and what to do
    op.assert_running()


def test_a_statefulset_is_annotated_from_its_own_pods_probe(operator, namespace, probe_reports, crds):
    cp = crds
    op = operator("--standalone")
    tf_version, report = probe_reports["missing_op"]
    image, digest = image_for(tf_version)
    manifest = serving_deployment("ranker", namespace, image)
    manifest["kind"] = "StatefulSet"
    manifest["spec"]["serviceName"] = "ranker"
    cp.apply(manifest)
    pod = cp.wait_for(
        lambda: cp.kubectl("get", "pod", "ranker-0", "-n", namespace, check=False).returncode == 0 and "ranker-0",
        timeout=60, what="the StatefulSet's Pod",
    )
    write_probe_status(cp, namespace, pod, image, digest, report, 1)
    notes = cp.wait_for(lambda: (a := annotations_of(cp, namespace, "statefulset", "ranker")).get("tfguard.io/verdict") and a,
                        timeout=60, what="the verdict annotation")
    assert notes["tfguard.io/verdict"] == "incompatible"
    events = cp.wait_for(lambda: tfguard_events(cp, namespace, "ranker"), timeout=30, what="an Event")
    assert [e["reason"] for e in events] == ["TFGuardProbeFailed"]
    assert events[0]["involvedObject"]["kind"] == "StatefulSet"
    op.assert_running()
