"""The layers hold: the two services never import each other, and nothing imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tfguard"

# What each part may import of tfguard (besides itself).
ALLOWED = {
    "errors": set(),
    "records": set(),
    "text": set(),
    "annotations": set(),
    "settings": {"errors", "annotations", "records"},
    "compat": {"errors", "annotations", "records"},
    "workload": {"errors", "annotations", "records", "compat", "text"},
    "kube": {"errors", "records"},
    "webhook": {"errors", "annotations", "records", "settings", "text", "compat", "workload", "kube"},
    "operator": {"errors", "annotations", "records", "settings", "text", "compat", "workload", "kube"},
    "probes": set(),
}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "tfguard" and len(parts) > 1 and not parts[1].startswith("__"):  # __version__ is everyone's
                found.add(parts[1])
    return found


def test_every_part_imports_only_the_layers_below_it():
    wrong = {}
    for path in PACKAGE.rglob("*.py"):
        part = _part(path)
        if part not in ALLOWED:
            continue  # cli and commands sit on top and may import anything
        extra = _imports(path) - ALLOWED[part] - {part}
        if extra:
            wrong[str(path.relative_to(PACKAGE.parent))] = sorted(extra)
    assert not wrong, f"imports across layers: {wrong}"
