"""A small HTTP/1.1-over-TLS load generator, run as its own process so it is not the server's load.

Keep-alive connections, hand-written requests (no client library in the way):
    python -m bench.loadgen closed --url https://127.0.0.1:8443/validate --body review.json --ca ca.crt \
        --concurrency 64 --duration 5
    python -m bench.loadgen rate   ... --rate 500 --duration 5
Prints one JSON object: requests, errors, seconds, throughput, latency percentiles (ms).
`rate` is open-loop: latency counts from when a request was due, so a stalled server is not hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from urllib.parse import urlsplit


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int, context: ssl.SSLContext) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
        return cls(reader, writer)

    async def roundtrip(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 3)}


async def closed_loop(host, port, context, request, concurrency, duration, warmup):
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + warmup + duration
    measure_from = time.perf_counter() + warmup

    async def worker():
        nonlocal errors
        conn = await Connection.open(host, port, context)
        try:
            while (now := time.perf_counter()) < stop_at:
                status = await conn.roundtrip(request)
                done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    if status != 200:
                        errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, duration


async def open_loop(host, port, context, request, rate, duration, warmup):
    idle: list[Connection] = [await Connection.open(host, port, context) for _ in range(16)]
    latencies: list[float] = []
    errors = 0
    pending: set[asyncio.Task] = set()

    async def fire(due: float, measured: bool):
        nonlocal errors
        conn = idle.pop() if idle else await Connection.open(host, port, context)
        try:
            status = await conn.roundtrip(request)
        except Exception:
            errors += 1
            conn.close()
            return
        if measured:
            latencies.append(time.perf_counter() - due)
            if status != 200:
                errors += 1
        idle.append(conn)

    start = time.perf_counter()
    total = int(rate * (warmup + duration))
    warm = int(rate * warmup)
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(due, i >= warm))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    for conn in idle:
        conn.close()
    return latencies, errors, duration


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("kind", choices=("closed", "rate"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="file with the JSON to POST")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    url = urlsplit(args.url)
    body = open(args.body, "rb").read()
    request = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    context = ssl.create_default_context(cafile=args.ca)
    if args.kind == "closed":
        run = closed_loop(url.hostname, url.port, context, request, args.concurrency, args.duration, args.warmup)
    else:
        run = open_loop(url.hostname, url.port, context, request, args.rate, args.duration, args.warmup)
    latencies, errors, seconds = asyncio.run(run)
    json.dump(
        {"requests": len(latencies), "errors": errors, "seconds": seconds,
         "throughput": round(len(latencies) / seconds, 1), **percentiles(latencies)},
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
