"""Custom-op libraries: the ops tensorflow-text, TensorFlow Decision Forests and TensorFlow Addons
register, release by release, and which of them a TF Serving image links in.

The op lists are measured from the real wheels (data/oplibs.json, written by tools/gen_oplibs.py:
TF's own op registry before and after the library's import and its shared objects' loading); what
TF Serving links statically is documented in its release notes (data/tf_serving.json,
`statically_linked_op_libraries`). Pure lookups, loaded once: safe on the admission path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

DATA = Path(__file__).parent / "data"


def _key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    path = DATA / "oplibs.json"
    return json.loads(path.read_text()) if path.exists() else {"libraries": {}}


def release_ops(release: dict[str, Any], files: Optional[tuple[str, ...]] = None) -> frozenset[str]:
    """The ops one measured release registers (only those of `files`, its shared objects, if given)."""
    by_file = release.get("ops_by_file") or {}
    if files is not None:
        return frozenset(op for name in files for op in by_file.get(name, ()))
    return frozenset(release.get("ops_on_import") or ()) | frozenset(release.get("ops_lazy") or ()) | frozenset(
        op for ops in by_file.values() for op in ops)


@lru_cache(maxsize=1)
def _by_op() -> dict[str, dict[str, list[str]]]:
    """op -> library -> the measured releases that register it, oldest first."""
    found: dict[str, dict[str, list[str]]] = {}
    for library, entry in data().get("libraries", {}).items():
        for release in sorted(entry.get("releases") or [], key=lambda r: _key(r["version"])):
            for op in release_ops(release):
                found.setdefault(op, {}).setdefault(library, []).append(release["version"])
    return found


def providers(op: str) -> list[tuple[str, list[str]]]:
    """[(library, [its measured releases that register `op`])]; empty when no library provides it."""
    return sorted((_by_op().get(op) or {}).items())


def load_hint(library: str) -> str:
    """What makes the library's ops exist in a Python process, e.g. `import tensorflow_text`."""
    return (data().get("libraries", {}).get(library) or {}).get("load") or f"import {library.replace('-', '_')}"


def release_for(library: str, versions: list[str], tensorflow: Optional[str]) -> Optional[str]:
    """Of `versions` (releases of `library` that register an op), the newest built for the TF minor of
    `tensorflow`; None when none is (or the TF release is not known)."""
    if not tensorflow:
        return None
    minor = ".".join(tensorflow.split(".")[:2])
    built = {r["version"]: r.get("built_for") or [] for r in
             (data().get("libraries", {}).get(library) or {}).get("releases") or []}
    fitting = [v for v in versions if minor in built.get(v, [])]
    return max(fitting, key=_key) if fitting else None


@dataclass(frozen=True)
class Provided:
    """What the libraries say about ops a runtime does not register."""

    message: str  # "; A, B provided by tensorflow-text 2.15.0 (...)"
    fix: Optional[str]  # set when every missing op comes from a library
    details: dict[str, list[dict[str, Any]]]  # op -> [{"library", "versions"}]


def explain_missing(missing: Iterable[str], tensorflow: Optional[str], serving_only: bool,
                    listed=lambda ops: ", ".join(ops)) -> Optional[Provided]:
    """For ops a TF release lacks: the libraries that provide them, naming the release built for that
    TF where there is one. None when no library provides any of them."""
    missing = list(missing)
    details: dict[str, list[dict[str, Any]]] = {}
    by_library: dict[str, tuple[list[str], set[str]]] = {}
    for op in missing:
        found = providers(op)
        if found:
            details[op] = [{"library": library, "versions": versions} for library, versions in found]
        for library, versions in found:
            ops, seen = by_library.setdefault(library, ([], set()))
            ops.append(op)
            seen.update(versions)
    if not details:
        return None
    minor = ".".join(tensorflow.split(".")[:2]) if tensorflow else None
    notes, names = [], []
    for library, (ops, versions) in sorted(by_library.items()):
        chosen = release_for(library, sorted(versions), tensorflow)
        ordered = sorted(versions, key=_key)
        span = ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"
        name = f"{library} {chosen}" if chosen else f"{library} (measured releases {span}{f', none built for TF {minor}' if minor else ''})"
        names.append(name)
        if serving_only:
            notes.append(f"{listed(ops)} provided by {name}, which this model server does not link")
        else:
            notes.append(f"{listed(ops)} provided by {name} (install it and `{load_hint(library)}` before loading)")
    fix = None
    if len(details) == len(missing):
        fix = (f"Serve the model from a Python TensorFlow image with {' and '.join(names)} installed and imported "
               "before the model loads, or build a model server that links those ops." if serving_only else
               f"Install {' and '.join(names)} in the image and import it before the model loads (for TF-Addons: "
               "tfa.register_all(custom_kernels=True)).")
    return Provided(message="; " + "; ".join(notes), fix=fix, details=details)


# --- TF Serving ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _serving_links() -> list[dict[str, Any]]:
    path = DATA / "tf_serving.json"
    return json.loads(path.read_text()).get("statically_linked_op_libraries") or [] if path.exists() else []


def serving_op_libraries(release: str) -> dict[str, str]:
    """The op libraries a tensorflow/serving release links in: library -> the library release it
    links (the newest its release notes name at or before `release`)."""
    linked: dict[str, str] = {}
    for entry in _serving_links():
        if _key(release) < _key(entry["from"]):
            continue
        named = [(s, v) for s, v in (entry.get("versions") or {}).items() if _key(s) <= _key(release)]
        if named:
            linked[entry["library"]] = max(named, key=lambda sv: _key(sv[0]))[1]
    return linked


def _measured(library: str, version: str) -> Optional[dict[str, Any]]:
    """The measured release of `library` closest to `version` from below (else the oldest)."""
    releases = sorted((data().get("libraries", {}).get(library) or {}).get("releases") or [],
                      key=lambda r: _key(r["version"]))
    releases = [r for r in releases if not r.get("error") and release_ops(r)]
    if not releases:
        return None
    below = [r for r in releases if _key(r["version"]) <= _key(version)]
    return below[-1] if below else releases[0]


def registered_with(stack: Any) -> frozenset[str]:
    """Ops the stack's op libraries register beyond its TF release (`StackFacts.op_libraries`,
    library -> version; a TF Serving image links only the op targets its BUILD names)."""
    libraries = getattr(stack, "op_libraries", None)
    if not libraries:
        return frozenset()
    serving = (getattr(stack, "loaders", None) or []) == ["serving"]
    return _registered(tuple(sorted((str(k), str(v)) for k, v in libraries.items())), serving)


@lru_cache(maxsize=256)
def _registered(libraries: tuple[tuple[str, str], ...], serving: bool) -> frozenset[str]:
    files = {e["library"]: tuple(e["files"]) for e in _serving_links() if e.get("files")}
    ops: set[str] = set()
    for library, version in libraries:
        release = _measured(library, version)
        if release is not None:
            ops |= release_ops(release, files.get(library) if serving else None)
    return frozenset(ops)
