"""Every example in examples/ does what examples/README.md says, in every mode, through the chart
installed with helm on a real API server (harness.gallery has the expectations)."""

from __future__ import annotations

import pytest

from harness import gallery

pytestmark = [pytest.mark.cluster, pytest.mark.tf]


@pytest.mark.parametrize("mode", gallery.MODES)
@pytest.mark.parametrize("example", [e.name for e in gallery.EXAMPLES_LIST])
def test_example_behaves_as_described(gallery_release, control_plane, example, mode):
    applied = gallery.apply_example(
        control_plane.kubectl, gallery.BY_NAME[example], gallery_release.mode_namespaces[mode], mode
    )
    assert not applied.problems(), "\n".join(applied.problems()) + "\n" + gallery_release.tfguard.log_tail("webhook")


def test_a_denial_tells_the_user_what_to_fix(gallery_release, control_plane):
    applied = gallery.apply_example(
        control_plane.kubectl, gallery.BY_NAME["missing-op"], gallery_release.mode_namespaces["enforce"], "enforce"
    )
    assert not applied.allowed
    message = applied.stderr
    assert "admission webhook" in message and "denied the request" in message
    assert "DatasetFingerprint" in message  # the op TF 2.15.1 lacks, by name
    assert "Fix:" in message


def test_admitted_pods_get_the_probe_injected(gallery_release, control_plane):
    ns = gallery_release.mode_namespaces["warn"]
    applied = gallery.apply_example(control_plane.kubectl, gallery.BY_NAME["loads"], ns, "warn")
    assert applied.allowed
    pod = gallery.pod_of(control_plane.kubectl, ns, "loads")
    init = [c["name"] for c in pod["spec"].get("initContainers") or []]
    assert init[-2:] == ["tfguard-probe-install", "tfguard-probe"]
    (probe,) = [c for c in pod["spec"]["initContainers"] if c["name"] == "tfguard-probe"]
    assert probe["image"] == "tensorflow/tensorflow:2.15.1"  # the serving container's own image


def test_the_probe_report_reaches_kubectl_describe(gallery_release, control_plane, tmp_path):
    """The kubelet's part is played by the test: it runs the real probe with TF 2.15.1 against the
    model that needs an op 2.15.1 lacks, and writes the report into the Pod status."""
    from harness.models import model_path
    from harness.tfenvs import NEW_TF, OLD_TF

    ns = gallery_release.mode_namespaces["audit"]
    assert gallery.apply_example(control_plane.kubectl, gallery.BY_NAME["missing-op"], ns, "audit").allowed
    pod = gallery.pod_of(control_plane.kubectl, ns, "missing-op")
    message, code = gallery.run_probe(OLD_TF, model_path("new_op_saved_model", NEW_TF), loader="saved_model",
                                      mode="audit", workdir=tmp_path)
    gallery.write_probe_status(control_plane.kubectl, ns, pod["metadata"]["name"], "tensorflow/tensorflow:2.15.1",
                               message, code)

    def described():
        text = control_plane.kubectl("describe", "deployment", "missing-op", "-n", ns).stdout
        return text if "tfguard.io/verdict" in text and "TFGuard" in text else None

    text = control_plane.wait_for(described, timeout=60, interval=0.5, what="tfguard's annotations and Events")
    assert "tfguard.io/verdict: incompatible" in text
    assert "DatasetFingerprint" in text or "PROBE_MISSING_OP" in text
