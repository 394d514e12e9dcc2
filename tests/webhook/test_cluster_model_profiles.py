"""Issue 8, the webhook's side, on the real control plane with real models saved by TF 2.20:
a ModelProfile from `tfguard inspect` decides at admission time with op-level precision."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tfguard import annotations as A
from harness.models import NEW_OP, model_path
from harness.tfenvs import NEW_TF

from webhook_documents import deployment_yaml

pytestmark = pytest.mark.tf

IMAGE = "tensorflow/tensorflow:2.15.1"  # the catalog knows it: TF 2.15.1, which lacks NEW_OP


def apply_profile(control_plane, namespace, model: str, name: str) -> None:
    inspected = subprocess.run(
        [sys.executable, "-m", "tfguard.cli", "inspect", str(model_path(model, NEW_TF)), "--profile", name,
         "--namespace", namespace],
        capture_output=True, text=True, check=True,
    )
    control_plane.kubectl("apply", "-f", "-", input=inspected.stdout)  # `tfguard inspect ... | kubectl apply -f -`


@pytest.fixture
def enforcing(control_plane, namespace, cluster_webhook):
    hook = cluster_webhook("enforce")
    apply_profile(control_plane, namespace, "new_op_saved_model", "new-op")
    apply_profile(control_plane, namespace, "plain_saved_model", "plain")
    control_plane.wait_for(
        lambda: hook.store.profile(namespace, "new-op") and hook.store.profile(namespace, "plain"),
        what="profiles cached by the webhook",
    )
    probe = deployment_yaml(namespace, "registration-check", {A.MODEL_PROFILE: "new-op"}, IMAGE)
    control_plane.wait_for(
        lambda: control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=probe, check=False).returncode != 0,
        what="webhook registered",
    )
    return hook


def test_a_profile_with_an_op_the_image_lacks_is_denied_with_the_op_named(control_plane, namespace, enforcing):
    manifest = deployment_yaml(namespace, "new-op", {A.MODEL_PROFILE: "new-op", A.MODEL_LOADER: "saved_model"}, IMAGE)
    result = control_plane.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert "[OP_NOT_REGISTERED]" in result.stderr and NEW_OP in result.stderr


def test_the_same_model_by_version_annotation_alone_gets_a_warning_not_a_denial(control_plane, namespace, enforcing):
    manifest = deployment_yaml(namespace, "by-version", {A.MODEL_PRODUCER_VERSION: NEW_TF}, IMAGE)
    result = control_plane.kubectl("apply", "-f", "-", input=manifest)
    assert "Warning: tfguard: risky" in result.stderr


def test_a_newer_model_whose_ops_all_exist_in_the_image_is_admitted(control_plane, namespace, enforcing):
    manifest = deployment_yaml(namespace, "plain", {A.MODEL_PROFILE: "plain", A.MODEL_LOADER: "saved_model"}, IMAGE)
    result = control_plane.kubectl("apply", "-f", "-", input=manifest)
    assert "created" in result.stdout
    assert "Warning: tfguard: incompatible" not in result.stderr
