"""A control plane leaves nothing behind: not after stop(), and not when its Python is SIGKILLed."""

import os
import signal
import subprocess
import sys
import time

import pytest

from harness import controlplane
from harness.controlplane import ControlPlane
from harness.prerequisites import missing

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def built_control_plane():
    if not controlplane.binaries_present():
        missing("control plane not built (make control-plane)")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids, timeout=30.0):
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def test_stop_ends_every_process_and_removes_the_temp_dir():
    cp = ControlPlane(controller_manager=False).start()
    pids = [p.popen.pid for p in cp._processes]
    workdir = cp.workdir
    assert len(pids) == 2 and all(alive(p) for p in pids)

    cp.stop()

    assert wait_gone(pids) == []
    assert not workdir.exists()


def test_a_sigkilled_owner_takes_its_control_plane_with_it():
    owner = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from harness.controlplane import ControlPlane\n"
            "cp = ControlPlane(controller_manager=False).start()\n"
            "print(*[p.popen.pid for p in cp._processes], flush=True)\n"
            "time.sleep(600)\n"
        )],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)

        owner.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can clean up
        owner.wait()

        assert wait_gone(pids) == []
    finally:
        owner.kill()


def test_kubectl_and_helm_keep_their_caches_in_the_control_planes_temp_dir():
    """Discovery caches are keyed by host:port: in ~/.kube/cache a later control plane on a reused
    port would find another API server's resources (a flaky `helm install` on a shared machine)."""
    from pathlib import Path

    with ControlPlane(controller_manager=False) as cp:
        cp.kubectl("api-resources")
        cp.helm("list", "-A")
        key = cp.server.removeprefix("https://").replace(":", "_")
        assert (cp.workdir / "kube-cache" / "discovery" / key).is_dir()
        assert not (Path.home() / ".kube" / "cache" / "discovery" / key).exists()
