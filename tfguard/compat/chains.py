"""Chains: how the release knowledge stores one mapping per release compactly.

A chain holds the mapping of its first release in full and, for each later release, only the keys
whose value changed (or appeared) and the keys that went away:

    {"order": ["1.15", "2.0", ...], "full": {key: value}, "diffs": {"2.0": {"changed": {...}, "removed": [...]}}}

`chain()` builds one (tools/gen_knowledge.py); `unchain()` gives back every release's mapping.

A packed chain (`"packed": true`) holds each value as its own compact JSON text, decoded the first
time it is read: a command that judges one model reads a few dozen op definitions of the 1,400 a
release registers, and parsing all of them at start-up cost more than the rest of `tfguard inspect`.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence


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


def unchain(data: Mapping) -> dict[str, Mapping[str, Any]]:
    """{release: read-only mapping} for every release of the chain `data`."""
    out: dict[str, Mapping[str, Any]] = {}
    current: dict[str, Any] = {}
    for i, name in enumerate(data["order"]):
        if i == 0:
            current = dict(data["full"])
        else:
            diff = data["diffs"][name]
            current = dict(current)
            for key in diff["removed"]:
                current.pop(key, None)
            current.update(diff["changed"])
        out[name] = PackedMapping(current) if data.get("packed") else MappingProxyType(current)
    return out


def pack(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_DECODED: dict[str, Any] = {}  # by text: a value unchanged between releases is decoded once


class PackedMapping(Mapping[str, Any]):
    """A read-only mapping whose values are JSON texts, decoded when first read."""

    __slots__ = ("_texts",)

    def __init__(self, texts: dict[str, str]):
        self._texts = texts

    def __getitem__(self, key: str) -> Any:
        text = self._texts[key]
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
