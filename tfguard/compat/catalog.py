"""Well-known images -> StackFacts (source="catalog"), from the image reference alone.

No network: what an image holds is read from its repository and tag, for images whose tags pin
the TensorFlow release:

    tensorflow/tensorflow:2.15.0[-gpu][-jupyter]     Python TF (pip wheel; -gpu is the CUDA build)
    tensorflow/serving:2.15.1[-devel][-gpu], -rcN    TF Serving: C++ server, SavedModels only; the TF
                                                     release and GPU build from data/tf_serving.json
    bitnami/tensorflow-serving:2.15.0[-debian-12-rN] TF Serving
    nvcr.io/nvidia/tensorflow:24.02-tf2-py3          NVIDIA NGC container (data/ngc_tensorflow.json)
    .../deeplearning-platform-release/tf2-gpu.2-15   Google Deep Learning Containers (TF minor pinned)
    .../vertex-ai/prediction/tf2-cpu.2-15            Vertex AI prebuilt prediction (TF Serving)
    .../tensorflow-inference:2.14.1-gpu-py310-cu118-ubuntu20.04-ec2   AWS DLC (TF Serving)
    .../tensorflow-training:2.14.1-cpu-py310-ubuntu20.04-sagemaker     AWS DLC (Python TF)

Registry hosts, `docker.io/library/` and digests are ignored for the lookup (a mirror holds the
same image). Moving tags (`latest`, `nightly`, `latest-gpu`, no tag at all) are not facts: they
give `StackFacts(source="unknown")`, as does any image not listed here.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard.compat import oplibs
from tfguard.compat.facts import StackFacts
from tfguard.records import record

SERVING_LOADERS = ["serving"]  # a C++ model server: TF Serving's SavedModel loader only
# Patterns as text: `re` compiles each on first use (and caches it); compiling them all at import
# was a tenth of what `tfguard check` adds to the interpreter's start-up.
_MOVING = r"^(latest|nightly|devel|rc|stable|edge|main|master)([-_.].*)?$"
_TF_TAG = r"^(\d+\.\d+\.\d+(?:rc\d+)?)((?:-[a-z0-9]+)*)$"
_TF_TAG_WORDS = {"gpu", "jupyter", "py3", "py2", "cpu"}
_BITNAMI_TAG = r"^(\d+\.\d+\.\d+)(?:-debian-\d+-r\d+)?$"
_NGC_TAG = r"^(\d\d\.\d\d)-tf([12])-py3(?:-[a-z0-9]+)*$"
_GOOGLE_DLC = r"^tf2?-(cpu|gpu)\.(\d+)-(\d+)(?:\.py(\d)(\d+))?$"
_AWS_TAG = r"^(\d+\.\d+\.\d+)-(cpu|gpu)-py(\d)(\d+)(?:-cu(\d+?)(\d))?(?:-[a-z0-9.]+)*$"


@record(frozen=True)
class ImageRef:
    registry: Optional[str]
    repository: str  # without registry, "library/" and digest; lower case
    tag: Optional[str]
    digest: Optional[str]


def parse(ref: str) -> Optional[ImageRef]:
    """Split an image reference; None if it is not one."""
    # Every admission parses its images, and a cluster runs a few hundred: the answers are kept, for
    # references no longer than a real one can be (a hostile megabyte-long one is parsed each time).
    return _parse_kept(ref) if len(ref or "") <= _KEPT_LENGTH else _parse(ref)


_KEPT_LENGTH = 512  # a registry host, a 255-character name, a tag and a digest


@lru_cache(maxsize=1024)
def _parse_kept(ref: str) -> Optional[ImageRef]:
    return _parse(ref)


def _parse(ref: str) -> Optional[ImageRef]:
    ref = (ref or "").strip()
    if not ref or len(ref.split(None, 1)) > 1:  # whitespace inside
        return None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not re.fullmatch(r"[a-z0-9]+:[0-9a-fA-F]{32,}", digest):
            return None
    tag = None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
        if not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            return None
    parts = ref.split("/")
    registry = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, parts = parts[0], parts[1:]
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = None
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    repository = "/".join(parts).lower()
    if not repository or not re.fullmatch(r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*", repository):
        return None
    return ImageRef(registry, repository, tag, digest)


def is_moving_tag(ref: str) -> bool:
    """True for `latest`-style tags (and no tag, which means `latest`) without a digest."""
    parsed = parse(ref)
    if parsed is None or parsed.digest:
        return False
    return parsed.tag is None or bool(re.match(_MOVING, parsed.tag))


_SERVING_TAG = r"^(\d+\.\d+\.\d+)(?:-rc(\d+))?(-devel)?(-gpu)?$"


@lru_cache(maxsize=1)
def tf_serving_data() -> dict:
    """data/tf_serving.json: every TF Serving release, the TF it is built from, its GPU builds."""
    with open(os.path.join(os.path.dirname(__file__), "data", "tf_serving.json"), "rb") as f:
        return json.loads(f.read())


def tf_serving_release(tag: str) -> Optional[dict]:
    """What a pinned tensorflow/serving tag holds: {"release", "tensorflow", "gpu", "devel",
    "cuda", "cudnn", "listed"}; None for a tag that pins nothing (latest, nightly, ...)."""
    match = re.match(_SERVING_TAG, tag or "")
    if not match:
        return None
    number, rc, devel, gpu = match.groups()
    release = f"{number}-rc{rc}" if rc is not None else number
    data = tf_serving_data()
    listed = next((r for r in data["releases"] if r["release"] == release), None)
    tf = data["exceptions"].get(release, release)
    if listed is not None:
        tf = listed["tensorflow"]
    out = {"release": release, "tensorflow": tf.replace("-rc", "rc"), "gpu": bool(gpu), "devel": bool(devel),
           "cuda": None, "cudnn": None, "listed": listed is not None}
    if gpu:
        key = _release_key(number)  # an rc is built like the release it leads to
        builds = [b for b in data["gpu_by_first_release"] if _release_key(b["from"]) <= key]
        if builds:
            out["cuda"], out["cudnn"] = builds[-1]["cuda"], builds[-1]["cudnn"]
    return out


def _release_key(release: str) -> tuple[int, ...]:
    number, _, rc = release.partition("-rc")
    return (*(int(p) for p in number.split(".")), int(rc) if rc else 99)


def _stack(ref: str, parsed: ImageRef, tf: str, **facts) -> StackFacts:
    return StackFacts(
        image=ref,
        image_digest=parsed.digest,
        source="catalog",
        tensorflow_version=tf,
        **facts,
    )


def _python(major: Optional[str], minor: Optional[str]) -> Optional[str]:
    return f"{major}.{minor}" if major and minor else None


def lookup(ref: str) -> StackFacts:
    """The stack of a well-known image, or StackFacts(source="unknown", image=ref)."""
    unknown = StackFacts(image=ref or None, source="unknown")
    parsed = parse(ref)
    if parsed is None:
        return unknown
    unknown.image_digest = parsed.digest
    repo, tag = parsed.repository, parsed.tag
    name = repo.rsplit("/", 1)[-1]

    # Google's containers pin the TF minor in the image name, whatever the tag.
    match = re.match(_GOOGLE_DLC, name)
    if match and ("deeplearning-platform-release" in repo or "vertex-ai" in repo):
        device, major, minor, py_major, py_minor = match.groups()
        serving = "vertex-ai/prediction" in repo
        return _stack(
            ref, parsed, f"{major}.{minor}",  # the image tracks patch releases of that minor
            cuda_build=device == "gpu",
            python_version=_python(py_major, py_minor),
            loaders=list(SERVING_LOADERS) if serving else None,
        )

    if tag is None or re.match(_MOVING, tag):
        return unknown

    if repo == "tensorflow/serving":
        found = tf_serving_release(tag)
        if found is None:
            return unknown
        return _stack(
            ref, parsed, found["tensorflow"],
            cuda_build=found["gpu"],
            cuda_version=found["cuda"],
            cudnn_version=found["cudnn"],
            loaders=list(SERVING_LOADERS),
            op_libraries=oplibs.serving_op_libraries(found["release"]),
        )

    if repo == "tensorflow/tensorflow":
        match = re.match(_TF_TAG, tag)
        if not match:
            return unknown
        words = set(match.group(2).split("-")) - {""}
        if not words <= _TF_TAG_WORDS:
            return unknown
        return _stack(ref, parsed, match.group(1), cuda_build="gpu" in words)

    if repo == "bitnami/tensorflow-serving":
        match = re.match(_BITNAMI_TAG, tag)
        if not match:
            return unknown
        return _stack(ref, parsed, match.group(1), cuda_build=False, loaders=list(SERVING_LOADERS))

    if repo == "nvidia/tensorflow":
        match = re.match(_NGC_TAG, tag)
        if not match:
            return unknown
        release, tf_major = match.groups()
        from tfguard.compat.gpu_facts import ngc_container

        row = ngc_container(release)  # each monthly tag ships its own CUDA, not the upstream wheel's
        tf = None if row is None else row.tf1 if tf_major == "1" else row.tf2
        if tf is None:
            return unknown
        cuda = ".".join(row.cuda.split(" ")[0].split(".")[:2])
        return _stack(ref, parsed, tf, cuda_build=True, cuda_version=cuda, gpu_build=f"ngc:{release}")

    if name.startswith("tensorflow-inference") or name == "tensorflow-training":
        match = re.match(_AWS_TAG, tag)
        if not match:
            return unknown
        tf, device, py_major, py_minor, cuda_major, cuda_minor = match.groups()
        return _stack(
            ref, parsed, tf,
            cuda_build=device == "gpu",
            cuda_version=f"{cuda_major}.{cuda_minor}" if cuda_major else None,
            python_version=_python(py_major, py_minor),
            loaders=list(SERVING_LOADERS) if name.startswith("tensorflow-inference") else None,
        )

    return unknown
