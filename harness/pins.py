"""The pinned versions of hack/control-plane/versions.env and the cache they are kept in.

Standard library only: hack/control-plane/tools.py runs it before the dev venv exists.
"""

from __future__ import annotations

import os
from pathlib import Path

VERSIONS_ENV = Path(__file__).resolve().parent.parent / "hack" / "control-plane" / "versions.env"


def cache_dir() -> Path:
    """$TFGUARD_CACHE, else ~/.cache/tfguard: every heavy build, keyed by version."""
    return Path(os.environ.get("TFGUARD_CACHE", Path.home() / ".cache" / "tfguard"))


def versions(path: Path = VERSIONS_ENV) -> dict[str, str]:
    """The pins (KUBERNETES_VERSION, ETCD_VERSION, ...): KEY=VALUE lines, # comments."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip()
    return pins
