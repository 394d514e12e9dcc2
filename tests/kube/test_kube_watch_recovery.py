"""How tfguard.kube's watch recovers, against a scripted HTTP server (a unit test of the client's
re-list and backoff logic: the real API server is exercised in test_kube_cluster.py)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tfguard.kube import KubeClient, KubeConfig


def test_watch_relists_after_410_gone_and_after_a_server_error():
    lists = iter([
        {"metadata": {"resourceVersion": "10"}, "items": [{"metadata": {"name": "a"}}]},
        {"metadata": {"resourceVersion": "20"}, "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]},
        {"metadata": {"resourceVersion": "30"}, "items": []},
    ])
    watches: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            return web.json_response(next(lists))
        watches.append(request.query["resourceVersion"])
        if len(watches) == 3:  # a server error: back off, then list again
            return web.json_response({"kind": "Status", "code": 500, "message": "etcd is unwell"}, status=500)
        resp = web.StreamResponse()
        await resp.prepare(request)
        if len(watches) == 1:  # the list's version has been compacted away
            await resp.write(json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410}}).encode() + b"\n")
        elif len(watches) == 2:
            await resp.write(json.dumps({"type": "ADDED", "object": {"metadata": {"name": "c", "resourceVersion": "21"}}}).encode() + b"\n")
        else:
            await asyncio.sleep(30)
        return resp

    async def scenario():
        app = web.Application()
        app.router.add_get("/api/v1/configmaps", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        seen = []
        async with KubeClient(KubeConfig(server=f"http://127.0.0.1:{port}")) as kube:
            events = kube.watch("/api/v1/configmaps")
            async for event in events:
                if event.type == "LISTED":
                    seen.append(("LISTED", [i["metadata"]["name"] for i in event.object["items"]]))
                else:
                    seen.append((event.type, event.object["metadata"]["name"]))
                if len(seen) == 4:
                    break
            await events.aclose()
        await runner.cleanup()
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert seen == [("LISTED", ["a"]), ("LISTED", ["a", "b"]), ("ADDED", "c"), ("LISTED", [])]
    assert watches == ["10", "20", "21"]  # each watch resumes from the newest version seen
