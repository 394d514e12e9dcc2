"""tfguard.kube against the real API server: CRUD, every patch type, and list-then-watch."""

from __future__ import annotations

import asyncio

import pytest

from tfguard.errors import NotFound
from tfguard.kube import KubeClient, load_config, resource_path


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_create_get_list_patch_delete(control_plane, namespace):
    async def scenario():
        async with KubeClient(load_config(str(control_plane.kubeconfig))) as kube:
            base = resource_path("", "v1", "configmaps", namespace)
            await kube.create(base, {"metadata": {"name": "cm", "labels": {"app": "x"}}, "data": {"a": "1"}})
            assert (await kube.get(f"{base}/cm"))["data"] == {"a": "1"}
            assert [i["metadata"]["name"] for i in (await kube.list(base, labelSelector="app=x"))["items"]] == ["cm"]
            await kube.patch(f"{base}/cm", {"data": {"b": "2"}}, "merge")
            await kube.patch(f"{base}/cm", [{"op": "add", "path": "/data/c", "value": "3"}], "json")
            await kube.patch(f"{base}/cm", {"metadata": {"labels": {"s": "y"}}}, "strategic")
            applied = await kube.patch(
                f"{base}/cm", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"d": "4"}},
                "apply", field_manager="tfguard-test", force=True,
            )
            assert applied["data"] == {"a": "1", "b": "2", "c": "3", "d": "4"}
            assert applied["metadata"]["labels"] == {"app": "x", "s": "y"}
            await kube.delete(f"{base}/cm")
            with pytest.raises(NotFound) as missing:
                await kube.get(f"{base}/cm")
            assert missing.value.reason == "NotFound"

    run(scenario())


def test_watch_lists_first_then_streams_changes(control_plane, namespace):
    async def scenario():
        async with KubeClient(load_config(str(control_plane.kubeconfig))) as kube:
            base = resource_path("", "v1", "configmaps", namespace)
            await kube.create(base, {"metadata": {"name": "before", "labels": {"w": "1"}}})
            seen = []
            events = kube.watch(base, label_selector="w=1")
            first = await events.__anext__()
            assert first.type == "LISTED"
            assert [i["metadata"]["name"] for i in first.object["items"]] == ["before"]
            await kube.create(base, {"metadata": {"name": "after", "labels": {"w": "1"}}})
            await kube.patch(f"{base}/after", {"data": {"x": "y"}})
            await kube.delete(f"{base}/after")
            async for event in events:
                seen.append((event.type, event.object["metadata"]["name"]))
                if event.type == "DELETED":
                    break
            await events.aclose()
            assert seen == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]

    run(scenario())
