"""Chains: how the release knowledge stores one mapping per release compactly.

A chain holds the mapping of its first release in full and, for each later release, only the keys
whose value changed (or appeared) and the keys that went away:

    {"order": ["1.15", "2.0", ...], "full": {key: value}, "diffs": {"2.0": {"changed": {...}, "removed": [...]}}}

`chain()` builds one (tools/gen_knowledge.py); `unchain()` gives back every release's mapping.

A packed chain (`"packed": true`) holds each value as its own compact JSON text, decoded the first
time it is read: a command that judges one model reads a few dozen op definitions of the 1,400 a
release registers, and parsing all of them at start-up cost more than the rest of `tfguard inspect`.

A document holding packed chains is stored as JSON lines (`dumps_document` / `loads_document`):
the first line is the document with each packed value replaced by the number of the line that
holds its text, and each later line is one distinct value. Reading it parses that first line
only; JSON texts nested as strings in one JSON document would have to be unescaped whole, which
cost as much as parsing everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Iterator, Optional, Sequence


def chain(snapshots: Sequence[tuple[str, Mapping[str, Any]]], packed: bool = False) -> dict:
    """The chain of `snapshots`, a list of (release, mapping) oldest first; `packed`: each value
    stored as JSON text (see the module docstring)."""
    if packed:
        return {**chain([(name, {k: pack(v) for k, v in m.items()}) for name, m in snapshots]), "packed": True}
    if not snapshots:
        return {"order": [], "full": {}, "diffs": {}}
    (first, full), rest = snapshots[0], snapshots[1:]
    diffs = {}
    previous = full
    for name, current in rest:
        diffs[name] = {
            "changed": {k: v for k, v in sorted(current.items()) if k not in previous or previous[k] != v},
            "removed": sorted(set(previous) - set(current)),
        }
        previous = current
    return {"order": [name for name, _ in snapshots], "full": dict(sorted(full.items())), "diffs": diffs}


def unchain(data: Mapping) -> Mapping[str, Mapping[str, Any]]:
    """{release: read-only mapping} for every release of the chain `data`, each built when first
    asked for (a command asks for two or three of the two dozen)."""
    return _Unchained(data)


class _Unchained(Mapping):  # of str -> Mapping[str, Any]
    __slots__ = ("_data", "_order", "_built")

    def __init__(self, data: Mapping):
        self._data = data
        self._order = list(data["order"])
        self._built: dict[int, dict[str, Any]] = {}

    def _contents(self, index: int) -> dict[str, Any]:
        """The mapping of release `index`: from the nearest one built before it (or the first
        release's), with the diffs between them applied."""
        if index in self._built:
            return self._built[index]
        start = max((i for i in list(self._built) if i < index), default=None)  # list(): other threads may add
        current = dict(self._built[start] if start is not None else self._data["full"])
        for i in range((start if start is not None else 0) + 1, index + 1):
            diff = self._data["diffs"][self._order[i]]
            for key in diff["removed"]:
                current.pop(key, None)
            current.update(diff["changed"])
        self._built[index] = current
        return current

    def __getitem__(self, name: str) -> Mapping[str, Any]:
        try:
            index = self._order.index(name)
        except ValueError:
            raise KeyError(name) from None
        contents = self._contents(index)
        if self._data.get("packed"):
            return PackedMapping(contents, self._data.get("lines"))
        return MappingProxyType(contents)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


def pack(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def dumps_document(document: Mapping[str, Any]) -> str:
    """`document` (its packed chains as `chain(..., packed=True)` makes them) as JSON lines."""
    lines: dict[str, int] = {}

    def number(text: str) -> int:
        return lines.setdefault(text, len(lines) + 1)

    def numbered(node: Any) -> Any:
        if not isinstance(node, Mapping):
            return node
        if node.get("packed") is True and "order" in node:
            return {**node, "full": {k: number(v) for k, v in node["full"].items()},
                    "diffs": {name: {"changed": {k: number(v) for k, v in diff["changed"].items()},
                                     "removed": diff["removed"]} for name, diff in node["diffs"].items()}}
        return {k: numbered(v) for k, v in node.items()}

    header = json.dumps(numbered(document), sort_keys=True, separators=(",", ":"))
    return "\n".join([header, *lines]) + "\n"


def loads_document(data: bytes) -> dict:
    """The document `dumps_document` wrote; its packed chains read their values from `data`'s lines."""
    lines = _Lines(data.split(b"\n"))
    document = json.loads(lines.texts[0])

    def attach(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("packed") is True and "order" in node:
                node["lines"] = lines
            else:
                for value in node.values():
                    attach(value)

    attach(document)
    return document


class _Lines:
    """The lines of one document, each decoded the first time a mapping reads it."""

    __slots__ = ("texts", "decoded")

    def __init__(self, texts: list[bytes]):
        self.texts = texts
        self.decoded: dict[int, Any] = {}

    def value(self, number: int) -> Any:
        value = self.decoded.get(number)
        if value is None:
            value = self.decoded[number] = json.loads(self.texts[number])
        return value


_DECODED: dict[str, Any] = {}  # by text: a value unchanged between releases is decoded once


class PackedMapping(Mapping):  # of str -> Any
    """A read-only mapping whose values are JSON texts, or numbers of the lines of a document
    that hold them, decoded when first read."""

    __slots__ = ("_texts", "_lines")

    def __init__(self, texts: dict[str, Any], lines: Optional[_Lines] = None):
        self._texts = texts
        self._lines = lines

    def __getitem__(self, key: str) -> Any:
        text = self._texts[key]
        if self._lines is not None:
            return self._lines.value(text)
        value = _DECODED.get(text)
        if value is None:
            value = _DECODED[text] = json.loads(text)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)
