"""Admission webhook memory: the RSS of one replica after many distinct reviews, large and small.

Every cache the webhook keeps (the verdict memo, the catalog lookups) is bounded in bytes, so what a
replica holds does not grow with what clients send. The bench runs `tfguard webhook serve` as its
own process with the chart's settings and sends it, over keep-alive TLS connections:

1. 100 distinct Deployment reviews of 1.4 MB each (a size the API server accepts: etcd takes
   objects up to 1.5 MiB), each with its own image and 1,400 environment variables;
2. 100,000 distinct small Deployment reviews (5.7 KB, each with its own image tag).

It prints the server's RSS (and peak) after each phase. Goal: under 120 MB after both, well inside
the chart's 256 Mi limit.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import ssl
import tempfile
import time
import uuid
from pathlib import Path

from bench.webhook_bench import deployment_review, free_port, rss_mb, start_webhook, stop_server, wait_listening

GOAL_RSS_MB = 120.0
LARGE = int(os.environ.get("TFGUARD_BENCH_LARGE_REVIEWS", "100"))
SMALL = int(os.environ.get("TFGUARD_BENCH_SMALL_REVIEWS", "100000"))
CONNECTIONS = 8


def large_review(i: int) -> bytes:
    review = deployment_review()
    review["request"]["uid"] = str(uuid.uuid4())
    server = review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]
    server["image"] = f"registry.example/ml/server:{i}"
    server["env"] = [{"name": f"SETTING_{i}_{n}", "value": f"{i}-{n}-" + "v" * 960} for n in range(1400)]
    return json.dumps(review, separators=(",", ":")).encode()


def small_reviews(template: dict, count: int):
    for i in range(count):
        review = copy.deepcopy(template)
        review["request"]["uid"] = str(uuid.uuid4())
        review["request"]["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = (
            f"registry.example/ml/server:build-{i}"
        )
        yield json.dumps(review, separators=(",", ":")).encode()


async def send_all(port: int, ca: Path, bodies, connections: int = CONNECTIONS) -> dict[int, int]:
    """POST every body to /validate/warn over `connections` keep-alive connections; count statuses."""
    context = ssl.create_default_context(cafile=str(ca))
    queue: asyncio.Queue = asyncio.Queue(maxsize=connections * 4)
    statuses: dict[int, int] = {}

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        try:
            while (body := await queue.get()) is not None:
                writer.write(b"POST /validate/warn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    for body in bodies:
        await queue.put(body)
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    return statuses


def main() -> int:
    from harness.controlplane import CertificateAuthority

    work = Path(tempfile.mkdtemp(prefix="tfguard-memory-bench-"))
    ca = CertificateAuthority(work)
    pair = ca.issue("server", "bench", hosts=["127.0.0.1"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_WEBHOOK_") and k != "KUBECONFIG"}
    env["TFGUARD_BENCH_MODULES_REPORT"] = str(work / "modules.json")
    port = free_port()
    log = work / "webhook.log"
    server = start_webhook(pair, port, log, env)
    figures: list[tuple[str, float, float, str]] = []
    try:
        wait_listening(port, server, log)
        template = deployment_review()
        started = time.monotonic()
        statuses = asyncio.run(send_all(port, ca.pair.cert_path, small_reviews(template, 10), connections=1))
        figures.append(("after 10 small reviews (warm)", *rss_mb(server.pid), f"{statuses}"))

        started = time.monotonic()
        size = len(large_review(0))
        statuses = asyncio.run(send_all(port, ca.pair.cert_path, (large_review(i) for i in range(LARGE)), connections=4))
        figures.append((f"after {LARGE} distinct {size / 1e6:.1f} MB reviews", *rss_mb(server.pid),
                        f"{statuses} in {time.monotonic() - started:.0f}s"))

        started = time.monotonic()
        statuses = asyncio.run(send_all(port, ca.pair.cert_path, small_reviews(template, SMALL)))
        figures.append((f"after {SMALL} distinct small reviews", *rss_mb(server.pid),
                        f"{statuses} in {time.monotonic() - started:.0f}s"))
    finally:
        stop_server(server)
    print(f"Webhook memory bench: one `tfguard webhook serve` process, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'':48}{'RSS MB':>10}{'peak MB':>10}  answers")
    for label, rss, peak, note in figures:
        print(f"{label:48}{rss:>10.1f}{peak:>10.1f}  {note}")
    worst = max(rss for _, rss, _, _ in figures)
    print(f"goal RSS < {GOAL_RSS_MB:.0f} MB after every phase: {'met' if worst < GOAL_RSS_MB else 'MISSED'} "
          f"(highest {worst:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
