"""tfguard installed with `helm install`, and the example gallery applied to it.

On the real node (tests/conftest.py: `node`), the chart's own Deployments run the webhook and the
operator; on the bare control plane, test_external_install.py covers the chart's
`webhook.external.url` option with both run here as processes (harness.localinstall).

Every release gets its own release namespace, and its webhooks only see namespaces labelled for it
(`e2e-release=<id>`, Release.make_namespace), so releases of different tests never answer for each other.
"""

from __future__ import annotations

import pytest

from harness import gallery
from harness.localinstall import ClusterTfguard, LocalTfguard


@pytest.fixture
def external_release(control_plane):
    """A fresh release with webhook.external.url for one test (webhook and operator run locally)."""
    with LocalTfguard(control_plane, namespace="tfguard-e2e-{id}", release="tfguard-{id}", isolated=True) as rel:
        yield rel


@pytest.fixture
def node_release(node):
    """A fresh release of the chart on the node for one test (its Pods, its certificates)."""
    with ClusterTfguard(node.cp, namespace="tfguard-e2e-{id}", release="tfguard-{id}", isolated=True) as rel:
        yield rel


@pytest.fixture(scope="module")
def gallery_release(node, node_tfguard):
    """The session's release on the node, with a namespace per mode and the real ModelProfiles in each."""
    profiles = gallery.model_profiles()
    namespaces = {mode: node_tfguard.make_namespace(mode, "gallery") for mode in gallery.MODES}
    for mode, ns in namespaces.items():
        for text in profiles.values():
            gallery.apply_profile(node.cp.kubectl, ns, text)
        gallery.wait_for_profiles(node.cp.kubectl, ns, mode, gallery.EXAMPLES_LIST)
    node_tfguard.mode_namespaces = namespaces
    yield node_tfguard
    for ns in namespaces.values():
        node.cp.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
        node_tfguard.namespaces.remove(ns)
