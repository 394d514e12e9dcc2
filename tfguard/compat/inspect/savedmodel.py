"""SavedModel directories: saved_model.pb (or .pbtxt) and keras_metadata.pb, read without TF."""

from __future__ import annotations

import json
import os
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Optional

from google.protobuf import message as _message

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect import schema
from tfguard.errors import InspectError
from tfguard.compat.inspect.files import read_bounded
from tfguard.compat.inspect.limits import Limits

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
KERAS_METADATA_PB = "keras_metadata.pb"
SERVE_TAG = "serve"
# A signature key the SavedModel builder adds for its init op; not a serving signature.
INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"


def is_saved_model_dir(directory: Path) -> bool:
    # lexists: a broken or looping saved_model.pb link is still a (broken) SavedModel, reported as such
    return os.path.lexists(directory / SAVED_MODEL_PB) or os.path.lexists(directory / SAVED_MODEL_PBTXT)


def parse_saved_model(data: bytes, path: "Path | str" = SAVED_MODEL_PB) -> Any:
    """The SavedModel message in `data` (binary); InspectError if it is not one."""
    try:
        saved_model = schema.BINARY.SavedModel.FromString(data)
    except (_message.DecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid SavedModel protobuf: {_decode_problem(exc)}") from None
    if not len(saved_model.meta_graphs):
        raise InspectError(path, "not a SavedModel: it holds no MetaGraphDef")
    return saved_model


def parse_saved_model_text(text: bytes, path: "Path | str" = SAVED_MODEL_PBTXT) -> Any:
    from google.protobuf import text_format  # rare, and ~25 ms to import

    saved_model = schema.TEXT.SavedModel()
    try:
        text_format.Parse(text.decode("utf-8"), saved_model, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid SavedModel in text format: {_decode_problem(exc)}") from None
    if not len(saved_model.meta_graphs):
        raise InspectError(path, "not a SavedModel: it holds no MetaGraphDef")
    return saved_model


def _decode_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = str(exc).strip() or type(exc).__name__
    if text.startswith("Error parsing message"):  # upb says no more than that
        return "truncated or malformed"
    return text.splitlines()[0][:200]


def served_meta_graphs(saved_model: Any) -> list[Any]:
    """The MetaGraphDefs a loader would use: the only one, or those tagged `serve`, else all."""
    graphs = list(saved_model.meta_graphs)
    if len(graphs) > 1:
        serving = [g for g in graphs if SERVE_TAG in g.meta_info_def.tags]
        return serving or graphs
    return graphs


def collect_ops(graph_defs: Iterable[Any]) -> dict[str, set[str]]:
    """{op type: attr names its NodeDefs set} over the graphs and their function libraries.

    A node whose op names a library function is a call of that function, not an op.
    """
    op_attrs: dict[str, set[str]] = {}
    functions: set[str] = set()
    for graph_def in graph_defs:
        library = graph_def.library.function
        functions.update(f.signature.name for f in library)
        get = op_attrs.get
        # The hot loop of inspection (one pass per NodeDef): keep it to two field reads.
        for node in chain(graph_def.node, chain.from_iterable(f.node_def for f in library)):
            op = node.op
            attrs = get(op)
            if attrs is None:
                op_attrs[op] = set(node.attr)
            else:
                attrs.update(node.attr)
    for name in functions:
        op_attrs.pop(name, None)
    op_attrs.pop("", None)
    return op_attrs


def facts_from_saved_model(saved_model: Any, path: Optional[str] = None) -> ModelFacts:
    graphs = served_meta_graphs(saved_model)
    first = graphs[0]
    info = first.meta_info_def
    versions = first.graph_def.versions
    has_versions = first.graph_def.HasField("versions")
    op_attrs = collect_ops(g.graph_def for g in graphs)
    signatures = sorted({k for g in graphs for k in g.signature_def.keys()} - {INIT_OP_SIGNATURE_KEY})
    return ModelFacts(
        path=path,
        format="saved_model",
        saved_model_schema_version=saved_model.saved_model_schema_version,
        tensorflow_version=info.tensorflow_version or None,
        tensorflow_git_version=info.tensorflow_git_version or None,
        graph_producer=versions.producer if has_versions else None,
        graph_min_consumer=versions.min_consumer if has_versions else None,
        graph_bad_consumers=sorted(versions.bad_consumers),
        ops=sorted(op_attrs),
        op_attrs={op: sorted(attrs) for op, attrs in sorted(op_attrs.items())},
        signatures=signatures,
    )


def keras_metadata(data: bytes, path: "Path | str" = KERAS_METADATA_PB) -> dict[str, Any]:
    """keras_version and backend from keras_metadata.pb (the root object's JSON metadata)."""
    try:
        metadata = schema.BINARY.KerasSavedMetadata.FromString(data)
    except (_message.DecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid Keras metadata protobuf: {_decode_problem(exc)}") from None
    root = next((n for n in metadata.nodes if n.node_path == "root"), None)
    if root is None:
        root = next((n for n in metadata.nodes if n.node_id == 0), None)
    if root is None or not root.metadata:
        return {}
    try:
        values = json.loads(root.metadata)
    except (ValueError, RecursionError):
        raise InspectError(path, "the root object's metadata is not valid JSON") from None
    if not isinstance(values, dict):
        return {}
    return {k: values[k] for k in ("keras_version", "backend") if isinstance(values.get(k), str)}


def inspect_saved_model(directory: Path, limits: Limits) -> ModelFacts:
    pb, pbtxt = directory / SAVED_MODEL_PB, directory / SAVED_MODEL_PBTXT
    if os.path.lexists(pb) or not os.path.lexists(pbtxt):
        saved_model = parse_saved_model(read_bounded(pb, limits.saved_model_bytes, "saved_model_bytes"), pb)
    else:
        text = read_bounded(pbtxt, limits.saved_model_pbtxt_bytes, "saved_model_pbtxt_bytes")
        saved_model = parse_saved_model_text(text, pbtxt)
    facts = facts_from_saved_model(saved_model, str(directory))
    del saved_model
    metadata_path = directory / KERAS_METADATA_PB
    if metadata_path.exists():
        keras = keras_metadata(read_bounded(metadata_path, limits.keras_metadata_bytes, "keras_metadata_bytes"), metadata_path)
        facts.keras_format = "saved_model_keras"
        facts.keras_version = keras.get("keras_version")
        facts.keras_backend = keras.get("backend")
    return facts
