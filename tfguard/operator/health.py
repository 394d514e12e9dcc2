"""The operator's HTTP endpoint: `GET /healthz` (liveness) and `GET /metrics` (Prometheus).

It is up from the start, for the standby replica too (which waits for the Lease and runs no kopf),
so a liveness probe never kills a healthy standby and Prometheus sees the standby as such. A leader
that loses its Lease exits by itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


_OK = _response("200 OK", "text/plain", b"ok\n")


def _handler(metrics: Optional[Any]):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            request_line = head.split(b"\r\n", 1)[0].split()
            path = request_line[1].split(b"?", 1)[0] if len(request_line) > 1 else b"/"
            if path == b"/metrics" and metrics is not None:
                writer.write(_response("200 OK", metrics.content_type, metrics.render()))
            elif path == b"/metrics":
                writer.write(_response("404 Not Found", "text/plain", b"no metrics\n"))
            else:
                writer.write(_OK)
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    return answer


async def serve_health(port: int, host: str = "0.0.0.0", metrics: Optional[Any] = None) -> asyncio.AbstractServer:
    return await asyncio.start_server(_handler(metrics), host=host, port=port, limit=8192)
