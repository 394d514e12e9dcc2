"""Admission webhook under slow and hostile clients: deadlines, caps, and what normal reviews feel.

`tfguard webhook serve` runs as its own process; the normal load (a Deployment review at a fixed
rate, latency counted from when each request was due) comes from another process (`measure`,
below), the hostile clients from this one:

1. idle: the p99 of normal reviews with nothing else going on;
2. 200 slow-header clients (TLS, then `POST /validate` and one header byte every 5 s, reconnecting
   when cut off), and the p99 of normal reviews meanwhile; the longest a slow connection lived;
3. 3,000 half-sent requests (headers with a 100 kB Content-Length, half the body, then nothing):
   the server's RSS while they wait, and how many it kept;
4. 4 clients sending 1.4 MB reviews back to back, beside normal reviews and 150 kB reviews (a large
   UPDATE with managedFields): p99 of each, and how many normal ones were admitted unchecked
   (ADMISSION_INTERNAL_ERROR) for want of time.

Goals: p99 of normal reviews with 200 slow clients connected within 2x the idle figure; no slow
connection outlives the header deadline by much; no normal review admitted unchecked.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.memory_bench import large_review
from bench.webhook_bench import deployment_review, free_port, rss_mb, start_webhook, stop_server, wait_listening

SLOW_CLIENTS = int(os.environ.get("TFGUARD_BENCH_SLOW_CLIENTS", "200"))
HALF_SENT = int(os.environ.get("TFGUARD_BENCH_HALF_SENT", "3000"))
SECONDS = float(os.environ.get("TFGUARD_BENCH_SECONDS", "10"))
RATE = 200.0
REPO = Path(__file__).resolve().parent.parent


def request_bytes(body: bytes, path: str = "/validate/warn") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _roundtrip(reader, writer, request: bytes) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return head + await reader.readexactly(length)


async def measure_rate(port: int, ca: str, body: bytes, rate: float, seconds: float) -> dict:
    """Open loop at `rate`: latency from when each request was due; counts unchecked admissions."""
    context = ssl.create_default_context(cafile=ca)
    idle: list = []
    latencies: list[float] = []
    unchecked = errors = 0
    request = request_bytes(body)
    slots = asyncio.Semaphore(32)  # at most 32 connections, as an API server keeps a few per replica

    async def fire(due: float) -> None:
        async with slots:
            await _fire(due)

    async def _fire(due: float) -> None:
        nonlocal unchecked, errors
        try:
            conn = idle.pop() if idle else await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        except (OSError, ssl.SSLError):
            errors += 1
            return
        try:
            answer = await _roundtrip(*conn, request)
        except Exception:
            errors += 1
            conn[1].close()
            return
        latencies.append(time.perf_counter() - due)
        if b"ADMISSION_INTERNAL_ERROR" in answer:
            unchecked += 1
        if not answer.startswith(b"HTTP/1.1 200"):
            errors += 1
        idle.append(conn)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    ordered = sorted(latencies) or [0.0]
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "unchecked": unchecked, "p50_ms": at(0.5), "p99_ms": at(0.99)}


def measure(port: int, ca: Path, body: Path, rate: float = RATE, seconds: float = SECONDS) -> dict:
    """`measure_rate` in a process of its own, so the hostile clients here do not slow the measuring."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.slow_clients_bench", "measure", str(port), str(ca), str(body), str(rate), str(seconds)],
        capture_output=True, text=True, cwd=REPO,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


async def slow_header_clients(port: int, ca: str, count: int, stop: asyncio.Event, lifetimes: list[float]) -> None:
    """`count` clients that dribble a request's headers, one byte every 5 s, and reconnect when cut off."""
    context = ssl.create_default_context(cafile=ca)

    async def one() -> None:
        while not stop.is_set():
            opened = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
                writer.write(b"POST /validate/warn HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                while not stop.is_set():
                    writer.write(b"X")
                    await writer.drain()
                    try:
                        if await asyncio.wait_for(reader.read(1024), 5.0) == b"" or reader.at_eof():
                            break
                    except asyncio.TimeoutError:
                        continue
                    break  # the server answered (408): it is done with us
                writer.close()
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.5)
            lifetimes.append(time.monotonic() - opened)

    await asyncio.gather(*(one() for _ in range(count)))


async def half_sent_requests(port: int, ca: str, count: int, hold: float, pid: int) -> dict:
    context = ssl.create_default_context(cafile=ca)
    writers, refused = [], 0
    head = (b"POST /validate/warn HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"{" * 50000)
    slots = asyncio.Semaphore(64)

    async def one() -> None:
        nonlocal refused
        async with slots:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
                writer.write(head)
                await writer.drain()
                writers.append(writer)
            except (OSError, ssl.SSLError):
                refused += 1

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(max(0.0, hold - (time.monotonic() - started)))
    rss, _ = rss_mb(pid)
    for writer in writers:
        writer.close()
    return {"sent": count, "refused_at_connect": refused, "rss_mb": rss}


async def large_senders(port: int, ca: str, bodies: list[bytes], count: int, stop: asyncio.Event) -> tuple[int, dict]:
    """`count` clients sending large reviews back to back; (answered, {status or error: count})."""
    context = ssl.create_default_context(cafile=ca)
    sent = 0
    outcomes: dict = {}

    async def one(i: int) -> None:
        nonlocal sent
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
                while not stop.is_set():
                    answer = await _roundtrip(reader, writer, request_bytes(bodies[(i + sent) % len(bodies)]))
                    status = int(answer.split(b" ", 2)[1])
                    outcomes[status] = outcomes.get(status, 0) + 1
                    sent += 1
                    if status != 200:
                        break  # the server closes a connection whose body it did not read
                writer.close()
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(i) for i in range(count)))
    return sent, outcomes


def medium_review() -> bytes:
    """A 150 kB UPDATE: object and oldObject, each with managedFields and a long last-applied."""
    review = deployment_review()
    obj = review["request"]["object"]
    obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{" + '"k":"v",' * 8000 + '"y":2}'
    review["request"]["operation"] = "UPDATE"
    old = json.loads(json.dumps(obj))
    old["spec"]["template"]["spec"]["containers"][0]["image"] = "tensorflow/serving:2.14.0"
    review["request"]["oldObject"] = old
    return json.dumps(review, separators=(",", ":")).encode()


def main() -> int:
    from harness.controlplane import CertificateAuthority

    work = Path(tempfile.mkdtemp(prefix="tfguard-slow-bench-"))
    ca = CertificateAuthority(work)
    pair = ca.issue("server", "bench", hosts=["127.0.0.1"])
    ca_path = str(ca.pair.cert_path)
    normal = work / "normal.json"
    normal.write_text(json.dumps(deployment_review()))
    medium = work / "medium.json"
    medium.write_bytes(medium_review())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFGUARD_WEBHOOK_") and k != "KUBECONFIG"}
    env["TFGUARD_BENCH_MODULES_REPORT"] = str(work / "modules.json")
    port = free_port()
    log = work / "webhook.log"
    server = start_webhook(pair, port, log, env)
    results: dict = {}
    try:
        wait_listening(port, server, log)
        measure(port, ca.pair.cert_path, normal, seconds=2)  # warm-up
        results["idle"] = measure(port, ca.pair.cert_path, normal)
        results["rss_idle"] = rss_mb(server.pid)[0]

        async def with_slow_clients():
            stop, lifetimes = asyncio.Event(), []
            clients = asyncio.create_task(slow_header_clients(port, ca_path, SLOW_CLIENTS, stop, lifetimes))
            await asyncio.sleep(6)  # every client connected and dribbling
            loop = asyncio.get_running_loop()
            during = await loop.run_in_executor(None, measure, port, ca.pair.cert_path, normal)
            stop.set()
            await asyncio.wait_for(clients, 30)
            return during, lifetimes

        results["slow"], lifetimes = asyncio.run(with_slow_clients())
        results["slow_longest_s"] = round(max(lifetimes, default=0.0), 1)
        results["slow_connections"] = len(lifetimes)

        results["half_sent"] = asyncio.run(half_sent_requests(port, ca_path, HALF_SENT, 5.0, server.pid))
        time.sleep(12)  # the body deadline closes what was kept
        results["rss_after_half_sent"] = rss_mb(server.pid)[0]

        async def with_large_senders():
            stop = asyncio.Event()
            bodies = [large_review(i) for i in range(8)]
            senders = asyncio.create_task(large_senders(port, ca_path, bodies, 4, stop))
            await asyncio.sleep(1)
            loop = asyncio.get_running_loop()
            normal_run = loop.run_in_executor(None, measure, port, ca.pair.cert_path, normal)
            medium_run = loop.run_in_executor(None, measure, port, ca.pair.cert_path, medium, 20.0)
            during = await normal_run, await medium_run
            stop.set()
            return during, await senders

        (results["large_normal"], results["large_medium"]), (results["large_sent"], results["large_outcomes"]) = (
            asyncio.run(with_large_senders()))
        results["rss_end"], results["rss_peak"] = rss_mb(server.pid)
    finally:
        stop_server(server)
    idle, slow = results["idle"], results["slow"]
    ratio = slow["p99_ms"] / max(idle["p99_ms"], 0.01)
    print(f"Webhook under slow and hostile clients: normal reviews at {RATE:g}/s for {SECONDS:g}s, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"idle: p50 {idle['p50_ms']} ms, p99 {idle['p99_ms']} ms ({idle['requests']} reviews, {idle['errors']} errors); "
          f"RSS {results['rss_idle']:.1f} MB")
    print(f"{SLOW_CLIENTS} slow-header clients: p50 {slow['p50_ms']} ms, p99 {slow['p99_ms']} ms "
          f"({ratio:.2f}x idle; {slow['errors']} errors); {results['slow_connections']} slow connections, the "
          f"longest lived {results['slow_longest_s']} s")
    half = results["half_sent"]
    print(f"{half['sent']} half-sent requests: RSS {half['rss_mb']:.1f} MB while they waited "
          f"({half['refused_at_connect']} refused at connect), {results['rss_after_half_sent']:.1f} MB after")
    big, medium_run = results["large_normal"], results["large_medium"]
    print(f"4 clients sending 1.4 MB reviews back to back ({results['large_sent']} answered: "
          f"{results['large_outcomes']}): normal p99 "
          f"{big['p99_ms']} ms, {big['unchecked']} of {big['requests']} admitted unchecked; 150 kB UPDATE p99 "
          f"{medium_run['p99_ms']} ms, {medium_run['unchecked']} of {medium_run['requests']} admitted unchecked")
    print(f"RSS at the end {results['rss_end']:.1f} MB, peak {results['rss_peak']:.1f} MB")
    goals = [
        ("p99 with slow clients <= 2x idle", ratio <= 2.0),
        ("no slow-header connection lives past 15 s", results["slow_longest_s"] <= 15.0),
        ("no normal review admitted unchecked beside large ones", big["unchecked"] == 0 and medium_run["unchecked"] == 0),
    ]
    for goal, met in goals:
        print(f"goal {goal}: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["measure"]:
        port, ca, body, rate, seconds = sys.argv[2:7]
        print(json.dumps(asyncio.run(measure_rate(int(port), ca, Path(body).read_bytes(), float(rate), float(seconds)))))
        sys.exit(0)
    sys.exit(main())
