"""Slow and hostile clients against the real webhook server (uvicorn, TLS): deadlines and caps hold.

The deadlines are set short here so the tests are quick; each test waits for the server to act
(generously) and checks what it did, never how fast. The figures under load are in
bench/slow_clients_bench.py and BENCHMARKS.md.
"""

from __future__ import annotations

import json
import socket
import ssl
import time

import httpx

from webhook_documents import MODEL, admission_review, deployment


def tls_socket(webhook) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(webhook.ca_path))
    raw = socket.create_connection(("127.0.0.1", webhook.settings.port), timeout=30)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def read_until_closed(sock: ssl.SSLSocket, wait: float = 30.0) -> bytes:
    """Everything the server sends until it closes the connection (or `wait` runs out)."""
    sock.settimeout(wait)
    received = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            break
        except (ssl.SSLError, ConnectionResetError):
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open; it sent {received[:200]!r}")


def test_a_client_that_never_finishes_its_headers_is_cut_off_with_408(start_webhook):
    webhook = start_webhook(header_timeout=1.0)
    with tls_socket(webhook) as sock:
        sock.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    with webhook.client() as client:  # and everyone else is served as before
        assert client.get("/healthz").status_code == 200


def test_a_client_that_dribbles_its_headers_is_cut_off_all_the_same(start_webhook):
    webhook = start_webhook(header_timeout=2.0)
    with tls_socket(webhook) as sock:
        sock.sendall(b"POST /validate HTTP/1.1\r\n")
        sock.settimeout(0.5)
        answer = None
        for _ in range(60):  # one byte every half second: an idle timer alone would never fire
            try:
                sock.sendall(b"X")
                answer = sock.recv(1024)  # the 408, or b"" once closed
                break
            except (socket.timeout, TimeoutError):
                continue
            except (ssl.SSLError, OSError):
                answer = b""
                break
    assert answer is not None, "the server kept a connection that never finished its headers"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def test_a_client_that_stops_sending_its_body_is_cut_off(start_webhook):
    webhook = start_webhook(body_timeout=1.0)
    with tls_socket(webhook) as sock:
        sock.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\n\r\n{\"apiVersion\":")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408") or answer == b""


def test_connections_beyond_the_cap_are_closed_at_once_and_the_others_served(start_webhook):
    webhook = start_webhook(max_connections=3, header_timeout=30.0)
    held = [tls_socket(webhook) for _ in range(3)]
    try:
        extra = tls_socket(webhook)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_until_closed(extra, wait=10) == b""
        extra.close()
    finally:
        for sock in held:
            sock.close()
    with webhook.client() as client:
        assert client.get("/healthz").status_code == 200


def test_bodies_beyond_the_memory_budget_get_503_while_others_are_read(start_webhook):
    webhook = start_webhook(max_buffered_bytes=40_000, body_timeout=30.0)
    with tls_socket(webhook) as slow:
        slow.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 30000\r\n\r\n{")
        time.sleep(0.5)  # let the server reserve the slow request's 30 kB
        review = json.dumps(admission_review(deployment(annotations={**MODEL, "pad": "x" * 15_000})))
        with webhook.client() as client:
            resp = client.post("/validate", content=review, headers={"Content-Type": "application/json"})
        assert resp.status_code == 503 and "in flight" in resp.json()["error"]
    with webhook.client() as client:  # once the slow one is gone, the same request is answered
        resp = client.post("/validate", content=review, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200


def test_the_media_type_must_be_json_itself(webhook):
    review = json.dumps(admission_review(deployment(annotations=MODEL)))
    with webhook.client() as client:
        for content_type in ("text/notjson", "application/jsonx", "application/xml; charset=json"):
            resp = client.post("/validate", content=review, headers={"Content-Type": content_type})
            assert resp.status_code == 415, content_type
        ok = client.post("/validate", content=review, headers={"Content-Type": "application/json; charset=utf-8"})
        assert ok.status_code == 200


def test_a_body_without_a_length_is_a_411(webhook):
    review = json.dumps(admission_review(deployment(annotations=MODEL))).encode()
    with webhook.client() as client:
        resp = client.post("/validate", content=iter([review]), headers={"Content-Type": "application/json"})
    assert resp.status_code == 411


def test_metrics_can_be_served_on_a_port_of_their_own(start_webhook):
    from conftest import free_port

    port = free_port()
    webhook = start_webhook(metrics_port=port)
    with webhook.client() as client:
        client.post("/validate", json=admission_review(deployment(annotations=MODEL)))
    deadline = time.monotonic() + 20
    while True:
        try:
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert metrics.status_code == 200 and "tfguard_admission_requests_total" in metrics.text
    assert httpx.post(f"http://127.0.0.1:{port}/validate", timeout=5).status_code == 404  # admissions: TLS only


def test_large_requests_take_turns_and_never_hold_up_a_small_one(start_webhook):
    webhook = start_webhook(inline_body_bytes=4_000, admission_timeout=1.0, large_concurrency=1, body_timeout=30.0)
    large = json.dumps(admission_review(deployment(annotations={**MODEL, "pad": "x" * 20_000})))
    with tls_socket(webhook) as holder:
        # A large request that takes its time sending its body holds the one large turn...
        holder.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       + f"Content-Length: {len(large)}\r\n\r\n".encode() + large[:1000].encode())
        time.sleep(0.5)
        with webhook.client() as client:
            # ... another large one waits for it no longer than the admission time limit, then 503
            resp = client.post("/validate", content=large, headers={"Content-Type": "application/json"})
            assert resp.status_code == 503 and "large" in resp.json()["error"]
            # ... while a small review is answered at once.
            small = client.post("/validate", json=admission_review(deployment(annotations=MODEL)))
            assert small.status_code == 200 and small.json()["response"]["allowed"] is True
        holder.sendall(large[1000:].encode())
        assert holder.recv(65536).startswith(b"HTTP/1.1 200")  # and the first is judged in its turn
