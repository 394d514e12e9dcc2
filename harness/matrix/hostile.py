"""Broken and hostile artifacts, cut from real ones with the standard library (no TensorFlow).

Each function gets a copy of the real artifact (a SavedModel directory or a Keras file) and breaks
it in place. The protobuf surgery walks the wire format by hand: SavedModel.meta_graphs (field 2)
-> MetaGraphDef.graph_def (field 2) -> GraphDef.node (field 1), so the rest of the file stays as
the producer wrote it.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

TWO_GIB = 1 << 31


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(data: bytes) -> list[tuple[int, int, bytes]]:
    """(field number, wire type, raw bytes of the whole field) for each top-level field."""
    out, i = [], 0
    while i < len(data):
        start = i
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _read_varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = _read_varint(data, i)
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire} at byte {start}")
        out.append((number, wire, data[start:i]))
    return out


def _payload(raw: bytes) -> bytes:
    _, i = _read_varint(raw, 0)
    _, i = _read_varint(raw, i)
    return raw[i:]


def _rewrite_first(data: bytes, number: int, change) -> bytes:
    """`data` with its first length-delimited field `number` replaced by change(payload)."""
    parts, done = [], False
    for n, wire, raw in _fields(data):
        if n == number and wire == 2 and not done:
            raw = _field(number, change(_payload(raw)))
            done = True
        parts.append(raw)
    if not done:
        raise ValueError(f"no field {number}")
    return b"".join(parts)


def _nested_attr(depth: int) -> bytes:
    """An AttrValue whose func (NameAttrList) holds an AttrValue ... `depth` times."""
    value = b"\x18\x01"  # AttrValue.i = 1 (field 3, varint)
    for _ in range(depth):
        entry = _field(1, b"inner") + _field(2, value)  # map<string, AttrValue> entry
        name_attr_list = _field(1, b"f") + _field(2, entry)
        value = _field(10, name_attr_list)  # AttrValue.func
    return value


def _deep_node(depth: int) -> bytes:
    attr_entry = _field(1, b"nested") + _field(2, _nested_attr(depth))
    return _field(1, b"deeply_nested") + _field(2, b"NoOp") + _field(5, attr_entry)  # NodeDef name, op, attr


def deep_nesting(model: Path, depth: int = 200) -> None:
    pb = model / "saved_model.pb"
    data = pb.read_bytes()
    node = _field(1, _deep_node(depth))  # GraphDef.node
    pb.write_bytes(_rewrite_first(data, 2, lambda mg: _rewrite_first(mg, 2, lambda gd: gd + node)))


def oversize_pb(model: Path) -> None:
    """An unknown field (number 1000) whose payload runs past 2 GiB, written as a sparse file."""
    pb = model / "saved_model.pb"
    data = pb.read_bytes()
    length = TWO_GIB + (1 << 20)
    header = _varint(1000 << 3 | 2) + _varint(length)
    with open(pb, "wb") as f:
        f.write(data + header)
        f.truncate(len(data) + len(header) + length)


def truncate(path: Path, fraction: float) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * fraction))


def garbage_pb(model: Path) -> None:
    (model / "saved_model.pb").write_bytes(random.Random(20240601).randbytes(4096))


def _shard(model: Path) -> Path:
    return sorted((model / "variables").glob("variables.data-*"))[0]


CUTS = {
    "hostile_missing_index": lambda m: os.remove(m / "variables" / "variables.index"),
    "hostile_truncated_shard": lambda m: truncate(_shard(m), 0.5),
    "hostile_no_variables_dir": lambda m: shutil.rmtree(m / "variables"),
    "hostile_deep_nesting": deep_nesting,
    "hostile_oversize_pb": oversize_pb,
    "hostile_truncated_pb": lambda m: truncate(m / "saved_model.pb", 0.6),
    "hostile_garbage_pb": garbage_pb,
    "hostile_truncated_keras": lambda m: truncate(m, 0.5),
    "hostile_truncated_h5": lambda m: truncate(m, 0.5),
}


def cut(recipe: str, source: Path, target: Path) -> None:
    """Copy the real artifact `source` to `target` and break it the way `recipe` says."""
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    CUTS[recipe](target)
