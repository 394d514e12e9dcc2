"""The webhook's FastAPI app: /validate, /mutate, /healthz, /readyz, /metrics.

`create_app` returns the ASGI application: `AdmissionEndpoints` serving the two admission endpoints,
in front of the FastAPI app that serves the rest. The API server calls the admission endpoints for
every matching object, and FastAPI's middleware, routing and dependency solving would cost more than
the check itself. The body is still parsed into
the typed AdmissionReview model (`parse_review`), capped in size, and answered with the typed
AdmissionResponse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, Callable, Optional

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from tfguard.annotations import MODES
from tfguard.compat.codes import finding
from tfguard.webhook.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics
from tfguard.webhook.models import AdmissionRequest, BadReview, parse_review, review_response
from tfguard.webhook.mutate import mutate
from tfguard.webhook.settings import WebhookSettings
from tfguard.webhook.validate import Outcome, VerdictMemo, validate
from tfguard.webhook.watch import keep_store_current
from tfguard.workload.nodes import NodeStore
from tfguard.workload.store import FactStore

log = logging.getLogger("tfguard.webhook")


def create_app(settings: Optional[WebhookSettings] = None, store: Optional[FactStore] = None) -> "AdmissionEndpoints":
    if settings is None:
        import os

        from tfguard.settings import from_sources

        settings = from_sources(WebhookSettings, environ=os.environ)
    store = store if store is not None else FactStore()
    nodes = NodeStore()
    memo = VerdictMemo(settings.verdict_cache_size)
    metrics = Metrics(store, memo)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = None
        kube = None
        try:  # load the engine and its release knowledge now, not on the first admission
            import tfguard.compat.verdict  # noqa: F401
        except Exception:
            log.exception("the verdict engine does not load: every /validate request will be admitted unchecked")
        if settings.watch:
            from tfguard.errors import ConfigError
            from tfguard.kube import KubeClient, load_config

            try:
                kube = KubeClient(load_config(settings.kubeconfig))
                task = asyncio.create_task(keep_store_current(store, kube, settings.cache_sync_timeout, nodes))
            except (ConfigError, OSError) as exc:  # OSError: unreadable CA or client certificate files
                log.warning("no cluster access (%s): judging from annotations and the catalog only", exc)
                store.gave_up = True
        else:
            store.gave_up = True
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if kube is not None:
            await kube.close()

    app = FastAPI(title="tfguard admission webhook", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
    app.state.nodes = nodes
    endpoints = AdmissionEndpoints(
        app,
        settings=settings,
        metrics=metrics,
        deciders={
            "validate": lambda req, mode: validate(req, mode, store, memo, nodes),
            "mutate": lambda req, mode: mutate(req, mode, store, settings),
        },
    )

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/readyz")
    async def readyz() -> PlainTextResponse:
        if store.ready:
            state = "synced" if store.synced else "serving without caches"
            return PlainTextResponse(f"ready ({state})\n")
        return PlainTextResponse("waiting for the ImageStack and ModelProfile caches\n", status_code=503)

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    return endpoints


class AdmissionEndpoints:
    """POST /validate[/MODE] and /mutate[/MODE]; everything else (lifespan included) goes to the FastAPI app.

    The mode is a path segment (/validate/enforce): webhook URLs may carry no query string. The chart
    registers one entry per namespace mode, picked by a namespaceSelector on the tfguard.io/mode label,
    so the webhook needs no namespace lookups. A bare /validate uses the default mode.
    """

    def __init__(self, app: FastAPI, settings: WebhookSettings, metrics: Metrics, deciders: dict[str, Callable[..., Outcome]]):
        self.app, self.settings, self.metrics, self.deciders = app, settings, metrics, deciders
        self.state = app.state  # settings, store, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            endpoint, _, mode = scope["path"].strip("/").partition("/")
            if endpoint in self.deciders:
                if scope["method"] != "POST":
                    return await _respond(send, 405, {"error": f"/{endpoint} takes POST"})
                status, answer = await self.admit(scope, receive, endpoint, mode or None)
                return await _respond(send, status, answer)
        await self.app(scope, receive, send)

    async def admit(self, scope, receive, endpoint: str, mode: Optional[str]) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        settings = self.settings
        if mode is not None and mode not in MODES:
            return self._reject(400, "bad-mode", f"the mode in the path must be one of {', '.join(MODES)}, not {mode[:40]!r}")
        try:
            body = await read_body(scope, receive, settings.max_body_bytes)
            review = parse_review(body)
        except BadReview as exc:
            return self._reject(exc.status, {413: "too-large", 415: "not-json"}.get(exc.status, "malformed"), str(exc))
        req: AdmissionRequest = review.request
        mode = mode or settings.default_mode
        if settings.is_excluded(req.namespace):
            outcome = Outcome("skipped", mode=mode, audit={"excluded": "namespace"})
        else:
            decide = self.deciders[endpoint]
            try:
                if len(body) <= settings.inline_body_bytes:
                    # Bounded by the object's size: well under a millisecond, less than a thread hop costs.
                    outcome = decide(req, mode)
                else:
                    outcome = await asyncio.wait_for(asyncio.to_thread(decide, req, mode), settings.admission_timeout)
            except Exception as exc:  # fail-open: an error in tfguard never blocks the cluster
                outcome = self._failed_open(exc, req, endpoint, mode)
        answer = review_response(outcome.response(req.uid))
        seconds = time.perf_counter() - started
        self.metrics.observe(endpoint, req.kind.kind, req.operation, outcome.mode, outcome.verdict, outcome.allowed, seconds)
        # Denials, warnings and failures at INFO; quiet admissions at DEBUG (the API server's audit log
        # has every decision through auditAnnotations).
        quiet = outcome.allowed and not outcome.warnings
        if log.isEnabledFor(logging.DEBUG if quiet else logging.INFO):
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "admission",
                extra={
                    "uid": req.uid,
                    "endpoint": endpoint,
                    "operation": req.operation,
                    "kind": req.kind.kind,
                    "namespace": req.namespace,
                    "object": req.name,
                    "verdict": outcome.verdict,
                    "mode": outcome.mode,
                    "allowed": outcome.allowed,
                    "codes": [f.code for f in outcome.findings],
                    "dryRun": bool(req.dryRun),
                    "ms": round(seconds * 1000, 3),
                },
            )
        return 200, answer

    def _failed_open(self, exc: Exception, req: AdmissionRequest, endpoint: str, mode: str) -> Outcome:
        timed_out = isinstance(exc, asyncio.TimeoutError)
        self.metrics.fail_open(endpoint, "timeout" if timed_out else "internal_error")
        why = (
            f"the check took over {self.settings.admission_timeout:g}s"
            if timed_out
            else f"internal error ({type(exc).__name__})"
        )
        log.error(
            "admission failed open",
            exc_info=not timed_out,
            extra={"uid": req.uid, "endpoint": endpoint, "kind": req.kind.kind, "namespace": req.namespace, "object": req.name},
        )
        failed = finding("ADMISSION_INTERNAL_ERROR", f"{why}; admitted unchecked")
        return Outcome("error", mode=mode, findings=[failed], warnings=[f"tfguard [{failed.code}]: {failed.message}"])

    def _reject(self, status: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
        self.metrics.reject(reason)
        log.warning("rejected request", extra={"status": status, "reason": reason, "error": message})
        return status, {"error": message}


async def read_body(scope, receive, limit: int) -> bytes:
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
    if "json" not in content_type:
        raise BadReview(f"Content-Type {content_type[:60]!r}: expected application/json", status=415)
    declared = headers.get(b"content-length", b"").decode("latin-1")
    if declared.isdigit() and int(declared) > limit:
        raise BadReview(f"body of {int(declared)} bytes is over the {limit}-byte limit", status=413)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadReview("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadReview(f"body is over the {limit}-byte limit", status=413)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
