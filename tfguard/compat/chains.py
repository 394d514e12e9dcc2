"""Chains: how the release knowledge stores one mapping per release compactly.

A chain holds the mapping of its first release in full and, for each later release, only the keys
whose value changed (or appeared) and the keys that went away:

    {"order": ["1.15", "2.0", ...], "full": {key: value}, "diffs": {"2.0": {"changed": {...}, "removed": [...]}}}

`chain()` builds one (tools/gen_knowledge.py); `unchain()` gives back every release's mapping.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Sequence


def chain(snapshots: Sequence[tuple[str, Mapping[str, Any]]]) -> dict:
    """The chain of `snapshots`, a list of (release, mapping) oldest first."""
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
        out[name] = MappingProxyType(current)
    return out
