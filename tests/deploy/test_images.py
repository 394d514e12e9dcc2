"""The node's images are built from the Dockerfile itself and from hack/images (harness/images.py):
what keeps those recipes in step with the Dockerfile, without building anything."""

from __future__ import annotations

from harness import images


def test_every_base_the_dockerfile_names_has_a_local_stand_in():
    for base in images.from_images(images.DOCKERFILE):
        assert base in images.BASES, f"the Dockerfile starts FROM {base}, which harness/images.py cannot build"


def test_the_tfguard_images_are_the_dockerfiles_targets_under_the_charts_tags():
    tfguard, probe = images.tfguard_images()
    assert tfguard.containerfile == probe.containerfile == images.DOCKERFILE
    assert (tfguard.target, probe.target) == ("tfguard", "probe")
    assert tfguard.name == f"tfguard/tfguard:{images.tfguard_version()}"  # the chart's default image
    assert probe.name == f"tfguard/probe:{images.tfguard_version()}"


def test_an_images_key_follows_the_files_its_containerfile_copies():
    copied = {p.relative_to(images.REPO).as_posix() for p in images.copied_files(images.DOCKERFILE, images.REPO)}
    assert {"pyproject.toml", "README.md", "tfguard/probes/probe.py", "tfguard/cli.py"} <= copied
    assert not any("__pycache__" in p or p.startswith(("tests/", "docs/")) for p in copied)


def test_each_containerfile_of_hack_images_starts_from_a_known_base():
    for containerfile in sorted(images.HACK_IMAGES.rglob("*Containerfile")):
        for base in images.from_images(containerfile):
            assert base in images.BASES, f"{containerfile.name} starts FROM {base}"


def test_a_reference_is_named_as_containerd_names_it():
    held = ["docker.io/tensorflow/tensorflow:2.15.1", "docker.io/library/python:3.11", "tfguard.local/pause:3.10.2"]
    assert images.normalized("tensorflow/tensorflow:2.15.1", held) == held[0]
    assert images.normalized("python:3.11", held) == held[1]
    assert images.normalized("tfguard.local/pause:3.10.2", held) == held[2]
    assert images._repository("reg.local:5000/a/b:1") == "reg.local:5000/a/b"
    assert images._repository("reg.local:5000/a/b") == "reg.local:5000/a/b"
