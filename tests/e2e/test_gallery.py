"""Every example in examples/ does what examples/README.md says, in every mode, through the chart
installed with helm: on the real node (TFGUARD_NODE=1) the API server calls the webhook Pods through
their Service; without it, the chart's webhook.external.url reaches a webhook run here
(harness.gallery has the expectations). Admission is asked with a server-side dry run, so the table
costs no Pods; tests/e2e/test_node_pods.py runs the Pods."""

from __future__ import annotations

import pytest

from harness import gallery

pytestmark = [pytest.mark.cluster, pytest.mark.tf]


@pytest.mark.parametrize("mode", gallery.MODES)
@pytest.mark.parametrize("example", [e.name for e in gallery.EXAMPLES_LIST])
def test_example_behaves_as_described(gallery_release, example, mode):
    applied = gallery.apply_example(
        gallery_release.cp.kubectl, gallery.BY_NAME[example], gallery_release.mode_namespaces[mode], mode, dry_run=True
    )
    assert not applied.problems(), "\n".join(applied.problems()) + "\n" + gallery_release.log_tail("webhook")


def test_a_denial_tells_the_user_what_to_fix(gallery_release):
    applied = gallery.apply_example(
        gallery_release.cp.kubectl, gallery.BY_NAME["missing-op"], gallery_release.mode_namespaces["enforce"], "enforce"
    )
    assert not applied.allowed
    message = applied.stderr
    assert "admission webhook" in message and "denied the request" in message
    assert "DatasetFingerprint" in message  # the op TF 2.15.1 lacks, by name
    assert "Fix:" in message
