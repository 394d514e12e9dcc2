"""A cache bounded in bytes, not entries: what a client sends cannot grow what a process holds.

Keys are SHA-256 digests of everything the value depends on (32 bytes, whatever the request's
size); each value is charged its approximate size in memory; the least recently used entries go
first once the total passes the budget, and a value larger than a quarter of the budget is not
kept at all. Used by the webhook's verdict memo and the catalog lookups of `resolve`.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from typing import Any, Hashable, Optional

from tfguard import records

ENTRY_OVERHEAD = 240  # the OrderedDict slot, the 32-byte key, the (value, weight) pair


def digest(*parts: Any) -> bytes:
    """The key of a value computed from `parts` (strings, numbers, tuples of them)."""
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).digest()


def approximate_size(value: Any, _depth: int = 0) -> int:
    """Bytes a value holds, roughly: strings by length, containers and records by their parts.
    Shared objects are counted each time they are reached (an overestimate, never an underestimate
    of what the cache keeps alive)."""
    if _depth > 12:
        return 64
    if value is None or isinstance(value, (bool, int, float)):
        return 24
    if isinstance(value, (str, bytes)):
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return 64 + sum(approximate_size(k, _depth + 1) + approximate_size(v, _depth + 1) + 16 for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return 56 + sum(approximate_size(v, _depth + 1) + 8 for v in value)
    if records.is_record(value):
        return 56 + sum(approximate_size(getattr(value, f.name), _depth + 1) + 8 for f in records.fields(value))
    return sys.getsizeof(value)


class BoundedMemo:
    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self.bytes = 0
        self._entries: "OrderedDict[Hashable, tuple[Any, int]]" = OrderedDict()
        self._lock = threading.Lock()  # large admissions are judged in worker threads

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Optional[Any]:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            self._entries.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any, weight: Optional[int] = None) -> None:
        if not self.max_bytes:
            return
        weight = (approximate_size(value) if weight is None else weight) + ENTRY_OVERHEAD
        if weight > self.max_bytes // 4:
            return  # one huge value would push out everything else
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, weight)
            self.bytes += weight
            while self.bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
