"""Fixtures the whole suite shares: the local Kubernetes control plane, a namespace per test, and a
real node with tfguard installed on it by its chart.

A test that asks for `control_plane` (directly or through `namespace`) is marked `cluster`, so
`pytest -m "not cluster"` leaves it out. One control plane serves the whole session; it is built on
first use if its binaries are not cached yet (see docs/control-plane.md).

A test that asks for a node fixture (`node`, `node_tfguard`, `node_namespace`, `psa_namespace`,
`models_image`) is marked `cluster` and `node`: the node is its own control plane with a kubelet,
started once per session and only when such a test runs, so the API-server-only tests stay fast.
The node is opt-in (TFGUARD_NODE=1, `make test-node`): without it those tests skip, saying what
covers the same path on the bare control plane.
"""

from __future__ import annotations

import re
import shutil
import uuid

import pytest

from harness import controlplane
from harness import node as node_module
from harness.prerequisites import missing

CLUSTER_FIXTURES = {"control_plane", "namespace"}
NODE_FIXTURES = {"node", "node_tfguard", "node_namespace", "psa_namespace", "models_image"}
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        # The gallery runs on the node when there is one (tests/e2e/conftest.py: gallery_release).
        on_node = "gallery_release" in fixtures and node_module.enabled_for_tests()
        if NODE_FIXTURES & fixtures or on_node:
            item.add_marker(pytest.mark.node)
            item.add_marker(pytest.mark.cluster)
        if CLUSTER_FIXTURES & fixtures:
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


# --- a real node ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def node():
    """This machine as the one node of its own control plane (harness.node.Node): Pods really run.
    `node.cp` is its ControlPlane, `node.image_digests` the digests of the images it holds."""
    from harness import images

    if not node_module.enabled_for_tests():
        pytest.skip(f"the real node is opt-in: {node_module.ENABLE_ENV}=1 (make test-node) runs it. On the bare "
                    "control plane, tests/e2e/test_external_install.py and test_gallery.py cover the chart and "
                    "admission; tests/operator covers what the operator does with a probe's report")
    why = node_module.unsuitable()
    if why:
        pytest.skip(f"no real node on this machine: {why}. What needs only an API server is covered "
                    "on the bare control plane (tests/e2e/test_external_install.py, tests/operator, tests/webhook)")
    absent = node_module.missing_packages()
    if absent:
        missing(f"Debian packages for the node are missing: {', '.join(absent)} (make node)")
    not_built = [image.name for image in images.all_images() if not images.cached(image)]
    if not_built:
        missing(f"the node's images are not built: {', '.join(not_built)} (make images)")
    with node_module.Node(lock_timeout=480) as started:
        yield started


@pytest.fixture(scope="session")
def models_image(node) -> str:
    """The image holding the gallery's real models (harness.gallery.fetch_model_container copies from it)."""
    from harness import images

    return images.models_image().name


@pytest.fixture(scope="session")
def node_tfguard(node):
    """tfguard installed on the node by its chart, for real: the webhook and the operator are the
    chart's Pods, reached through their Service. It covers only the namespaces `node_namespace`
    makes (label e2e-release), so tests that install a release of their own are not answered by it."""
    from harness.localinstall import ClusterTfguard

    with ClusterTfguard(node.cp, namespace="tfguard-{id}", release="tfguard-{id}", isolated=True) as release:
        yield release


@pytest.fixture
def node_namespace(node_tfguard):
    """node_namespace(mode="warn", pod_security=None) -> a namespace on the node that node_tfguard
    covers, in tfguard mode `mode`, with `pod-security.kubernetes.io/enforce=<pod_security>` when
    given; deleted after the test."""
    made: list[str] = []

    def make(mode: str | None = "warn", pod_security: str | None = None, stem: str = "ns") -> str:
        labels = {}
        if pod_security:
            labels = {"pod-security.kubernetes.io/enforce": pod_security,
                      "pod-security.kubernetes.io/enforce-version": "latest"}
        name = node_tfguard.make_namespace(mode, stem=f"{stem}-{pod_security}" if pod_security else stem, labels=labels)
        made.append(name)
        return name

    yield make
    for name in made:
        node_tfguard.cp.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
        node_tfguard.namespaces.remove(name)


@pytest.fixture(params=POD_SECURITY_LEVELS)
def psa_namespace(request, node_namespace) -> tuple[str, str]:
    """(level, namespace) for each Pod Security level: a namespace on the node, tfguard mode `warn`,
    where the API server enforces that level on every Pod (the injected probe included)."""
    level = request.param
    return level, node_namespace("warn", pod_security=level, stem="psa")
