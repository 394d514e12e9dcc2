"""The operator's liveness endpoint: `GET /healthz` answers while the process's event loop runs.

It is up from the start, for the standby replica too (which waits for the Lease and runs no kopf),
so a liveness probe never kills a healthy standby. A leader that loses its Lease exits by itself.
"""

from __future__ import annotations

import asyncio

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        writer.write(_OK)
        await writer.drain()
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_health(port: int, host: str = "0.0.0.0") -> asyncio.AbstractServer:
    return await asyncio.start_server(_answer, host=host, port=port, limit=8192)
