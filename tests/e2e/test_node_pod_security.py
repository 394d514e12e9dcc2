"""Injection and Pod Security, on a real node: what happens today to a Pod that would pass each level
on its own, once the probe is injected.

The workload is restricted-compliant (non-root, no privilege escalation, no capabilities, the
runtime's seccomp profile; its model fetched by an init container that is compliant too). The
injected `tfguard-probe` copies the serving container's security context, but
`tfguard-probe-install` carries none, so `restricted` refuses the Pod: the ReplicaSet cannot create
it and says why in its Events. Making injection PSA-safe flips the restricted case of
test_a_compliant_workload_under_each_pod_security_level; `psa_namespace` (tests/conftest.py) gives
a namespace per level for that work.
"""

from __future__ import annotations

import json

import pytest

from harness import gallery

pytestmark = [pytest.mark.tf]


def refusal(cp, ns: str) -> str:
    """The ReplicaSet's FailedCreate messages that name Pod Security ('' while there is none)."""
    done = cp.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.kind=ReplicaSet", "-o", "json")
    return "\n".join(m for e in json.loads(done.stdout)["items"] if "violates PodSecurity" in (m := e.get("message", "")))


def test_a_compliant_workload_under_each_pod_security_level(node, psa_namespace, models_image):
    level, ns = psa_namespace
    cp = node.cp
    manifest = gallery.node_manifest(gallery.BY_NAME["loads"], models_image, restricted=True)
    profile = gallery.model_profile(gallery.BY_NAME["loads"])
    gallery.apply_profile(cp.kubectl, ns, profile)
    gallery.wait_for_profiles(cp.kubectl, ns, "warn", [gallery.BY_NAME["loads"]])
    applied = gallery.apply_manifest(cp.kubectl, ns, manifest)
    assert applied.returncode == 0, applied.stderr  # PSA checks Pods, not Deployments (enforce mode)

    if level == "restricted":
        # Today: the Pod the ReplicaSet makes is refused because of the injected install container.
        message = cp.wait_for(lambda: refusal(cp, ns), timeout=120, interval=1, what="the ReplicaSet's FailedCreate event")
        assert 'restricted:latest' in message
        assert 'container "tfguard-probe-install"' in message
        assert "fetch-model" not in message and '"server"' not in message  # the workload itself passes
        assert cp.get("pods", namespace=ns)["items"] == []
    else:
        pod, _ = gallery.wait_for_pod_status(cp.kubectl, ns, "loads", ("Running",))
        names = [c["name"] for c in pod["spec"]["initContainers"]]
        assert names == ["fetch-model", "tfguard-probe-install", "tfguard-probe"]
        probe = gallery.init_container_status(pod, "tfguard-probe")
        assert probe["state"]["terminated"]["exitCode"] == 0
        # The probe ran as the serving container runs: as user 1000, without privilege escalation.
        (injected,) = [c for c in pod["spec"]["initContainers"] if c["name"] == "tfguard-probe"]
        assert injected["securityContext"]["allowPrivilegeEscalation"] is False
