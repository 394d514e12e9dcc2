"""The source of the minimal protobuf schema for the parts of a SavedModel tfguard reads.

Not imported at run time: `python -m tfguard.compat.inspect.schema_source` writes the two schemas,
serialized, into schema_descriptors.py, which `schema` loads (importing descriptor_pb2 to build them
costs more than all of the rest of `tfguard inspect`; a test keeps the two in step).

No protoc and no TensorFlow generated code: the messages below declare only the fields tfguard
needs, with TensorFlow's field numbers (tensorflow/core/protobuf/saved_model.proto and
meta_graph.proto; tensorflow/core/framework/graph.proto, node_def.proto, function.proto,
versions.proto, op_def.proto; keras/protobuf/saved_metadata.proto). Every other field is skipped
by the parser as an unknown field.

Two flavours of the same schema live in two private pools:
- `BINARY`: values tfguard never looks into (SignatureDef, CollectionDef, SavedObject, SaverDef) are
  declared `bytes`, which has the same wire encoding as a message, so the parser keeps them as
  opaque bytes instead of decoding them.
- `TEXT`: for `saved_model.pbtxt`, the same values are empty messages (text format needs a
  message there; their contents are skipped as unknown fields).
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_PACKAGE = "tfguard.inspect"


def _field(name: str, number: int, kind: int, label: int = _OPTIONAL, type_name: str = "") -> _F:
    field = _F(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = f".{_PACKAGE}.{type_name}"
    return field


def _message(name: str, *fields: _F) -> descriptor_pb2.DescriptorProto:
    return descriptor_pb2.DescriptorProto(name=name, field=list(fields))


def _map(parent: descriptor_pb2.DescriptorProto, name: str, number: int, value: _F) -> None:
    """Add `map<string, ...> name = number` to `parent` (a repeated nested *Entry message)."""
    entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
    entry = parent.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    entry.field.append(_field("key", 1, _F.TYPE_STRING))
    value.name, value.number = "value", 2
    entry.field.append(value)
    parent.field.append(_field(name, number, _F.TYPE_MESSAGE, _REPEATED, f"{parent.name}.{entry_name}"))


def _file(name: str, opaque_values: bool) -> descriptor_pb2.FileDescriptorProto:
    def opaque(type_name: str) -> _F:
        if opaque_values:
            return _F(type=_F.TYPE_BYTES, label=_OPTIONAL)
        return _F(type=_F.TYPE_MESSAGE, label=_OPTIONAL, type_name=f".{_PACKAGE}.{type_name}")

    S, I32, I64 = _F.TYPE_STRING, _F.TYPE_INT32, _F.TYPE_INT64
    MSG = _F.TYPE_MESSAGE

    # versions.proto: VersionDef (also keras/protobuf/versions.proto, same numbers)
    version_def = _message(
        "VersionDef",
        _field("producer", 1, I32),
        _field("min_consumer", 2, I32),
        _field("bad_consumers", 3, I32, _REPEATED),
    )
    B = _F.TYPE_BYTES
    def blob(name: str, number: int, type_name: str, label: int = _OPTIONAL) -> _F:
        """Bytes in the binary flavour; an empty message (its contents skipped) in the text one."""
        if opaque_values:
            return _field(name, number, B, label)
        return _field(name, number, MSG, label, type_name)

    # node_def.proto: NodeDef; the attr names matter, not their values; the device a node is pinned to
    node_def = _message("NodeDef", _field("name", 1, S), _field("op", 2, S), _field("device", 4, S))
    # attr_value.proto: of an AttrValue only what can nest (a function and its own attrs, in `func` or
    # in `list.func`) is declared, so protobuf's recursion limit applies as it does in TensorFlow: a
    # graph nested past it fails here exactly as it fails there. Every other value is skipped.
    attr_value = _message(
        "AttrValue",
        _field("list", 1, MSG, type_name="AttrListValue"),
        _field("func", 10, MSG, type_name="NameAttrList"),
    )
    attr_list = _message("AttrListValue", _field("func", 9, MSG, _REPEATED, "NameAttrList"))
    name_attr_list = _message("NameAttrList")
    _map(name_attr_list, "attr", 2, _F(type=MSG, label=_OPTIONAL, type_name=f".{_PACKAGE}.AttrValue"))
    _map(node_def, "attr", 5, _F(type=MSG, label=_OPTIONAL, type_name=f".{_PACKAGE}.AttrValue"))
    # op_def.proto: OpDef (a FunctionDef's signature; its name is the function's name)
    # op_def.proto OpDef: a FunctionDef's signature (its name is the function's name), and the
    # producer's own OpDefs in MetaInfoDef.stripped_op_list, whose attr defaults say which attrs a
    # node sets to a non-default value (an importer drops an unknown attr left at its default).
    attr_def = _message("AttrDef", _field("name", 1, S), blob("default_value", 3, "AttrValue"))
    op_def = _message("OpDef", _field("name", 1, S), _field("attr", 4, MSG, _REPEATED, "AttrDef"))
    op_list = _message("OpList", _field("op", 1, MSG, _REPEATED, "OpDef"))
    # function.proto
    function_def = _message(
        "FunctionDef",
        _field("signature", 1, MSG, type_name="OpDef"),
        _field("node_def", 3, MSG, _REPEATED, "NodeDef"),
    )
    function_library = _message(
        "FunctionDefLibrary", _field("function", 1, MSG, _REPEATED, "FunctionDef")
    )
    # graph.proto
    graph_def = _message(
        "GraphDef",
        _field("node", 1, MSG, _REPEATED, "NodeDef"),
        _field("library", 2, MSG, type_name="FunctionDefLibrary"),
        _field("versions", 4, MSG, type_name="VersionDef"),
    )
    # meta_graph.proto
    meta_info_def = _message(
        "MetaInfoDef",
        _field("stripped_op_list", 2, MSG, type_name="OpList"),
        _field("tags", 4, S, _REPEATED),
        _field("tensorflow_version", 5, S),
        _field("tensorflow_git_version", 6, S),
    )
    # meta_graph.proto AssetFileDef, and saved_object_graph.proto SavedObjectGraph, whose nodes are
    # kept as bytes: only which fields each SavedObject sets matters (its `kind`), read by a scan.
    asset_file_def = _message("AssetFileDef", _field("filename", 2, S))
    saved_object_graph = _message("SavedObjectGraph", blob("nodes", 1, "SavedObject", _REPEATED))
    meta_graph_def = _message(
        "MetaGraphDef",
        _field("meta_info_def", 1, MSG, type_name="MetaInfoDef"),
        _field("graph_def", 2, MSG, type_name="GraphDef"),
        blob("saver_def", 3, "SaverDef"),
        _field("asset_file_def", 6, MSG, _REPEATED, "AssetFileDef"),
        _field("object_graph_def", 7, MSG, type_name="SavedObjectGraph"),
    )
    _map(meta_graph_def, "signature_def", 5, opaque("SignatureDef"))
    _map(meta_graph_def, "collection_def", 4, opaque("CollectionDef"))
    # saved_model.proto
    saved_model = _message(
        "SavedModel",
        _field("saved_model_schema_version", 1, I64),
        _field("meta_graphs", 2, MSG, _REPEATED, "MetaGraphDef"),
    )
    # keras/protobuf/saved_metadata.proto (keras_metadata.pb)
    keras_object = _message(
        "KerasSavedObject",
        _field("node_id", 2, I32),
        _field("node_path", 3, S),
        _field("identifier", 4, S),
        _field("metadata", 5, S),
        _field("version", 6, MSG, type_name="VersionDef"),
    )
    keras_metadata = _message(
        "KerasSavedMetadata", _field("nodes", 1, MSG, _REPEATED, "KerasSavedObject")
    )

    messages = [
        attr_value, attr_list, name_attr_list, version_def, node_def, attr_def, op_def, op_list, function_def, function_library, graph_def,
        meta_info_def, asset_file_def, saved_object_graph, meta_graph_def, saved_model, keras_object, keras_metadata,
    ]
    if not opaque_values:
        messages += [_message(n) for n in ("SignatureDef", "CollectionDef", "SavedObject", "SaverDef")]
    return descriptor_pb2.FileDescriptorProto(
        name=name, package=_PACKAGE, syntax="proto3", message_type=messages
    )


FILES = {
    "BINARY": _file("tfguard/inspect/saved_model_binary.proto", opaque_values=True),
    "TEXT": _file("tfguard/inspect/saved_model_text.proto", opaque_values=False),
}


def generated_module() -> str:
    lines = [
        '"""Generated by `python -m tfguard.compat.inspect.schema_source`: do not edit.',
        "",
        "The serialized FileDescriptorProtos of schema_source.py (see there for what they declare).",
        '"""',
        "",
    ]
    for name, proto in FILES.items():
        lines.append(f"{name} = {proto.SerializeToString()!r}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("schema_descriptors.py")
    target.write_text(generated_module())
    print(f"wrote {target}")
