"""Custom-op libraries: the ops tensorflow-text, TensorFlow Decision Forests and TensorFlow Addons
register, release by release, and which of them a TF Serving release links in.

The op lists are measured from the real wheels (data/oplibs.json, written by tools/gen_oplibs.py:
TF's own op registry before and after the library's import and its shared objects' loading); what
TF Serving links statically is documented in its release notes (data/tf_serving.json,
`statically_linked_op_libraries`). Pure lookups, loaded once: safe on the admission path. The rule
that uses them is tfguard/compat/rules/op_libraries.py.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

DATA = os.path.join(os.path.dirname(__file__), "data")


def version_key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("-")[0].split("."):
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    try:
        with open(os.path.join(DATA, "oplibs.json"), "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return {"libraries": {}}


def libraries() -> dict[str, dict[str, Any]]:
    """distribution name -> {"module", "load", "releases": [...]}."""
    return data().get("libraries") or {}


def library_of_module(module: str) -> Optional[str]:
    """The distribution whose Python package `module` is ("tensorflow_text" -> "tensorflow-text")."""
    top = module.split(".")[0]
    return next((name for name, entry in libraries().items() if entry.get("module") == top), None)


def load_hint(library: str) -> str:
    """What makes the library's ops exist in a Python process, e.g. `import tensorflow_text`."""
    return (libraries().get(library) or {}).get("load") or f"import {library.replace('-', '_')}"


def _measured_releases(library: str) -> list[dict[str, Any]]:
    releases = (libraries().get(library) or {}).get("releases") or []
    return sorted((r for r in releases if not r.get("error") and release_ops(r)), key=lambda r: version_key(r["version"]))


def measured(library: str, version: Optional[str]) -> Optional[dict[str, Any]]:
    """The measured release of `library` that is `version`, else the closest below it, else the oldest;
    the newest when `version` is None."""
    releases = _measured_releases(library)
    if not releases:
        return None
    if version is None:
        return releases[-1]
    below = [r for r in releases if version_key(r["version"]) <= version_key(version)]
    return below[-1] if below else releases[0]


def release_ops(release: dict[str, Any], files: Optional[tuple[str, ...]] = None) -> frozenset[str]:
    """Every op one measured release registers (only those of `files`, its shared objects, if given)."""
    by_file = release.get("ops_by_file") or {}
    if files is not None:
        return frozenset(op for name in files for op in by_file.get(name, ()))
    return frozenset(release.get("ops_on_import") or ()) | frozenset(release.get("ops_lazy") or ()) | frozenset(
        op for ops in by_file.values() for op in ops)


def registers_on_import(release: dict[str, Any]) -> frozenset[str]:
    """The ops `import LIBRARY` registers. TF-Addons imports cleanly and registers none: its kernels
    come on first use (or with register_all). A release whose import failed in the measuring venv
    (TF-DF 1.11 against that venv's protobuf) counts with all its ops: in an image where it imports,
    its import loads them (as the releases before it, which imported, measured)."""
    on_import = frozenset(release.get("ops_on_import") or ())
    if on_import or release.get("import_error"):
        return release_ops(release)
    return on_import


def release_built_for(library: str, tensorflow: Optional[str], among: Optional[list[str]] = None) -> Optional[str]:
    """The newest measured release of `library` (of `among`, if given) built for the TF minor of
    `tensorflow`; None when none is."""
    if not tensorflow:
        return None
    minor = ".".join(tensorflow.split(".")[:2])
    fitting = [r["version"] for r in _measured_releases(library)
               if minor in (r.get("built_for") or []) and (among is None or r["version"] in among)]
    return max(fitting, key=version_key) if fitting else None


@lru_cache(maxsize=1)
def _by_op() -> dict[str, dict[str, list[str]]]:
    """op -> library -> the measured releases that register it, oldest first."""
    found: dict[str, dict[str, list[str]]] = {}
    for library in libraries():
        for release in _measured_releases(library):
            for op in release_ops(release):
                found.setdefault(op, {}).setdefault(library, []).append(release["version"])
    return found


def providers(op: str) -> dict[str, list[str]]:
    """library -> its measured releases that register `op`, oldest first; empty when none does."""
    return _by_op().get(op) or {}


# --- TF Serving ------------------------------------------------------------------------------


def _serving_links() -> list[dict[str, Any]]:
    from tfguard.compat.catalog import tf_serving_data  # catalog imports this module

    return tf_serving_data().get("statically_linked_op_libraries") or []


def serving_op_libraries(release: str) -> dict[str, str]:
    """The op libraries a tensorflow/serving release links in: library -> the library release it
    links (the newest its release notes name at or before `release`; between the first release that
    links a library and the first that names its version, the first version named: TF Serving 2.0
    and 2.1 link some tensorflow-text ops, 2.11 TF-DF's, without saying which release)."""
    linked: dict[str, str] = {}
    for entry in _serving_links():
        if version_key(release) < version_key(entry["from"]):
            continue
        versions = sorted((entry.get("versions") or {}).items(), key=lambda sv: version_key(sv[0]))
        named = [v for s, v in versions if version_key(s) <= version_key(release)]
        if named or versions:
            linked[entry["library"]] = named[-1] if named else versions[0][1]
    return linked


def linked_ops(library: str, version: str, tensorflow: Optional[str]) -> frozenset[str]:
    """The ops a model server built with `library` `version` (its release notes' word) on `tensorflow`
    has: those of that release, and of every later measured release built for a TF minor up to the
    server's own. The notes stop naming the library's release after a while (tensorflow-text after
    TF Serving 2.12), and the server's build pins a release of its own era; taking the newest it
    could have linked leans towards admitting."""
    files = serving_files(library)
    release = measured(library, version)
    ops = set(release_ops(release, files)) if release is not None else set()
    tf = version_key(tensorflow or "")[:2]
    for later in _measured_releases(library):
        built = [version_key(m)[:2] for m in later.get("built_for") or []]
        if version_key(later["version"]) >= version_key(version) and built and min(built) <= tf:
            ops |= release_ops(later, files)
    return frozenset(ops)


def serving_files(library: str) -> Optional[tuple[str, ...]]:
    """The library's shared objects whose ops TF Serving links (None: all of its ops)."""
    entry = next((e for e in _serving_links() if e["library"] == library), None)
    return tuple(entry["files"]) if entry and entry.get("files") else None
