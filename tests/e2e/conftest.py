"""tfguard installed with `helm install` into the local control plane, the webhook and the operator
run locally (harness.localinstall), and the example gallery applied to it.

Every release gets its own release namespace, and its webhooks only see namespaces labelled for it
(`e2e-release=<id>`), so releases of different tests never answer for each other.
"""

from __future__ import annotations

import json
import uuid

import pytest

from harness import gallery
from harness.localinstall import LocalTfguard


class Release:
    """A LocalTfguard plus helpers to make namespaces its webhooks cover."""

    def __init__(self, control_plane, **kwargs):
        # Never all digits: helm --set would read the label value as a number and the schema refuses it.
        self.id = "r" + uuid.uuid4().hex[:5]
        self.cp = control_plane
        self.tfguard = LocalTfguard(
            control_plane,
            namespace=f"tfguard-e2e-{self.id}",
            release=f"tfguard-{self.id}",
            sets=[f"webhook.namespaceSelector.matchLabels.e2e-release={self.id}", *kwargs.pop("sets", ())],
            **kwargs,
        )
        self.namespaces: list[str] = []

    def __enter__(self) -> "Release":
        self.tfguard.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            for ns in self.namespaces:
                self.cp.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
        finally:
            self.tfguard.__exit__(*exc)

    def namespace(self, mode: str | None, stem: str = "ns") -> str:
        name = f"{stem}-{mode or 'unlabelled'}-{self.id}"
        labels = {"e2e-release": self.id}
        if mode:
            labels["tfguard.io/mode"] = mode
        self.cp.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}))
        self.cp.wait_for(
            lambda: self.cp.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
            what=f"service account default in {name}",
        )
        self.namespaces.append(name)
        return name

    def configurations(self) -> list[dict]:
        """This release's webhook configurations, found by the label the operator finds them by."""
        selector = f"tfguard.io/webhook-configuration={self.tfguard.configuration_name}"
        done = self.cp.kubectl("get", "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                               "-l", selector, "-o", "json")
        return json.loads(done.stdout)["items"]


@pytest.fixture
def release(control_plane):
    """A fresh tfguard release for one test (webhook and operator running)."""
    with Release(control_plane) as rel:
        yield rel


@pytest.fixture(scope="module")
def gallery_release(control_plane):
    """One release for the gallery tests, with a namespace per mode and the real ModelProfiles in each."""
    profiles = gallery.model_profiles()
    with Release(control_plane) as rel:
        namespaces = {mode: rel.namespace(mode, "gallery") for mode in gallery.MODES}
        for mode, ns in namespaces.items():
            for text in profiles.values():
                gallery.apply_profile(control_plane.kubectl, ns, text)
            gallery.wait_for_profiles(control_plane.kubectl, ns, mode, gallery.EXAMPLES_LIST)
        rel.mode_namespaces = namespaces
        yield rel
