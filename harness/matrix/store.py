"""Where the matrix keeps its artifacts and cells: $TFGUARD_CACHE/matrix/.

    artifacts/<producer stack>/<recipe>/record.json   what was made (or why not), its digest
    artifacts/<producer stack>/<recipe>/<artifact>     the model files (saved_model/, model.h5, ...)
    cells/<runtime venv>/<loader>/<digest>.json       one load: artifact digest x runtime x loader

A cell is keyed by the artifact's digest (so a remade artifact with the same bytes keeps its cells,
and a changed one gets new ones), the runtime's venv directory (its recipe hash: a stack whose
pins change is loaded again) and the loader with its imports. Writes are atomic (rename).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from harness.tfenvs import cache_dir

# Bumped when the loaders (harness/matrix/inside/loaders.py, worker.py) change what a load does:
# cells of another revision are loaded again.
LOADER_REVISION = 1


def root() -> Path:
    return cache_dir() / "matrix"


def artifact_dir(producer: str, recipe: str) -> Path:
    return root() / "artifacts" / producer / recipe


def artifact_id(recipe: str, producer: str) -> str:
    return f"{recipe}@{producer}"


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def record(producer: str, recipe: str) -> dict | None:
    return read_json(artifact_dir(producer, recipe) / "record.json")


def all_records() -> list[dict]:
    base = root() / "artifacts"
    out = []
    for path in sorted(base.glob("*/*/record.json")):
        data = read_json(path)
        if data:
            out.append(data)
    return out


def digest(path: Path) -> str:
    """sha256 over the relative names and bytes of every file under `path` (or of the file)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path) if f != path else f.name).encode() + b"\0")
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def sniff_format(path: Path) -> str | None:
    """What the producer really wrote (TF 1.x writes HDF5 to a path ending in .keras)."""
    if path.is_dir():
        return "saved_model" if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists() else None
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head.startswith(b"PK"):
        return "keras_v3"
    if head.startswith(b"\x89HDF"):
        return "h5"
    return None


def cell_key(loader: str, imports: tuple[str, ...] = ()) -> str:
    return loader + "".join(f"+import:{m}" for m in imports)


def cell_path(venv_name: str, loader: str, imports: tuple[str, ...], artifact_digest: str) -> Path:
    return root() / "cells" / venv_name / cell_key(loader, imports) / f"{artifact_digest.split(':')[-1][:32]}.json"


def read_cell(path: Path) -> dict | None:
    data = read_json(path)
    if data and data.get("loader_revision") == LOADER_REVISION:
        return data
    return None
