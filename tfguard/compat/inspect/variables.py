"""A SavedModel's variables: is the checkpoint there and whole, as the loaders will read it?

`variables/variables.index` is a TensorBundle index: a LevelDB-format table (TF's
tensorflow/core/lib/io/table_format) whose entries map each tensor's name to a BundleEntryProto
(shard, offset, size), and whose empty key holds the BundleHeaderProto (number of shards). Every
loader restores from it: a missing index, a missing shard or a shard shorter than an entry says
fails the load in every release. Reading the index costs a few table blocks, not the data.
"""

from __future__ import annotations

import os
import struct

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Iterator, Optional

from tfguard.compat.inspect import wire
from tfguard.compat.inspect.files import read_bounded
from tfguard.errors import InspectError

INDEX = "variables.index"
_FOOTER = 48  # two BlockHandles padded to 40 bytes, then the 8-byte magic
_MAGIC = 0xDB4775248B80FB57
_TRAILER = 5  # a block's compression type byte and its crc32c
_MAX_ENTRIES = 1_000_000
_INDEX_LIMIT = 256 << 20

# Outcomes, as ModelFacts.variables records them.
WHOLE = "whole"  # index and every shard present, no entry past a shard's end
NONE = "none"  # the model has no variables directory and needs none
MISSING_DIRECTORY = "missing_directory"
MISSING_INDEX = "missing_index"
MISSING_SHARD = "missing_shard"
TRUNCATED_SHARD = "truncated_shard"
UNREADABLE_INDEX = "unreadable_index"
NOT_CHECKED = "not_checked"  # a compressed index: tfguard does not decompress it
BROKEN = (MISSING_DIRECTORY, MISSING_INDEX, MISSING_SHARD, TRUNCATED_SHARD, UNREADABLE_INDEX)


class _Bad(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    try:
        return wire.varint(data, pos)
    except wire.WireError as exc:
        raise _Bad(str(exc)) from None


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset < 0 or size < 0 or offset + size + _TRAILER > len(data):
        raise _Bad("a block lies outside the file")
    if data[offset + size] != 0:
        raise NotImplementedError("compressed block")
    return data[offset : offset + size]


def _entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise _Bad("block too short")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise _Bad("block restart array larger than the block")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + length > end:
            raise _Bad("entry runs past its block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def _fields(message: bytes) -> dict[int, int]:
    """The varint fields of a small message (BundleEntryProto, BundleHeaderProto), by number."""
    try:
        return {number: value for number, kind, value in wire.fields(message) if kind == 0}
    except wire.WireError as exc:
        raise _Bad(f"bundle entry: {exc}") from None


def shard_extents(index: bytes) -> tuple[int, dict[int, int]]:
    """(number of shards, {shard: bytes the entries need}) from a variables.index."""
    if len(index) < _FOOTER or struct.unpack_from("<Q", index, len(index) - 8)[0] != _MAGIC:
        raise _Bad("not a TensorBundle index (no table magic)")
    footer = index[len(index) - _FOOTER :]
    _, pos = _varint(footer, 0)
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    shards, needed, seen = 1, {}, 0
    for _, handle in _entries(_block(index, index_offset, index_size)):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _entries(_block(index, offset, size)):
            seen += 1
            if seen > _MAX_ENTRIES:
                raise _Bad(f"more than {_MAX_ENTRIES} entries")
            fields = _fields(value)
            if key == b"":
                shards = fields.get(1, 1) or 1
                continue
            end = fields.get(4, 0) + fields.get(5, 0)
            shard = fields.get(3, 0)
            needed[shard] = max(needed.get(shard, 0), end)
    return shards, needed


def check_variables(directory: str, needs_variables: bool) -> Optional[str]:
    """What a loader will find when it restores the SavedModel's variables (one of the outcomes above)."""
    variables = os.path.join(directory, "variables")
    if not os.path.isdir(variables):
        return MISSING_DIRECTORY if needs_variables else NONE
    index_path = os.path.join(variables, INDEX)
    if not os.path.exists(index_path):
        return MISSING_INDEX if needs_variables else NONE
    try:
        index = read_bounded(index_path, _INDEX_LIMIT, "variables_index_bytes")
        shards, needed = shard_extents(index)
    except NotImplementedError:
        return NOT_CHECKED
    except (_Bad, struct.error, InspectError):
        return UNREADABLE_INDEX
    for shard in range(shards):
        data = os.path.join(variables, f"variables.data-{shard:05d}-of-{shards:05d}")
        try:
            size = os.stat(data).st_size
        except OSError:
            return MISSING_SHARD
        if size < needed.get(shard, 0):
            return TRUNCATED_SHARD
    return WHOLE
