"""Fixtures the whole suite shares: the local Kubernetes control plane and a namespace per test.

A test that asks for `control_plane` (directly or through `namespace`) is marked `cluster`, so
`pytest -m "not cluster"` leaves it out. One control plane serves the whole session; it is built on
first use if its binaries are not cached yet (see docs/control-plane.md).
"""

from __future__ import annotations

import re
import shutil
import uuid

import pytest

from harness import controlplane
from harness.prerequisites import missing

CLUSTER_FIXTURES = {"control_plane", "namespace"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)


def pytest_collection_finish(session):
    # Build before any test starts, so the first (long) build does not count against a test's timeout.
    needs_cluster = any(item.get_closest_marker("cluster") for item in session.items)
    if session.config.option.collectonly:
        return
    if needs_cluster and not controlplane.binaries_present() and shutil.which("go"):
        controlplane.ensure_binaries()


@pytest.fixture(scope="session")
def control_plane():
    """etcd + kube-apiserver + kube-controller-manager for this test session."""
    if not controlplane.binaries_present() and shutil.which("go") is None:
        missing("the control plane is not built and there is no Go toolchain to build it (make control-plane)")
    with controlplane.ControlPlane() as cp:
        yield cp


@pytest.fixture
def namespace(control_plane, request):
    """A fresh namespace (with its default service account in place), deleted after the test."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    control_plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    # Pods are rejected until the service-account controller has created `default` in the namespace.
    control_plane.wait_for(
        lambda: control_plane.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
        what=f"service account default in {name}",
    )
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
