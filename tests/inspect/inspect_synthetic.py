"""Synthetic SavedModels, Keras metadata, .keras zips and .h5 files, built without TensorFlow.

SavedModels are written with tfguard's own minimal schema (the fields tfguard reads, with TF's
field numbers); attr values are real AttrValue encodings so the bytes look like TF's.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Iterable, Optional

from tfguard.compat.inspect import schema

# AttrValue{type: DT_FLOAT} (field 6, varint 1) and AttrValue{s: "x"} (field 2): real encodings.
ATTR_TYPE_FLOAT = b"\x30\x01"
ATTR_STRING_X = b"\x12\x01x"

Node = tuple  # (name, op, [attr names])


def add_nodes(container, nodes: Iterable[Node]) -> None:
    for name, op, attrs in nodes:
        node = container.add(name=name, op=op)
        for attr in attrs:
            # AttrValue is a message in tfguard's schema (only its nesting fields declared): the real
            # encoding goes in as bytes it does not declare, kept as they are.
            node.attr[attr].MergeFromString(ATTR_TYPE_FLOAT)


def saved_model_message(
    nodes: Iterable[Node] = (("x", "Placeholder", ["dtype", "shape"]), ("y", "Relu", ["T"])),
    functions: Optional[dict[str, list[Node]]] = None,
    tensorflow_version: str = "2.15.1",
    git_version: str = "v2.15.0-11-g63f5a65c7cd",
    producer: int = 1645,
    min_consumer: int = 12,
    bad_consumers: Iterable[int] = (),
    signatures: Iterable[str] = ("serving_default", "__saved_model_init_op"),
    tags: Iterable[str] = ("serve",),
    extra_meta_graphs: Iterable = (),
):
    saved_model = schema.BINARY.SavedModel(saved_model_schema_version=1)
    meta_graph = saved_model.meta_graphs.add()
    meta_graph.meta_info_def.tensorflow_version = tensorflow_version
    meta_graph.meta_info_def.tensorflow_git_version = git_version
    meta_graph.meta_info_def.tags.extend(tags)
    graph = meta_graph.graph_def
    graph.versions.producer = producer
    graph.versions.min_consumer = min_consumer
    graph.versions.bad_consumers.extend(bad_consumers)
    add_nodes(graph.node, nodes)
    for fname, fnodes in (functions or {}).items():
        function = graph.library.function.add()
        function.signature.name = fname
        add_nodes(function.node_def, fnodes)
    for key in signatures:
        meta_graph.signature_def[key] = b"\x0a\x00"
    for extra in extra_meta_graphs:
        saved_model.meta_graphs.append(extra)
    return saved_model


def write_saved_model(directory: Path, saved_model=None, keras_metadata: Optional[bytes] = None, **kwargs) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    saved_model = saved_model if saved_model is not None else saved_model_message(**kwargs)
    (directory / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    (directory / "variables").mkdir(exist_ok=True)
    (directory / "variables" / "variables.index").write_bytes(b"index")
    (directory / "variables" / "variables.data-00000-of-00001").write_bytes(b"\0" * 64)
    if keras_metadata is not None:
        (directory / "keras_metadata.pb").write_bytes(keras_metadata)
    return directory


def keras_metadata_bytes(keras_version: str = "2.15.0", backend: str = "tensorflow", root_path: str = "root") -> bytes:
    metadata = schema.BINARY.KerasSavedMetadata()
    root = metadata.nodes.add(node_id=0, node_path=root_path, identifier="_tf_keras_sequential")
    root.metadata = json.dumps({"class_name": "Sequential", "keras_version": keras_version, "backend": backend})
    root.version.producer, root.version.min_consumer = 2, 1
    layer = metadata.nodes.add(node_id=1, node_path="root.layer-0", identifier="_tf_keras_layer")
    layer.metadata = json.dumps({"class_name": "Dense"})
    return metadata.SerializeToString()


def write_keras_zip(
    path: Path,
    keras_version: Optional[str] = "3.6.0",
    config: Optional[dict] = None,
    weights: bool = True,
) -> Path:
    config = config if config is not None else {"module": "keras", "class_name": "Sequential", "config": {}}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if keras_version is not None:
            archive.writestr("metadata.json", json.dumps({"keras_version": keras_version, "date_saved": "2025-01-01@00:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        if weights:
            archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 32)
    return path


def write_h5(path: Path, attrs: Optional[dict] = None) -> Path:
    import h5py

    attrs = {"keras_version": "2.15.0", "backend": "tensorflow", "model_config": '{"class_name": "Sequential"}'} if attrs is None else attrs
    with h5py.File(path, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        f.create_group("model_weights")
    return path
