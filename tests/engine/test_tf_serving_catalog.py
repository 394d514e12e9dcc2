"""Every tensorflow/serving tag: the TF release it is built from and its GPU build, from the
release notes kept in tfguard/compat/data/tf_serving.json."""

from __future__ import annotations

import pytest

from tfguard.compat import catalog
from tfguard.compat.verdict import evaluate
from tfguard.compat.facts import ModelFacts


@pytest.mark.parametrize(
    "tag, tf, cuda_build, cuda",
    [
        ("2.6.2", "2.6.2", False, None),  # KServe's default runtime image: not in the notes, same-number rule
        ("2.15.1", "2.15.1", False, None),
        ("2.15.1-gpu", "2.15.1", True, "12.2"),
        ("2.15.1-devel-gpu", "2.15.1", True, "12.2"),
        ("2.14.1-gpu", "2.14.1", True, "11.8"),
        ("2.11.1-gpu", "2.11.1", True, "11.2"),
        ("2.4.0-gpu", "2.4.0", True, "11.0"),
        ("2.3.0-gpu", "2.3.0", True, "10.1"),
        ("1.15.0-gpu", "1.15.0", True, "10.0"),
        ("1.12.0-gpu", "1.12.0", True, "9.0"),
        ("2.17.1-gpu", "2.17.1", True, "12.3"),
        ("2.18.0-gpu", "2.18.0", True, "12.5"),
        # the notes say these were built from another patch release than their own number
        ("2.5.2", "2.5.1", False, None),
        ("2.5.4", "2.5.3", False, None),
        ("2.9.1-gpu", "2.9.0", True, "11.2"),
        ("2.12.2", "2.12.1", False, None),
        ("2.18.0-rc0", "2.18.0rc2", False, None),
        ("2.18.0-rc0-gpu", "2.18.0rc2", True, "12.5"),
    ],
)
def test_serving_tags_name_their_tf_release_and_cuda(tag, tf, cuda_build, cuda):
    stack = catalog.lookup(f"tensorflow/serving:{tag}")
    assert (stack.source, stack.tensorflow_version, stack.cuda_build, stack.cuda_version) == ("catalog", tf, cuda_build, cuda)
    assert stack.loaders == ["serving"]


@pytest.mark.parametrize("tag", ["latest", "latest-gpu", "latest-devel", "latest-devel-gpu", "nightly", "nightly-gpu",
                                 "nightly-devel", "2.15", "2.15.1-mkl-extra", None])
def test_moving_or_unpinned_serving_tags_stay_unknown_with_a_reason(tag):
    ref = "tensorflow/serving" + (f":{tag}" if tag else "")
    stack = catalog.lookup(ref)
    assert stack.source == "unknown" and stack.tensorflow_version is None
    verdict = evaluate(ModelFacts(tensorflow_version="2.15.1", source="annotation"), stack)
    assert verdict.verdict == "unknown"
    reasons = " ".join(f.message for f in verdict.findings if f.code == "STACK_UNKNOWN")
    if tag in ("latest", "nightly", "latest-gpu", None):
        assert "moves" in reasons


def test_every_release_row_names_its_source_and_a_valid_tf_release():
    data = catalog.tf_serving_data()
    assert len(data["releases"]) >= 60
    for row in data["releases"]:
        assert row["source"].startswith("tensorflow/serving RELEASE.md"), row
        found = catalog.tf_serving_release(row["release"] + "-gpu")
        assert found["listed"] and found["tensorflow"].split("rc")[0].count(".") == 2
        if not row["release"].startswith("1.1") or row["release"] >= "1.10":
            assert found["cuda"], row
    for step in data["gpu_by_first_release"]:
        assert step["source"], step


def test_a_registry_mirror_and_a_digest_do_not_change_the_facts():
    digest = "sha256:" + "cd" * 32
    stack = catalog.lookup(f"mirror.example:5000/tensorflow/serving:2.15.1-gpu@{digest}")
    assert (stack.tensorflow_version, stack.cuda_version, stack.image_digest) == ("2.15.1", "12.2", digest)
