"""Injection and Pod Security, on a real node: a Pod that would pass each level on its own still
passes it once the probe is injected, and runs.

The workload is restricted-compliant (non-root, no privilege escalation, no capabilities, the
runtime's seccomp profile; its model fetched by an init container that is compliant too). The
injected `tfguard-probe` copies the serving container's security context and `tfguard-probe-install`
carries a restricted one of its own (tfguard/workload/injection.py), so the API server admits the
Pod under every level and the kubelet runs it to Running."""

from __future__ import annotations

import pytest

from harness import gallery

pytestmark = [pytest.mark.tf]


def test_a_compliant_workload_under_each_pod_security_level(node, psa_namespace, models_image):
    level, ns = psa_namespace
    cp = node.cp
    manifest = gallery.node_manifest(gallery.BY_NAME["loads"], models_image, restricted=True)
    profile = gallery.model_profile(gallery.BY_NAME["loads"])
    gallery.apply_profile(cp.kubectl, ns, profile)
    gallery.wait_for_profiles(cp.kubectl, ns, "warn", [gallery.BY_NAME["loads"]])
    applied = gallery.apply_manifest(cp.kubectl, ns, manifest)
    assert applied.returncode == 0, applied.stderr  # PSA checks Pods, not Deployments (enforce mode)

    pod, _ = gallery.wait_for_pod_status(cp.kubectl, ns, "loads", ("Running",))
    names = [c["name"] for c in pod["spec"]["initContainers"]]
    assert names == ["fetch-model", "tfguard-probe-install", "tfguard-probe"]
    probe = gallery.init_container_status(pod, "tfguard-probe")
    assert probe["state"]["terminated"]["exitCode"] == 0
    # The probe ran as the serving container runs: as user 1000, without privilege escalation.
    (injected,) = [c for c in pod["spec"]["initContainers"] if c["name"] == "tfguard-probe"]
    assert injected["securityContext"]["allowPrivilegeEscalation"] is False
