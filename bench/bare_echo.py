"""The baselines: endpoints that parse the AdmissionReview and answer it, served by uvicorn with the
same TLS and HTTP settings as the webhook.

`app` answers the least an admission answer can be (allowed, uid echoed): the raw ASGI floor;
`echo_app` parses the review and echoes the same JSON back; `fastapi_app` is a plain FastAPI
endpoint that does what `app` does, the way a FastAPI webhook is usually written.
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


def _fastapi():
    from fastapi import FastAPI, Request

    fastapi = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @fastapi.post("/")
    async def review(request: Request) -> dict:
        parsed = json.loads(await request.body())
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": parsed["request"]["uid"], "allowed": True}}

    return fastapi


def __getattr__(name):  # the FastAPI app is built only when uvicorn asks for it
    if name == "fastapi_app":
        return _fastapi()
    raise AttributeError(name)
