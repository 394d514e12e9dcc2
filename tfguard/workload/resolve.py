"""Which container serves the model, where its image's stack comes from, and what the model is.

The one place both services ask. Everything here reads memory only: the fact store (fed by
watches), the object's annotations and the built-in catalog; no network I/O on the admission path.

Where the stack of the serving container comes from, best first:
1. what the probe observed in this workload's own Pods, if they ran this image (the operator passes
   it as `observed`);
2. a probe-verified ImageStack for the image (by digest, else by reference) that applies to the
   workload's namespace (`FactStore.stack_name_for`: its own, declared cluster-wide, or trusted);
3. the catalog of well-known images (`tfguard.compat.catalog`);
4. the `tfguard.io/tensorflow-version` (and `keras-version`) annotations;
5. unknown.
An annotation is what a user believes; the others are facts. When the annotation disagrees with a
fact, the fact wins and the disagreement is a finding.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Optional

from tfguard import annotations as A
from tfguard import records
from tfguard.compat import catalog
from tfguard.compat.codes import finding
from tfguard.compat.facts import GPU_CHOICES, LOADERS, Finding, ModelFacts, StackFacts
from tfguard.records import field, record
from tfguard.workload.images import pinned_digest
from tfguard.workload.memo import BoundedMemo, digest
from tfguard.workload.serving_layout import read_layout
from tfguard.workload.store import FactStore
from tfguard.workload.templates import unknown_annotation_findings

GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"  # MIG slices: nvidia.com/mig-1g.5gb, nvidia.com/mig-3g.20gb, ...
# A release as TF and Keras spell them: 2.15, 2.15.1, 2.16.0rc0, 3.3.3.dev2024...
_VERSION = re.compile(r"^\d{1,3}\.\d{1,4}(\.\d{1,4})?((a|b|rc|\.dev|\.post|-rc)\d{0,12})?$")


def is_version(text: str) -> bool:
    return bool(_VERSION.match(text.strip()))


@record
class Resolved:
    """What a verdict on one pod template needs, plus the findings made on the way."""

    container: Optional[dict[str, Any]]
    model: ModelFacts
    stack: StackFacts
    loader: str = "auto"
    gpu: str = "none"
    model_name: Optional[str] = None
    findings: list[Finding] = field(default_factory=list)
    imports: Optional[tuple[str, ...]] = None  # what the server imports before loading; None: not known


def resolve(
    pod_spec: dict[str, Any],
    namespace: Optional[str],
    annotations: dict[str, str],
    store: FactStore,
    observed: Optional[StackFacts] = None,
) -> Resolved:
    container, problem = pick_container(pod_spec, namespace, annotations, store)
    findings = [problem] if problem else []
    findings += unknown_annotation_findings(annotations)
    image = (container or {}).get("image")
    image = image if isinstance(image, str) else ""
    stack = resolve_stack(image, namespace, annotations, store, findings,
                          observed if observed is not None and observed_in(observed, image) else None)
    model = resolve_model(namespace, annotations, store, findings)
    if model.path is None:  # a TF Serving container says where its model is: its base path
        layout = read_layout(container, serving_image=stack.loaders == ["serving"])
        if layout is not None and layout.describes_one_model:
            model = records.replace(model, path=layout.base_path)
    loader = resolve_loader(annotations, findings)
    gpu = resolve_gpu(container, annotations, findings)
    model_name = model.path or annotations.get(A.MODEL_PROFILE) or annotations.get(A.OBSERVED_MODEL_PROFILE)
    imports = resolve_imports(annotations, findings)
    return Resolved(container, model, stack, loader, gpu, model_name, findings, imports)


def observed_in(observed: StackFacts, image: str) -> bool:
    """Whether a probe's observation is of this image (the template may have moved on since)."""
    if not image:
        return True
    return image == observed.image or (observed.image_digest is not None and image.endswith("@" + observed.image_digest))


def pick_container(pod_spec: dict[str, Any], namespace: Optional[str], annotations: dict[str, str], store: FactStore):
    """The serving container: the one `tfguard.io/container` names; else the only one; else the
    first whose image tfguard knows as a TensorFlow stack; else the first. Returns (container, finding)."""
    containers = [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]
    if not containers:
        return None, None
    wanted = annotations.get(A.CONTAINER)
    if wanted:
        for c in containers:
            if c.get("name") == wanted:
                return c, None
        names = ", ".join(str(c.get("name"))[:63] for c in containers[:8])
        return containers[0], finding(
            "ADMISSION_BAD_ANNOTATION",
            f"{A.CONTAINER}={wanted[:63]!r} names no container of the pod (it has: {names}); "
            f"checked {str(containers[0].get('name'))[:63]!r} instead",
            annotation=A.CONTAINER,
        )
    if len(containers) == 1:
        return containers[0], None
    for c in containers:
        image = c.get("image")
        if not isinstance(image, str):
            continue
        if store.stack_for(image, namespace) is not None or _catalog_stack(image) is not None:
            return c, None
    return containers[0], None


# The catalog is fixed: each image is looked up once. Keyed by the reference's digest and bounded in
# bytes, so a flood of distinct (or huge) image strings cannot grow the process.
_CATALOG_MEMO = BoundedMemo(2 * 1024 * 1024)
_NOT_LISTED = StackFacts(source="unknown")


def _catalog_stack(image: str) -> Optional[StackFacts]:
    if not image:
        return None
    key = digest("catalog", image)
    found = _CATALOG_MEMO.get(key)
    if found is None:
        try:
            found = catalog.lookup(image)
        except Exception:  # the catalog never gets to fail an admission
            found = None
        found = found if isinstance(found, StackFacts) and found.known else _NOT_LISTED
        _CATALOG_MEMO.put(key, found, weight=0 if found is _NOT_LISTED else None)
    return None if found is _NOT_LISTED else found


def resolve_stack(
    image: str,
    namespace: Optional[str],
    annotations: dict[str, str],
    store: FactStore,
    findings: list[Finding],
    observed: Optional[StackFacts] = None,
) -> StackFacts:
    """The probe's observation, else an ImageStack for this namespace, else the catalog, else the image
    annotations, else unknown. An annotation that contradicts a fact is a finding."""
    declared = annotations.get(A.IMAGE_TENSORFLOW_VERSION)
    keras = annotations.get(A.IMAGE_KERAS_VERSION)
    if keras is not None and not is_version(keras):
        findings.append(_bad_version(A.IMAGE_KERAS_VERSION, keras))
        keras = None
    if declared is not None and not is_version(declared):
        findings.append(_bad_version(A.IMAGE_TENSORFLOW_VERSION, declared))
        declared = None
    fact = observed or store.stack_for(image, namespace) or _catalog_stack(image)
    if fact is not None:
        findings += _contradictions(fact, declared, keras)
        return fact
    if declared is not None:
        return StackFacts(
            image=image,
            image_digest=pinned_digest(image),
            source="annotation",
            tensorflow_version=declared.strip(),
            keras_version=keras.strip() if keras else None,
        )
    return StackFacts(image=image or None, image_digest=pinned_digest(image), source="unknown")


def _contradictions(fact: StackFacts, declared: Optional[str], keras: Optional[str]) -> list[Finding]:
    where = {"probe": "the tfguard probe observed", "catalog": "the catalog lists"}.get(fact.source, fact.source)
    found = []
    for annotation, said, known in (
        (A.IMAGE_TENSORFLOW_VERSION, declared, fact.tensorflow_version),
        (A.IMAGE_KERAS_VERSION, keras, fact.keras_version),
    ):
        if said and known and not same_release(said, known):
            found.append(finding(
                "ADMISSION_DECLARED_STACK_CONTRADICTED",
                f"{annotation}={said.strip()[:40]!r}, but {where} {known} in image "
                f"{(fact.image or '')[:200]}; judged with {known}",
                annotation=annotation,
            ))
    return found


def same_release(declared: str, known: str) -> bool:
    """`2.15` declares the minor only: it agrees with 2.15.0 and 2.15.1, not with 2.16.0."""
    said, have = declared.strip().split("."), known.strip().split(".")
    return have[: len(said)] == said


def resolve_model(
    namespace: Optional[str], annotations: dict[str, str], store: FactStore, findings: list[Finding]
) -> ModelFacts:
    """The ModelProfile named by the annotation, else the producer-version annotation alone."""
    path = annotations.get(A.MODEL_PATH)
    if path is not None:
        problem = model_path_problem(path)
        if problem:
            findings.append(finding("ADMISSION_UNSAFE_MODEL_PATH", problem, annotation=A.MODEL_PATH, path=path[:200]))
            path = None
    producer = annotations.get(A.MODEL_PRODUCER_VERSION)
    if producer is not None and not is_version(producer):
        findings.append(_bad_version(A.MODEL_PRODUCER_VERSION, producer))
        producer = None
    producer = producer.strip() if producer else None

    # The user's own profile, else the one the operator derived from a probe report of this workload.
    profile_name = annotations.get(A.MODEL_PROFILE) or annotations.get(A.OBSERVED_MODEL_PROFILE)
    if profile_name:
        profile = store.profile(namespace or "", profile_name)
        if profile is None:
            why = (
                "the profile store is not available"
                if not store.synced
                else f"no ModelProfile {profile_name!r} in namespace {namespace!r}"
            )
            findings.append(
                finding(
                    "ADMISSION_PROFILE_MISSING",
                    f"{A.MODEL_PROFILE}={profile_name!r}: {why}; judged from the annotations alone",
                    profile=profile_name,
                )
            )
        elif producer and profile.tensorflow_version and profile.tensorflow_version != producer:
            findings.append(
                finding(
                    "ADMISSION_PROFILE_STALE",
                    f"ModelProfile {profile_name!r} says the model was saved by TF {profile.tensorflow_version}, "
                    f"but {A.MODEL_PRODUCER_VERSION} says {producer}; judged from the annotations alone",
                    profile=profile_name,
                )
            )
        else:
            return records.replace(profile, path=path) if path and not profile.path else profile
    return ModelFacts(path=path, tensorflow_version=producer, source="annotation")


def model_path_problem(path: str) -> Optional[str]:
    if not path.strip():
        return f"{A.MODEL_PATH} is empty"
    if "\x00" in path or any(ord(ch) < 32 for ch in path):
        return f"{A.MODEL_PATH} contains control characters"
    if "://" in path:
        return None  # a URI (gs://, s3://): the probe reads it through TF's file systems
    if not path.startswith("/"):
        return f"{A.MODEL_PATH}={path[:200]!r} is not an absolute path inside the container"
    if ".." in path.split("/"):
        return (
            f"{A.MODEL_PATH}={path[:200]!r} climbs out with '..'; give the normalised path "
            f"{posixpath.normpath(path)[:200]!r} instead"
        )
    return None


def resolve_loader(annotations: dict[str, str], findings: list[Finding]) -> str:
    loader = annotations.get(A.MODEL_LOADER, "auto").strip()
    if loader not in LOADERS:
        findings.append(
            finding(
                "ADMISSION_BAD_ANNOTATION",
                f"{A.MODEL_LOADER}={loader[:60]!r} is not one of {', '.join(LOADERS)}; using auto",
                annotation=A.MODEL_LOADER,
            )
        )
        return "auto"
    return loader


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_IMPORTS = 32


def resolve_imports(annotations: dict[str, str], findings: list[Finding]) -> Optional[tuple[str, ...]]:
    """The modules `tfguard.io/model-imports` names (empty: none), or None when it is absent or bad."""
    value = annotations.get(A.MODEL_IMPORTS)
    if value is None:
        return None
    modules = tuple(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
    bad = [m for m in modules if len(m) > 128 or not _MODULE.fullmatch(m)]
    if bad or len(modules) > MAX_IMPORTS:
        why = f"{bad[0][:60]!r} is not a Python module name" if bad else f"it names more than {MAX_IMPORTS} modules"
        findings.append(finding(
            "ADMISSION_BAD_ANNOTATION",
            f"{A.MODEL_IMPORTS}: {why}; judged as if the server's imports were not known",
            annotation=A.MODEL_IMPORTS,
        ))
        return None
    return modules


def resolve_gpu(container: Optional[dict[str, Any]], annotations: dict[str, str], findings: list[Finding]) -> str:
    declared = annotations.get(A.GPU)
    if declared is not None:
        if declared.strip() == "none" and requests_gpu(container):
            findings.append(finding(
                "ADMISSION_GPU_DECLARED_NONE",
                f"{A.GPU}=none, but container {str((container or {}).get('name'))[:63]!r} requests "
                f"{', '.join(gpu_resources(container))}: TensorFlow uses the GPUs it sees; judged as gpu=optional",
                annotation=A.GPU,
            ))
            return "optional"
        if declared.strip() in GPU_CHOICES:
            return declared.strip()
        findings.append(
            finding(
                "ADMISSION_BAD_ANNOTATION",
                f"{A.GPU}={declared[:60]!r} is not one of {', '.join(GPU_CHOICES)}; judged from the container's resources",
                annotation=A.GPU,
            )
        )
    return "required" if requests_gpu(container) else "none"


def gpu_resources(container: Optional[dict[str, Any]]) -> list[str]:
    """The NVIDIA GPU resources a container asks for: whole GPUs and MIG slices."""
    resources = (container or {}).get("resources")
    names: dict[str, None] = {}
    for section in ("limits", "requests"):
        wanted = resources.get(section) if isinstance(resources, dict) else None
        if not isinstance(wanted, dict):
            continue
        for name, value in wanted.items():
            if (name == GPU_RESOURCE or str(name).startswith(MIG_RESOURCE_PREFIX)) and value not in (None, 0, "0"):
                names[str(name)[:80]] = None
    return list(names)


def requests_gpu(container: Optional[dict[str, Any]]) -> bool:
    return bool(gpu_resources(container))


def _bad_version(annotation: str, value: str) -> Finding:
    return finding(
        "ADMISSION_BAD_ANNOTATION",
        f"{annotation}={value[:60]!r} is not a release number (like 2.15.1); ignored",
        annotation=annotation,
    )
