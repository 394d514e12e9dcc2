"""The path a user relies on, for real on a node: a controller creates the Pod, the webhook injects
the probe, the probe runs in the serving image, the kubelet reports, the operator learns, and the next
rollout is decided at admission.

The story (one namespace in `enforce` mode, the models of examples/ fetched by an init container):
  1. examples/missing-op's model (saved by TF 2.20, runs DatasetFingerprint) on acme/tf-serving:5.1,
     an in-house image tfguard has never seen (TF 2.15.1 inside): admitted with a STACK_UNKNOWN
     warning; the probe, run with the image's own TensorFlow, cannot load the model: Init:Error;
  2. the operator records what the image holds as an ImageStack keyed by the digest the kubelet reports;
  3. the next rollout of the same model on that image is denied at admission, naming the op;
  4. examples/loads' model on the same image is admitted and reaches Running.
"""

from __future__ import annotations

import json
import pytest

from harness import gallery, images
from harness.models import NEW_OP
from harness.tfenvs import OLD_TF

pytestmark = [pytest.mark.tf]

ACME = images.IN_HOUSE_IMAGE


def termination_report(status: dict) -> dict:
    """The probe's report as the kubelet put it in the init container's status (docs/probe.md: the
    compact summary the probe writes to its termination log)."""
    terminated = status["state"].get("terminated") or status["lastState"]["terminated"]
    return {"exitCode": terminated["exitCode"], **json.loads(terminated["message"])}


def failed_codes(report: dict) -> list[str]:
    return [f["code"] for f in report.get("failed") or []] + list(report.get("failed_more") or [])


def imagestack_for(cp, image: str):
    return gallery.image_stack_for(cp.get("imagestacks")["items"], image)


@pytest.fixture(scope="module")
def story(node, node_tfguard, models_image):
    cp = node.cp
    ns = node_tfguard.make_namespace("enforce", stem="story")
    profiles = gallery.model_profiles([gallery.BY_NAME["missing-op"], gallery.BY_NAME["loads"]])
    for text in profiles.values():
        gallery.apply_profile(cp.kubectl, ns, text)
    gallery.wait_for_profiles(cp.kubectl, ns, "enforce", [gallery.BY_NAME["missing-op"], gallery.BY_NAME["loads"]])
    facts: dict = {"ns": ns}

    broken = gallery.node_manifest(gallery.BY_NAME["missing-op"], models_image, image=ACME)
    facts["first_apply"] = gallery.apply_manifest(cp.kubectl, ns, broken)
    facts["broken_pod"], facts["broken_status"] = gallery.wait_for_pod_status(
        cp.kubectl, ns, "missing-op", ("Init:Error", "Init:CrashLoopBackOff"))
    facts["described"] = cp.kubectl("describe", "pod", facts["broken_pod"]["metadata"]["name"], "-n", ns).stdout

    facts["stack"] = cp.wait_for(lambda: imagestack_for(cp, ACME), timeout=120, interval=1,
                                 what=f"the operator's ImageStack for {ACME}")

    # The webhook learns the ImageStack through its watch: a server-side dry run says when.
    changed = json.loads(json.dumps(broken))
    changed["spec"]["template"]["metadata"]["annotations"]["rollout"] = "2"
    cp.wait_for(lambda: _dry_run_denied(cp, ns, changed), timeout=60, interval=1,
                what="the webhook to judge the image from its ImageStack")
    facts["rollout"] = cp.kubectl("rollout", "restart", "deployment/missing-op", "-n", ns, check=False)

    compatible = gallery.node_manifest(gallery.BY_NAME["loads"], models_image, image=ACME)
    facts["compatible_apply"] = gallery.apply_manifest(cp.kubectl, ns, compatible)
    facts["running_pod"], _ = gallery.wait_for_pod_status(cp.kubectl, ns, "loads", ("Running",))
    facts["server_log"] = gallery.wait_for_server(cp.kubectl, ns, facts["running_pod"]["metadata"]["name"])
    yield facts
    # What the operator learned is a cluster-wide fact: the next story starts from an unknown image again.
    cp.kubectl("delete", "imagestack", facts["stack"]["metadata"]["name"], "--ignore-not-found", check=False)
    # The failing Pod retries its probe (a TF import each time) until its namespace goes.
    cp.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
    node_tfguard.namespaces.remove(ns)


def _dry_run_denied(cp, ns, manifest) -> bool:
    done = cp.kubectl("apply", "-n", ns, "--dry-run=server", "-f", "-", input=json.dumps(manifest), check=False)
    return done.returncode != 0 and "denied the request" in done.stderr


def test_an_image_tfguard_has_never_seen_is_admitted_with_a_warning(story):
    first = story["first_apply"]
    assert first.returncode == 0, first.stderr
    assert "Warning: tfguard" in first.stderr and "STACK_UNKNOWN" in first.stderr


def test_the_probe_fails_in_the_serving_image_and_the_pod_stays_in_init_error(story):
    assert story["broken_status"] in ("Init:Error", "Init:CrashLoopBackOff")
    probe = gallery.init_container_status(story["broken_pod"], "tfguard-probe")
    report = termination_report(probe)
    assert report["exitCode"] == 1  # enforce: a failed check fails the init container
    assert report["status"] == "fail" and "PROBE_MISSING_OP" in failed_codes(report)
    assert report["stack"]["tensorflow_version"] == OLD_TF  # what the image really holds, found by the probe
    assert probe["image"].endswith(ACME)


def test_kubectl_describe_pod_shows_the_probes_report(story):
    text = story["described"]
    assert "tfguard-probe:" in text and "Terminated" in text
    assert NEW_OP in text  # the op TF 2.15.1 lacks, named in the termination message


def test_the_imagestack_is_keyed_by_the_digest_the_kubelet_reports(story, node):
    probe = gallery.init_container_status(story["broken_pod"], "tfguard-probe")
    assert probe["imageID"].startswith("docker.io/acme/tf-serving@sha256:")  # as a pull from a registry leaves it
    reported = probe["imageID"].split("@")[1]
    assert story["stack"]["spec"]["imageDigest"] == reported
    assert reported in node.image_id(ACME)  # what containerd's CRI says for that image
    assert story["stack"]["spec"]["stack"]["tensorflowVersion"] == OLD_TF
    # Found by the reference the Pod spec used as well as by the one the kubelet reports:
    assert ACME in story["stack"]["spec"]["references"]


def test_the_next_rollout_of_the_same_model_is_denied_at_admission(story):
    rollout = story["rollout"]
    assert rollout.returncode != 0
    assert "denied the request" in rollout.stderr
    assert NEW_OP in rollout.stderr and "OP_NOT_REGISTERED" in rollout.stderr


def test_a_compatible_model_on_the_same_image_reaches_running(story):
    assert story["compatible_apply"].returncode == 0, story["compatible_apply"].stderr
    assert "tfguard" not in story["compatible_apply"].stderr  # the image is known now: compatible, silent
    assert "serve.py: loaded" in story["server_log"]


def test_the_probe_runs_after_the_pods_own_init_containers(story):
    pod = story["running_pod"]
    names = [c["name"] for c in pod["spec"]["initContainers"]]
    assert names == ["fetch-model", "tfguard-probe-install", "tfguard-probe"]
    statuses = [gallery.init_container_status(pod, n)["state"]["terminated"] for n in names]
    assert [s["exitCode"] for s in statuses] == [0, 0, 0]
    started = [s["startedAt"] for s in statuses]
    finished = [s["finishedAt"] for s in statuses]
    assert finished[0] <= started[1] and finished[1] <= started[2]  # one after the other, in that order
    report = termination_report(gallery.init_container_status(pod, "tfguard-probe"))
    assert report["status"] == "pass" and not failed_codes(report)
    assert report["model"]["path"].endswith("models/loads/1")  # the model fetch-model brought was there, and loaded
    assert "PROBE_MODEL_NOT_CHECKED" not in [w["code"] for w in report.get("warnings") or []]


# (stack, the example whose model and loader meet the breakage, the probe's code): NumPy 2 breaks the
# import itself; Keras 3 over TF 2.15 breaks tf.keras, which only a Keras loader needs.
BROKEN = [("tf2.15-numpy2", "loads", "PROBE_NUMPY_ABI"), ("tf2.15-keras3", "keras2-on-keras3", "PROBE_TF_KERAS_BROKEN")]


@pytest.mark.parametrize("stack, example, code", BROKEN)
def test_a_broken_stack_is_found_by_the_probe_in_a_real_container(node, node_namespace, models_image, stack, example,
                                                                 code):
    cp = node.cp
    ns = node_namespace("enforce", stem="broken")
    image = images.broken_stack_image(stack).name
    manifest = gallery.node_manifest(gallery.BY_NAME[example], models_image, image=image, name="broken")
    assert gallery.apply_manifest(cp.kubectl, ns, manifest).returncode == 0
    pod, _ = gallery.wait_for_pod_status(cp.kubectl, ns, "broken", ("Init:Error", "Init:CrashLoopBackOff"),
                                         unexpected=("Running",))
    report = termination_report(gallery.init_container_status(pod, "tfguard-probe"))
    assert code in failed_codes(report)
