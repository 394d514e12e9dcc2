"""The baselines: bare ASGI endpoints that parse the AdmissionReview and answer it, served by uvicorn
with the same TLS and HTTP settings as the webhook.

`app` answers the least an admission answer can be (allowed, uid echoed); `echo_app` parses the
review and echoes the same JSON back, as the benchmark's brief words its baseline.
"""

import json


async def _read_json(receive):
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return json.loads(b"".join(chunks))


async def _send_json(send, payload):
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    review = await _read_json(receive)
    await _send_json(
        send,
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": True},
        },
    )


async def echo_app(scope, receive, send):
    if scope["type"] != "http":
        return
    await _send_json(send, await _read_json(receive))
