"""Image references -> stack facts for well-known images, without any network."""

from __future__ import annotations

import pytest

from tfguard.compat.catalog import is_moving_tag, lookup, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "ref, tf, cuda, loaders",
    [
        ("tensorflow/tensorflow:2.15.0", "2.15.0", False, None),
        ("tensorflow/tensorflow:2.15.0-gpu", "2.15.0", True, None),
        ("tensorflow/tensorflow:2.16.1-gpu-jupyter", "2.16.1", True, None),
        ("tensorflow/tensorflow:2.13.0-jupyter", "2.13.0", False, None),
        ("docker.io/tensorflow/tensorflow:2.20.0", "2.20.0", False, None),
        ("localhost:5000/tensorflow/tensorflow:2.15.0", "2.15.0", False, None),
        (f"tensorflow/tensorflow:2.15.0@{DIGEST}", "2.15.0", False, None),
        ("tensorflow/serving:2.15.0", "2.15.0", False, ["serving"]),
        ("tensorflow/serving:2.19.1-gpu", "2.19.1", True, ["serving"]),
        ("bitnami/tensorflow-serving:2.15.0-debian-12-r3", "2.15.0", False, ["serving"]),
        ("nvcr.io/nvidia/tensorflow:24.02-tf2-py3", "2.15.0", True, None),
        ("nvcr.io/nvidia/tensorflow:24.01-tf2-py3", "2.14.0", True, None),
        ("nvcr.io/nvidia/tensorflow:25.02-tf2-py3", "2.17.0", True, None),
        ("nvcr.io/nvidia/tensorflow:23.03-tf1-py3", "1.15.5", True, None),
        ("registry.example/deeplearning-platform-release/gcr.io/tf2-gpu.2-15.py310:latest", "2.15", True, None),
        ("registry.example/deeplearning-platform-release/tf2-cpu.2-11", "2.11", False, None),
        ("registry.example/vertex-ai/prediction/tf2-cpu.2-15:latest", "2.15", False, ["serving"]),
        ("123456.registry.example/tensorflow-inference:2.14.1-gpu-py310-cu118-ubuntu20.04-ec2", "2.14.1", True,
         ["serving"]),
        ("123456.registry.example/tensorflow-training:2.13.0-cpu-py310-ubuntu20.04-sagemaker", "2.13.0", False, None),
    ],
)
def test_well_known_images_resolve_from_their_tag(ref, tf, cuda, loaders):
    stack = lookup(ref)
    assert (stack.source, stack.tensorflow_version, stack.cuda_build, stack.loaders) == ("catalog", tf, cuda, loaders)
    assert stack.image == ref


def test_aws_tags_carry_python_and_cuda():
    stack = lookup("123456.registry.example/tensorflow-inference:2.14.1-gpu-py310-cu118-ubuntu20.04-ec2")
    assert (stack.python_version, stack.cuda_version) == ("3.10", "11.8")


def test_digest_is_kept_as_a_fact():
    assert lookup(f"tensorflow/serving:2.15.0@{DIGEST}").image_digest == DIGEST


@pytest.mark.parametrize(
    "ref",
    ["tensorflow/tensorflow:latest", "tensorflow/tensorflow:latest-gpu", "tensorflow/tensorflow",
     "tensorflow/serving:nightly", "tensorflow/tensorflow:nightly-gpu-jupyter", "tensorflow/tensorflow:devel-gpu"],
)
def test_moving_tags_are_not_facts(ref):
    stack = lookup(ref)
    assert stack.source == "unknown" and stack.tensorflow_version is None and stack.image == ref
    assert is_moving_tag(ref)


@pytest.mark.parametrize(
    "ref",
    ["busybox:1.36", "myorg/tensorflow:2.15.0", "tensorflow/tensorflow:2.15.0-rocm", "tensorflow/tensorflow:2.15",
     "nvcr.io/nvidia/tensorflow:19.01-tf2-py3", "nvcr.io/nvidia/pytorch:24.01-py3", "", "not an image",
     "tensorflow/tensorflow:2.15.0@sha256:nothex", "UPPER/Case:1", "a//b:1", "x:" + "y" * 200],
)
def test_anything_else_is_unknown_never_an_error(ref):
    stack = lookup(ref)
    assert stack.source == "unknown" and stack.tensorflow_version is None


def test_parse_strips_registry_library_and_digest():
    ref = parse(f"docker.io/library/ubuntu:22.04@{DIGEST}")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (None, "ubuntu", "22.04", DIGEST)
    assert parse("registry.example:5000/team/app:1").registry == "registry.example:5000"
    assert not is_moving_tag(f"tensorflow/tensorflow:latest@{DIGEST}")


def test_parsed_references_are_kept_only_as_long_as_a_real_one_can_be():
    from tfguard.compat import catalog

    kept = catalog._parse_kept.cache_info().currsize
    hostile = "registry.example/" + "a" * 1_000_000 + ":1"
    assert parse(hostile) == parse(hostile)  # parsed, the same answer each time
    assert catalog._parse_kept.cache_info().currsize == kept
    assert parse("tensorflow/serving:2.15.0") is parse("tensorflow/serving:2.15.0")
