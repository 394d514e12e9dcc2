"""HTTPS only, and a rotated certificate is picked up while requests are running, with no failures."""

from __future__ import annotations

import os
import ssl
import threading

import httpx
import pytest

from webhook_documents import admission_review, deployment


def served_certificate_serial(webhook) -> int:
    from cryptography import x509

    pem = ssl.get_server_certificate(("127.0.0.1", webhook.settings.port))
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def test_plain_http_gets_no_answer(webhook):
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"http://127.0.0.1:{webhook.settings.port}/validate", json={}, timeout=5)


def test_rotated_certificate_is_served_without_restart_and_without_failing_requests(tls_ca, webhook):
    before = served_certificate_serial(webhook)
    review = admission_review(deployment())
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def load(new_connection_each_time: bool):
        client = None
        while not stop.is_set():
            try:
                if client is None or new_connection_each_time:
                    if client is not None:
                        client.close()
                    client = webhook.client()
                resp = client.post("/validate", json=review)
                if resp.status_code != 200 or resp.json()["response"]["uid"] != review["request"]["uid"]:
                    failures.append(f"{resp.status_code} {resp.text[:200]}")
                answered[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure counts
                failures.append(repr(exc))
        client.close()

    workers = [threading.Thread(target=load, args=(i % 2 == 0,)) for i in range(4)]
    for w in workers:
        w.start()
    try:
        for round_ in range(3):
            fresh = tls_ca.issue(f"rotated-{round_}", "tfguard-webhook", hosts=["127.0.0.1"])
            # Replace the files the way a kubelet updates a mounted Secret: write aside, rename in place,
            # one file after the other (a handshake can land between the two renames).
            for src, dst in ((fresh.cert_path, webhook.settings.cert_file), (fresh.key_path, webhook.settings.key_file)):
                tmp = dst + ".tmp"
                with open(src, "rb") as f, open(tmp, "wb") as g:
                    g.write(f.read())
                os.replace(tmp, dst)
            wait_until(lambda: served_certificate_serial(webhook) != before)
            before = served_certificate_serial(webhook)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert answered[0] > 0
    assert failures == []
    assert webhook.server.cert_reloader.reloads >= 3


def wait_until(condition, timeout=20.0):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
