"""A real node leaves nothing on the machine: not after stop(), and not after its owner was SIGKILLed
(the next start sweeps); and a second node waits for the first, saying who holds it.

These start nodes of their own, so they run before any test that uses the session's `node`
(tests/cluster comes before tests/e2e); one node per machine means they cannot share it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness import node as node_module
from harness.node import Node, NodeError, NodeLock, footprint
from harness.prerequisites import missing

pytestmark = [pytest.mark.cluster, pytest.mark.node]


@pytest.fixture(autouse=True)
def machine_can_run_a_node():
    from harness import images

    if not node_module.enabled_for_tests():
        pytest.skip(f"the real node is opt-in: {node_module.ENABLE_ENV}=1 (make test-node) runs it; "
                    "tests/cluster/test_cluster_teardown.py covers the control plane's own teardown")
    why = node_module.unsuitable()
    if why:
        pytest.skip(f"no real node on this machine: {why}; tests/cluster/test_cluster_teardown.py covers "
                    "the control plane's own teardown")
    if node_module.missing_packages():
        missing(f"Debian packages for the node are missing: {node_module.missing_packages()} (make node)")
    if not all(images.cached(i) for i in (images.PAUSE, images.models_image())):
        missing("the node's images are not built (make images)")
    if NodeLock.held_here:
        pytest.skip("this session's node is running (one node per machine) and this file stops and restarts "
                    "it: run it on its own (`TFGUARD_NODE=1 pytest tests/cluster/test_node_teardown.py`)")


def sleeper(models_image: str) -> dict:
    """A Pod with a volume and a network namespace: mounts, a veth, cgroups and a log to clean up."""
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "default"},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "sleep", "image": models_image, "command": ["sleep", "3600"],
                                 "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
                 "volumes": [{"name": "scratch", "emptyDir": {}}]},
    }


def run_a_pod(cp) -> None:
    from harness import images

    cp.apply(sleeper(images.models_image().name))
    cp.wait_for(lambda: cp.get("pod", "sleeper", "default")["status"].get("phase") == "Running",
                timeout=120, interval=0.5, what="the Pod sleeper Running")


def test_stop_leaves_nothing_behind():
    before = footprint()
    with Node(lock_timeout=60) as node:
        run_a_pod(node.cp)
        during = footprint()
        assert during["processes"].count("pause") == 1 and "kubelet" in during["processes"]
        assert node_module.BRIDGE in during["links"] and during["mounts"] and during["cgroups"]
    assert footprint() == before


def test_the_next_start_sweeps_what_a_sigkilled_owner_left():
    before = footprint()
    owner = subprocess.Popen(
        [sys.executable, "-c", (
            "import json, sys\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "from harness.node import Node\n"
            "from test_node_teardown import run_a_pod\n"
            "node = Node(lock_timeout=60).start()\n"
            "run_a_pod(node.cp)\n"
            "print(json.dumps([p.popen.pid for p in node._processes]), flush=True)\n"
            "sys.stdin.read()\n"
        ), os.path.dirname(__file__)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(node_module.REPO),
    )
    try:
        daemons = json.loads(owner.stdout.readline())
        owner.send_signal(signal.SIGKILL)  # no atexit, no finally
        owner.wait()
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{p}") for p in daemons) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = footprint()
        assert "kubelet" not in left["processes"] and "containerd" not in left["processes"]  # PDEATHSIG
        assert left != before  # the Pod's container, its shim, mounts, network: only a sweep removes them
        with NodeLock(60):
            node_module.sweep()
        assert footprint() == before
    finally:
        owner.kill()


def test_a_second_node_waits_and_says_who_holds_the_machine():
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys\n"
            "from harness.node import NodeLock\n"
            "with NodeLock(10):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(node_module.REPO),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        notes = []
        with pytest.raises(NodeError) as refused:
            with NodeLock(2, say=notes.append):
                pass
        assert f"pid {holder.pid}" in str(refused.value) and "take turns" in str(refused.value)
        assert notes and f"pid {holder.pid}" in notes[0]  # said while it waited
    finally:
        holder.kill()
        holder.wait()
    with NodeLock(10):  # and once it is gone, the machine is free
        pass
