"""The protobuf wire format read without a schema: varints and the top-level fields of a message.

For the few places that need less than a parse (which fields a message sets, a small message's
integers) or read formats that are not protobuf but borrow its varints (TensorBundle tables).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Iterator, Optional


class WireError(ValueError):
    """The bytes are not a well-formed message (or varint)."""


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it); WireError when it runs past the end or past 64 bits."""
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def payloads(message: bytes, number: int) -> Iterator[bytes]:
    """The bytes of each length-delimited top-level field `number` (a submessage, a string), in order."""
    for found, wire, _, start, end in _scan(message):
        if found == number and wire == 2:
            yield message[start:end]


def fields(message: bytes) -> Iterator[tuple[int, int, Optional[int]]]:
    """(field number, wire type, value for varint fields else None) of each top-level field, in
    order. WireError at a group (TF's protos use none) or a field that runs past the end."""
    for number, wire, value, _, _ in _scan(message):
        yield number, wire, value


def _scan(message: bytes) -> Iterator[tuple[int, int, Optional[int], int, int]]:
    """(number, wire type, varint value or None, start, end of the field's payload) of each field."""
    pos, end = 0, len(message)
    while pos < end:
        tag, pos = varint(message, pos)
        number, wire = tag >> 3, tag & 7
        value, start = None, pos
        if wire == 0:
            value, pos = varint(message, pos)
        elif wire == 2:
            length, start = varint(message, pos)
            pos = start + length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise WireError(f"wire type {wire}")
        if pos > end:
            raise WireError("a field runs past the end of its message")
        yield number, wire, value, start, pos
