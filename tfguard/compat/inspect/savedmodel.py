"""SavedModel directories: saved_model.pb (or .pbtxt) and keras_metadata.pb, read without TF."""

from __future__ import annotations

import json
import os
import re
from itertools import chain

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Iterable, Optional

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect import wire
from tfguard.compat.inspect.files import read_bounded
from tfguard.compat.inspect.keras_config import compile_facts, keras_classes
from tfguard.compat.inspect.limits import Limits
from tfguard.compat.inspect.variables import check_variables
from tfguard.errors import InspectError

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
KERAS_METADATA_PB = "keras_metadata.pb"
SERVE_TAG = "serve"
PROTOBUF_LIMIT = 2 << 30  # protobuf refuses to parse a message of 2 GiB or more
# A signature key the SavedModel builder adds for its init op; not a serving signature.
INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"
SAVED_USER_OBJECT = 4  # saved_object_graph.proto: SavedObject.user_object (a `kind`)
USER_OBJECT_IDENTIFIER = 1  # SavedUserObject.identifier
USER_OBJECT_METADATA = 3  # SavedUserObject.metadata (Keras's JSON, up to TF 2.5)


def is_saved_model_dir(directory: "os.PathLike[str] | str") -> bool:
    # lexists: a broken or looping saved_model.pb link is still a (broken) SavedModel, reported as such
    return (os.path.lexists(os.path.join(directory, SAVED_MODEL_PB))
            or os.path.lexists(os.path.join(directory, SAVED_MODEL_PBTXT)))


def parse_saved_model(data: bytes, path: "os.PathLike[str] | str" = SAVED_MODEL_PB) -> Any:
    """The SavedModel message in `data` (binary); InspectError if it is not one."""
    if len(data) >= PROTOBUF_LIMIT:
        raise InspectError(path, f"{len(data) / (1 << 30):.1f} GiB: protobuf (and so TensorFlow) parses no message "
                           "of 2 GiB or more", unloadable=True)
    from google.protobuf import message as _message

    from tfguard.compat.inspect import schema  # protobuf: imported where a message is parsed (not for .keras/.h5)

    try:
        saved_model = schema.BINARY.SavedModel.FromString(data)
    except (_message.DecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid SavedModel protobuf: {_decode_problem(exc)}; TensorFlow cannot "
                           "parse it either", unloadable=True) from None
    if not len(saved_model.meta_graphs):
        raise InspectError(path, "not a SavedModel: it holds no MetaGraphDef", unloadable=True)
    return saved_model


def parse_saved_model_text(text: bytes, path: "os.PathLike[str] | str" = SAVED_MODEL_PBTXT) -> Any:
    from google.protobuf import text_format  # rare, and ~25 ms to import

    from tfguard.compat.inspect import schema

    saved_model = schema.TEXT.SavedModel()
    try:
        text_format.Parse(text.decode("utf-8"), saved_model, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid SavedModel in text format: {_decode_problem(exc)}") from None
    if not len(saved_model.meta_graphs):
        raise InspectError(path, "not a SavedModel: it holds no MetaGraphDef")
    return saved_model


def _decode_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError) or "MaxDepth" in str(exc) or "recursion" in str(exc).lower():
        return "nested deeper than protobuf's recursion limit (100)"
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


# Ops that hold variables: a SavedModel using them cannot load without its checkpoint.
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "AutoReloadVariable"})
_DEVICE = r"device:([A-Za-z_]+)(?::|$)"
_LEGACY_DEVICE = r"(?i)(?:^|/)(cpu|gpu|tpu)(?::|$)"  # TF1's "/gpu:0"


def top_level_fields(message: bytes) -> set[int]:
    """The field numbers a serialized message sets at its top level (a wire-format scan, no schema);
    a malformed tail ends the scan with what was read before it."""
    numbers: set[int] = set()
    try:
        for number, _, _ in wire.fields(message):
            numbers.add(number)
    except wire.WireError:
        pass
    return numbers


def _keras_user_object(node: bytes) -> tuple[set[str], list[str]]:
    """Of a serialized SavedObject's Keras user_object: its identifiers when it carries no metadata, and
    the metadata it carries (the JSON that TF 2.0-2.4 kept here; keras_metadata.pb came with 2.5)."""
    try:
        without, metadata = set(), []
        for user in wire.payloads(node, SAVED_USER_OBJECT):
            identifiers = [i.decode("utf-8", "replace") for i in wire.payloads(user, USER_OBJECT_IDENTIFIER)
                           if i.startswith(b"_tf_keras")]
            texts = [m.decode("utf-8", "replace") for m in wire.payloads(user, USER_OBJECT_METADATA) if m]
            if not texts:
                without.update(identifiers)
            elif identifiers:
                metadata.extend(texts)
        return without, metadata
    except wire.WireError:
        return set(), []


def device_type(device: str) -> Optional[str]:
    """"/device:GPU:0", "/job:w/replica:0/task:0/device:GPU:1", "/gpu:0" -> "GPU"."""
    match = re.search(_DEVICE, device) or re.search(_LEGACY_DEVICE, device)
    return match.group(1).upper() if match else None


def non_default_new_attrs(graphs: list[Any]) -> dict[str, list[str]]:
    """{op: attrs} that main-graph nodes set to a non-default value, among the attrs the oldest release
    tfguard knows does not declare for that op (the only ones a runtime can lack)."""
    from tfguard.compat import releases

    oldest = releases.oldest_op_attrs()
    found: dict[str, set[str]] = {}
    for graph in graphs:
        defaults = {
            op.name: {a.name: a.default_value for a in op.attr} for op in graph.meta_info_def.stripped_op_list.op
        }
        for node in graph.graph_def.node:
            known = oldest.get(node.op, ())
            for name in node.attr:
                if name in known or name[:1] == "_":
                    continue
                default = defaults.get(node.op, {}).get(name)
                if default is None or node.attr[name].SerializeToString() != default:
                    found.setdefault(node.op, set()).add(name)
    return {op: sorted(attrs) for op, attrs in sorted(found.items())}


def function_nodes(graphs: list[Any]) -> tuple[set[Optional[str]], dict[str, list[str]]]:
    """What nodes inside functions set, in one pass: the device types they are pinned to, and
    {op: attrs} among those the oldest release tfguard knows does not declare for that op."""
    from tfguard.compat import releases

    oldest = releases.oldest_op_attrs()
    devices: set[Optional[str]] = set()
    found: dict[str, set[str]] = {}
    for graph in graphs:
        for function in graph.graph_def.library.function:
            for node in function.node_def:
                if node.device:
                    devices.add(device_type(node.device))
                known = oldest.get(node.op)
                if known is None:
                    continue  # an op the oldest release lacks (or a call of a function): judged as an op
                for name in node.attr:
                    if name not in known and name[:1] != "_":
                        found.setdefault(node.op, set()).add(name)
    return devices, {op: sorted(attrs) for op, attrs in sorted(found.items())}


def facts_from_saved_model(saved_model: Any, path: Optional[str] = None) -> ModelFacts:
    return _facts_and_keras_metadata(saved_model, path)[0]


def _facts_and_keras_metadata(saved_model: Any, path: Optional[str]) -> tuple[ModelFacts, list[tuple[bool, str]]]:
    """The model's facts, and (is the root, JSON) of each Keras object's metadata kept in the object graph."""
    graphs = served_meta_graphs(saved_model)
    first = graphs[0]
    info = first.meta_info_def
    versions = first.graph_def.versions
    has_versions = first.graph_def.HasField("versions")
    op_attrs = collect_ops(g.graph_def for g in graphs)
    signatures = sorted({k for g in graphs for k in g.signature_def.keys()} - {INIT_OP_SIGNATURE_KEY})
    main_devices = {device_type(node.device) for g in graphs for node in g.graph_def.node if node.device}
    function_devices, function_attrs = function_nodes(graphs)
    devices = main_devices | function_devices
    object_graph = first.HasField("object_graph_def")
    kinds: set[int] = set()
    keras_identifiers: Optional[set[str]] = set() if object_graph else None
    in_graph: list[tuple[bool, str]] = []
    for node_id, node in enumerate(first.object_graph_def.nodes if object_graph else ()):
        if not isinstance(node, bytes):
            keras_identifiers = None  # a text SavedModel: its objects are not read
            continue
        fields = top_level_fields(node)
        kinds |= fields
        if keras_identifiers is not None and SAVED_USER_OBJECT in fields:
            without, metadata = _keras_user_object(node)
            keras_identifiers |= without
            in_graph.extend((node_id == 0, text) for text in metadata)
    facts = ModelFacts(
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
        meta_graph_tags=[sorted(g.meta_info_def.tags) for g in saved_model.meta_graphs],
        object_graph=object_graph,
        saved_object_fields=sorted(kinds),
        keras_objects_without_metadata=None if keras_identifiers is None else sorted(keras_identifiers),
        pinned_devices=sorted(d for d in devices if d and d != "CPU"),
        main_graph_pinned_devices=sorted(d for d in main_devices if d and d != "CPU"),
        main_graph_non_default_attrs=non_default_new_attrs(graphs),
        function_new_attrs=function_attrs,
    )
    return facts, in_graph if keras_identifiers is not None else []


def keras_metadata(data: bytes, path: "os.PathLike[str] | str" = KERAS_METADATA_PB) -> dict[str, Any]:
    """From keras_metadata.pb: keras_version and backend (the root object's JSON metadata), the
    classes and config keys of every object Keras 2 revives, and the root's training config."""
    from google.protobuf import message as _message

    from tfguard.compat.inspect import schema

    try:
        metadata = schema.BINARY.KerasSavedMetadata.FromString(data)
    except (_message.DecodeError, RecursionError, ValueError) as exc:
        raise InspectError(path, f"not a valid Keras metadata protobuf: {_decode_problem(exc)}") from None
    return keras_facts(((n.node_path == "root" or n.node_id == 0, n.metadata) for n in metadata.nodes), path)


def keras_facts(nodes: Iterable[tuple[bool, str]], path: "os.PathLike[str] | str") -> dict[str, Any]:
    """What keras_metadata says, from (is the root, JSON metadata) of each Keras object."""
    classes: dict[str, set[str]] = {}
    root_values: dict[str, Any] = {}
    encoded_shapes = False
    for is_root, text in nodes:
        if not text:
            continue
        try:
            values = json.loads(text)
        except (ValueError, RecursionError):
            if is_root:
                raise InspectError(path, "the root object's metadata is not valid JSON") from None
            continue
        if not isinstance(values, dict):
            continue
        if is_root and not root_values:
            root_values = values
        shape = values.get("build_input_shape")
        encoded_shapes = encoded_shapes or (values.get("class_name") == "Sequential" and isinstance(shape, dict)
                                            and shape.get("class_name") == "TensorShape")
        model = {k: v for k, v in values.items() if k != "training_config"}
        for key, keys in keras_classes(model).items():
            classes.setdefault(key, set()).update(keys)
    facts: dict[str, Any] = {k: root_values[k] for k in ("keras_version", "backend") if isinstance(root_values.get(k), str)}
    facts["classes"] = {key: sorted(keys) for key, keys in sorted(classes.items())}
    facts["compile"] = compile_facts(root_values.get("training_config"))
    facts["sequential_shape_encoded"] = encoded_shapes
    facts["model_class"] = root_values.get("class_name") if isinstance(root_values.get("class_name"), str) else None
    return facts


def inspect_saved_model(directory: str, limits: Limits) -> ModelFacts:
    pb, pbtxt = os.path.join(directory, SAVED_MODEL_PB), os.path.join(directory, SAVED_MODEL_PBTXT)
    try:
        size = os.stat(pb).st_size
    except OSError:
        size = 0  # read_bounded says what is wrong with it
    if size >= PROTOBUF_LIMIT:
        raise InspectError(pb, f"{size / (1 << 30):.1f} GiB: protobuf (and so TensorFlow) parses no message "
                           "of 2 GiB or more", unloadable=True)
    if os.path.lexists(pb) or not os.path.lexists(pbtxt):
        saved_model = parse_saved_model(read_bounded(pb, limits.saved_model_bytes, "saved_model_bytes"), pb)
    else:
        text = read_bounded(pbtxt, limits.saved_model_pbtxt_bytes, "saved_model_pbtxt_bytes")
        saved_model = parse_saved_model_text(text, pbtxt)
    facts, in_graph = _facts_and_keras_metadata(saved_model, directory)
    assets = {a.filename for g in served_meta_graphs(saved_model) for a in g.asset_file_def if a.filename}
    del saved_model
    facts.missing_assets = sorted(name for name in assets if not os.path.exists(os.path.join(directory, "assets", name)))
    facts.variables = check_variables(directory, needs_variables=not VARIABLE_OPS.isdisjoint(facts.ops))
    metadata_path = os.path.join(directory, KERAS_METADATA_PB)
    keras = None
    if os.path.exists(metadata_path):
        keras = keras_metadata(read_bounded(metadata_path, limits.keras_metadata_bytes, "keras_metadata_bytes"), metadata_path)
    elif in_graph:
        keras = keras_facts(in_graph, pb)
    if keras is not None:
        facts.keras_format = "saved_model_keras"
        facts.keras_version = keras.get("keras_version")
        facts.keras_backend = keras.get("backend")
        facts.keras_classes = keras.get("classes") or {}
        facts.keras_compile = keras.get("compile")
        facts.keras_sequential_shape_encoded = keras.get("sequential_shape_encoded")
        facts.keras_model_class = keras.get("model_class")
    return facts
