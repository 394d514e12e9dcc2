"""The operator's liveness endpoint answers for the leader and for the standby waiting on the Lease,
so a liveness probe never restarts a healthy standby replica."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

pytestmark = pytest.mark.cluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port: int, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return f"{answer.status} {answer.read().decode()}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_leader_and_standby_both_answer_healthz(operator):
    leader_port, standby_port = free_port(), free_port()
    operator("--lease-duration", "30", "--health-port", str(leader_port))
    assert healthz(leader_port) == "200 ok\n"

    standby = operator("--lease-duration", "30", "--health-port", str(standby_port))
    assert healthz(standby_port) == "200 ok\n"
    assert standby.process.poll() is None  # still waiting for the Lease, and alive
