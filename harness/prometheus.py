"""A real Prometheus server and promtool, from Debian's `prometheus` package, cached by version.

The package is fetched with `apt-get download` (no install, no root-owned service) and unpacked with
`dpkg -x` into $TFGUARD_CACHE/prometheus/VERSION, so a second run finds it there. A `prometheus`
and `promtool` already on $PATH are used as they are.

    python -m harness.prometheus ensure      # what `make monitoring-tools` runs
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.controlplane import cache_dir

PACKAGE = "prometheus"


class PrometheusUnavailable(RuntimeError):
    pass


def _candidate() -> str:
    """The version apt would fetch (after `apt-get update` if the lists do not know the package)."""
    for attempt in range(2):
        done = subprocess.run(["apt-cache", "policy", PACKAGE], capture_output=True, text=True)
        for line in done.stdout.splitlines():
            if line.strip().startswith("Candidate:"):
                version = line.split(":", 1)[1].strip()
                if version and version != "(none)":
                    return version
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, timeout=600)
    raise PrometheusUnavailable(f"apt knows no candidate for the {PACKAGE} package")


def binaries() -> dict[str, Path]:
    """{"prometheus": PATH, "promtool": PATH}: on $PATH, else cached, else fetched now."""
    found = {name: shutil.which(name) for name in ("prometheus", "promtool")}
    if all(found.values()):
        return {name: Path(path) for name, path in found.items()}  # type: ignore[arg-type]
    root = cache_dir() / "prometheus"
    for cached in sorted(root.glob("*/usr/bin"), reverse=True) if root.exists() else []:
        if (cached / "prometheus").exists() and (cached / "promtool").exists():
            return {"prometheus": cached / "prometheus", "promtool": cached / "promtool"}
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise PrometheusUnavailable("no prometheus/promtool on $PATH and no apt-get to fetch Debian's package")
    version = _candidate()
    target = root / version.replace("/", "_")
    with tempfile.TemporaryDirectory(prefix="tfguard-prometheus-") as tmp:
        done = subprocess.run(["apt-get", "download", "-q", PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=900)
        debs = list(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        if done.returncode != 0 or not debs:
            raise PrometheusUnavailable(f"apt-get download {PACKAGE} failed: {(done.stderr or done.stdout).strip()[-400:]}")
        staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=root.parent if root.parent.exists() else None))
        subprocess.run(["dpkg", "-x", str(debs[0]), str(staging)], check=True, timeout=300)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    bin_dir = target / "usr" / "bin"
    return {"prometheus": bin_dir / "prometheus", "promtool": bin_dir / "promtool"}


def main(argv: list[str]) -> int:
    if argv[:1] != ["ensure"]:
        print("usage: python -m harness.prometheus ensure", file=sys.stderr)
        return 2
    try:
        for name, path in binaries().items():
            print(f"{name}: {path}")
    except (PrometheusUnavailable, subprocess.SubprocessError, OSError) as exc:
        print(f"harness.prometheus: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
