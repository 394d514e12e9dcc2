"""tfguard installed with `helm install`, and the example gallery applied to it.

On the real node (tests/conftest.py: `node`, opt-in with TFGUARD_NODE=1), the chart's own
Deployments run the webhook and the operator; on the bare control plane, test_external_install.py
covers the chart's `webhook.external.url` option with both run here as processes
(harness.localinstall), and the gallery runs there when there is no node.

Every release gets its own release namespace, and its webhooks only see namespaces labelled for it
(`e2e-release=<id>`, Release.make_namespace), so releases of different tests never answer for each other.
"""

from __future__ import annotations

import pytest

from harness import gallery
from harness import node as node_module
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
def gallery_release(request):
    """A release with a namespace per mode and the real ModelProfiles in each: the session's release
    on the node when it runs (TFGUARD_NODE=1), else one with webhook.external.url on the bare
    control plane. The table is admission only, so both answer it."""
    own = None
    if node_module.enabled_for_tests():
        release = request.getfixturevalue("node_tfguard")
    else:
        own = LocalTfguard(request.getfixturevalue("control_plane"), namespace="tfguard-e2e-{id}",
                           release="tfguard-{id}", isolated=True)
        release = own.__enter__()
    try:
        kubectl = release.cp.kubectl
        profiles = gallery.model_profiles()
        namespaces = {mode: release.make_namespace(mode, "gallery") for mode in gallery.MODES}
        for mode, ns in namespaces.items():
            for text in profiles.values():
                gallery.apply_profile(kubectl, ns, text)
            gallery.wait_for_profiles(kubectl, ns, mode, gallery.EXAMPLES_LIST)
        release.mode_namespaces = namespaces
        yield release
        for ns in namespaces.values():
            kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
            release.namespaces.remove(ns)
    finally:
        if own is not None:
            own.__exit__(None, None, None)
