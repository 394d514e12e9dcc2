"""The established load tools the benches drive, found or built on first use.

vegeta (HTTP load tool, Go): built from its Go module at a pinned version into
$TFGUARD_CACHE/bench-tools/, sharing the control plane's Go module and build caches.
wrk (HTTP benchmarking tool, C): the Debian package (`apt-get install wrk`), found on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.13.0"


def cache_dir() -> Path:
    return Path(os.environ.get("TFGUARD_CACHE", Path.home() / ".cache" / "tfguard"))


def vegeta() -> Path:
    target = cache_dir() / "bench-tools" / f"vegeta-{VEGETA_VERSION}"
    binary = target / "vegeta"
    if os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("vegeta is built from its Go module: Go is needed (none on PATH)")
    target.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOBIN": str(target),
        "GOMODCACHE": str(cache_dir() / "go" / "pkg" / "mod"),
        "GOCACHE": str(cache_dir() / "go" / "cache"),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=mod",
    }
    print(f"bench: building vegeta {VEGETA_VERSION} (about a minute)", flush=True)
    subprocess.run([go, "install", "-trimpath", "-ldflags=-s -w", f"{VEGETA_MODULE}@{VEGETA_VERSION}"],
                   check=True, env=env, cwd=target)
    return binary


def wrk() -> Path:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: it is the Debian package `wrk` (apt-get install wrk)")
    return Path(found)
