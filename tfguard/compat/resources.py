"""The tfguard.io custom resources and how facts map onto them.

ImageStack (cluster-scoped): what a probe observed about one image, named by the image digest and
the namespace the probe ran in (`spec.observedIn`: facts from a namespace apply there unless that
namespace is trusted; an ImageStack without it was declared by an admin and applies everywhere).
ModelProfile (namespaced): what `tfguard inspect` (or a probe) learned about one model.

The CRD schemas in charts/tfguard/crds/ describe exactly these shapes; the operator writes them,
the webhook reads them, `tfguard inspect --profile` prints a ModelProfile.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Optional

from tfguard.compat.facts import ModelFacts, StackFacts

GROUP = "tfguard.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# StackFacts field -> ImageStack .spec.stack key
_STACK_KEYS = {
    "tensorflow_version": "tensorflowVersion",
    "tensorflow_git_version": "tensorflowGitVersion",
    "keras_version": "kerasVersion",
    "tf_keras_major": "tfKerasMajor",
    "python_version": "pythonVersion",
    "numpy_version": "numpyVersion",
    "protobuf_version": "protobufVersion",
    "cuda_build": "cudaBuild",
    "cuda_version": "cudaVersion",
    "cudnn_version": "cudnnVersion",
    "import_ok": "importOk",
    "import_error_code": "importErrorCode",
    "gpus_visible": "gpusVisible",
}


def dns_label(text: str, limit: int = 63) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:limit].rstrip("-") or "x"


def image_stack_name(image: Optional[str], image_digest: Optional[str], observed_in: Optional[str] = None) -> str:
    """Stable object name: from the digest when known (the same bytes are the same stack), then the
    namespace it was observed in (`sha256-<hex>.<namespace>`: one object per namespace and image)."""
    if image_digest:
        algo, _, hexpart = image_digest.partition(":")
        base = dns_label(f"{algo}-{hexpart}" if hexpart else algo, 80)
    else:
        ref = image or "unknown"
        base = dns_label(f"ref-{hashlib.sha256(ref.encode()).hexdigest()[:16]}-{ref.rsplit('/', 1)[-1]}")
    return f"{base}.{dns_label(observed_in)}" if observed_in else base


def image_stack_resource(
    stack: StackFacts, references: list[str] | None = None, observed_in: Optional[str] = None
) -> dict[str, Any]:
    spec_stack = {
        key: getattr(stack, field) for field, key in _STACK_KEYS.items() if getattr(stack, field) is not None
    }
    refs = sorted(set((references or []) + ([stack.image] if stack.image else [])))
    metadata: dict[str, Any] = {"name": image_stack_name(stack.image, stack.image_digest, observed_in)}
    spec: dict[str, Any] = {
        "image": stack.image or "",
        "imageDigest": stack.image_digest or "",
        "references": refs,
        "stack": spec_stack,
    }
    if observed_in:
        metadata["labels"] = {"tfguard.io/observed-in": observed_in}
        spec["observedIn"] = observed_in
    return {"apiVersion": API_VERSION, "kind": "ImageStack", "metadata": metadata, "spec": spec}


def stack_from_image_stack(obj: dict[str, Any]) -> StackFacts:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    stack = spec.get("stack") or {}
    values = {field: stack.get(key) for field, key in _STACK_KEYS.items()}
    return StackFacts(
        image=spec.get("image") or None,
        image_digest=spec.get("imageDigest") or None,
        source="probe",
        observed_at=status.get("observedAt"),
        **values,
    )


def model_profile_resource(
    facts: ModelFacts, name: str, namespace: Optional[str] = None, newest_op_release: Optional[str] = None
) -> dict[str, Any]:
    """`newest_op_release`: the newest TF release any of the model's ops first appeared in."""
    metadata: dict[str, Any] = {"name": dns_label(name, 253)}
    if namespace:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {
        "source": facts.path or "",
        "digest": facts.digest or "",
        "format": facts.format or "",
        "producerVersion": facts.tensorflow_version or "",
        "producerGitVersion": facts.tensorflow_git_version or "",
        "graphDef": {
            k: v
            for k, v in (
                ("producer", facts.graph_producer),
                ("minConsumer", facts.graph_min_consumer),
                ("badConsumers", list(facts.graph_bad_consumers)),
            )
            if v is not None
        },
        "keras": {
            k: v
            for k, v in (
                ("version", facts.keras_version),
                ("format", facts.keras_format),
                ("backend", facts.keras_backend),
                ("modules", facts.keras_modules),
                ("classes", facts.keras_classes),
                ("customClasses", facts.keras_custom_classes),
                ("compile", _compile_spec(facts.keras_compile)),
                ("sequentialShapeEncoded", facts.keras_sequential_shape_encoded),
                ("modelClass", facts.keras_model_class),
            )
            if v
        },
        "savedModel": {
            k: v
            for k, v in (
                ("metaGraphTags", [list(tags) for tags in facts.meta_graph_tags]),
                ("objectGraph", facts.object_graph),
                ("savedObjectFields", list(facts.saved_object_fields)),
                ("kerasObjectsWithoutMetadata", facts.keras_objects_without_metadata),
                ("pinnedDevices", list(facts.pinned_devices)),
                ("mainGraphPinnedDevices", facts.main_graph_pinned_devices),
                ("mainGraphNonDefaultAttrs", facts.main_graph_non_default_attrs),
                ("functionNewAttrs", facts.function_new_attrs),
                ("variables", facts.variables),
                ("missingAssets", list(facts.missing_assets)),
            )
            if v not in (None, [], "")
        },
        "signatures": list(facts.signatures),
        "ops": sorted(facts.ops),
        "opAttrs": {op: sorted(attrs) for op, attrs in sorted(facts.op_attrs.items())},
        "opCount": len(facts.ops),
        "newestOpRelease": newest_op_release or "",
    }
    if facts.saved_model_schema_version is not None:
        spec["savedModelSchemaVersion"] = facts.saved_model_schema_version
    return {"apiVersion": API_VERSION, "kind": "ModelProfile", "metadata": metadata, "spec": spec}


_COMPILE_KEYS = {"optimizer": "optimizer", "optimizer_config_keys": "optimizerConfigKeys", "loss": "loss", "metrics": "metrics",
                 "sample_weight_mode": "sampleWeightMode"}
_COMPILE_SCALARS = ("optimizer", "sample_weight_mode")


def _compile_spec(facts: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if not facts:
        return None
    return {key: facts[name] for name, key in _COMPILE_KEYS.items() if facts.get(name) not in (None, [])}


def _compile_facts(spec: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if not isinstance(spec, dict):
        return None
    return {name: spec.get(key, None if name in _COMPILE_SCALARS else []) for name, key in _COMPILE_KEYS.items()}


def facts_from_model_profile(obj: dict[str, Any]) -> ModelFacts:
    spec = obj.get("spec") or {}
    graph = spec.get("graphDef") or {}
    keras = spec.get("keras") or {}
    saved = spec.get("savedModel") or {}
    return ModelFacts(
        path=spec.get("source") or None,
        format=spec.get("format") or None,
        saved_model_schema_version=spec.get("savedModelSchemaVersion"),
        tensorflow_version=spec.get("producerVersion") or None,
        tensorflow_git_version=spec.get("producerGitVersion") or None,
        graph_producer=graph.get("producer"),
        graph_min_consumer=graph.get("minConsumer"),
        graph_bad_consumers=list(graph.get("badConsumers") or []),
        ops=sorted(spec.get("ops") or []),
        op_attrs={op: list(attrs) for op, attrs in (spec.get("opAttrs") or {}).items()},
        keras_version=keras.get("version"),
        keras_format=keras.get("format"),
        keras_backend=keras.get("backend"),
        keras_modules=list(keras["modules"]) if keras.get("modules") else None,
        keras_classes={k: list(v) for k, v in (keras.get("classes") or {}).items()},
        keras_compile=_compile_facts(keras.get("compile")),
        keras_custom_classes=_custom_classes(keras.get("customClasses")),
        keras_model_class=keras.get("modelClass") if isinstance(keras.get("modelClass"), str) else None,
        keras_sequential_shape_encoded=keras.get("sequentialShapeEncoded") if isinstance(keras.get("sequentialShapeEncoded"), bool) else None,
        meta_graph_tags=[list(t) for t in saved.get("metaGraphTags") or []],
        object_graph=saved.get("objectGraph"),
        saved_object_fields=list(saved.get("savedObjectFields") or []),
        keras_objects_without_metadata=(list(saved["kerasObjectsWithoutMetadata"])
                                        if isinstance(saved.get("kerasObjectsWithoutMetadata"), list) else None),
        pinned_devices=list(saved.get("pinnedDevices") or []),
        main_graph_pinned_devices=(list(saved["mainGraphPinnedDevices"])
                                   if isinstance(saved.get("mainGraphPinnedDevices"), list) else None),
        main_graph_non_default_attrs=(
            {op: list(a) for op, a in saved["mainGraphNonDefaultAttrs"].items()}
            if isinstance(saved.get("mainGraphNonDefaultAttrs"), dict) else None
        ),
        function_new_attrs=(
            {op: list(a) for op, a in saved["functionNewAttrs"].items()}
            if isinstance(saved.get("functionNewAttrs"), dict) else None
        ),
        variables=saved.get("variables"),
        missing_assets=list(saved.get("missingAssets") or []),
        signatures=list(spec.get("signatures") or []),
        digest=spec.get("digest") or None,
        source="profile",
    )


def _custom_classes(value: Any) -> Optional[dict[str, Optional[str]]]:
    if not isinstance(value, dict):
        return None
    return {str(k): v if isinstance(v, str) else None for k, v in value.items()}
