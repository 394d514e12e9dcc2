"""The webhook's FastAPI app: /validate, /mutate, /healthz, /readyz, /metrics.

`create_app` returns the ASGI application: `AdmissionEndpoints` serving the two admission endpoints,
in front of the FastAPI app that serves the rest. The API server calls the admission endpoints for
every matching object, and FastAPI's middleware, routing and dependency solving would cost more than
the check itself. The body is still parsed into
the typed AdmissionReview model (`parse_review`), capped in size, and answered with the typed
AdmissionResponse.

What a client can make the webhook hold is bounded: at most `max_in_flight` admissions at once and
`max_buffered_bytes` of request bodies between them (a request that would pass either gets 503 at
once, and the API server applies the webhook's failure policy); the HTTP layer closes connections
that are slow to send their headers or body (serve.py). Small reviews, the API server's everyday
traffic, are parsed and judged on the event loop; large ones take turns (`large_concurrency`, one
by default): a large request's body is not even read (so not decrypted on the event loop) until its
turn comes, then it is parsed and judged in a worker thread. A burst of large bodies delays only
itself, never a small review; a large request whose turn does not come within `admission_timeout`
gets 503 (the API server applies the failure policy).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
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
    memo = VerdictMemo(settings.verdict_cache_bytes)
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
    store.trusted_namespaces = tuple(settings.trusted_namespaces)
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
        self.in_flight = 0
        self.buffered = 0  # bytes of request bodies reserved by the admissions in flight
        self.large = concurrent.futures.ThreadPoolExecutor(max(1, settings.large_concurrency), "tfguard-large")
        self.large_turns = asyncio.Semaphore(max(1, settings.large_concurrency))
        self._last_logged: dict[str, float] = {}

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
            declared = declared_length(scope, settings.max_body_bytes)
        except BadReview as exc:
            return self._reject(exc.status, REJECT_REASONS.get(exc.status, "malformed"), str(exc))
        if self.in_flight >= settings.max_in_flight or self.buffered + declared > settings.max_buffered_bytes:
            return self._reject(503, "overloaded", "too many admission requests in flight; try again")
        large = declared > settings.inline_body_bytes
        self.in_flight += 1
        self.buffered += declared
        try:
            if large:
                try:
                    if self.large_turns.locked():
                        await asyncio.wait_for(self.large_turns.acquire(), settings.admission_timeout)
                    else:  # a free turn is taken at once, even under a zero timeout
                        await self.large_turns.acquire()
                except asyncio.TimeoutError:
                    return self._reject(503, "overloaded", "busy with other large admission requests; try again")
            try:
                return await self._admit(scope, receive, endpoint, mode or settings.default_mode, started)
            finally:
                if large:
                    self.large_turns.release()
        finally:
            self.in_flight -= 1
            self.buffered -= declared
            if large:
                # The large request's objects are gone with _admit's frame: return their memory.
                asyncio.get_running_loop().run_in_executor(self.large, _give_back_memory)

    async def _admit(self, scope, receive, endpoint: str, mode: str, started: float) -> tuple[int, dict[str, Any]]:
        settings = self.settings
        decide = self.deciders[endpoint]
        try:
            body = await read_body(scope, receive, settings.max_body_bytes)
            if len(body) <= settings.inline_body_bytes:
                # Bounded by the object's size: under a few milliseconds, less than a thread hop costs.
                req = parse_review(body).request
                outcome = self._decide(decide, req, mode, endpoint)
            else:
                # The time spent waiting for this turn counts: the API server's own clock runs from its send.
                # A request that waited gets a short floor, never more than the timeout itself.
                floor = min(0.05, settings.admission_timeout)
                left = max(floor, settings.admission_timeout - (time.perf_counter() - started))
                deadline = time.monotonic() + left
                future = asyncio.get_running_loop().run_in_executor(self.large, self._judge_large, body, decide, mode, endpoint, deadline)
                try:
                    # On time-out the future is cancelled: still queued, it never runs; already running,
                    # its answer is dropped.
                    req, outcome = await asyncio.wait_for(future, left)
                except asyncio.TimeoutError:
                    req = _uid_only(body)
                    outcome = self._failed_open(asyncio.TimeoutError(), req, endpoint, mode)
        except BadReview as exc:
            return self._reject(exc.status, REJECT_REASONS.get(exc.status, "malformed"), str(exc))
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

    def _decide(self, decide: Callable[..., Outcome], req: AdmissionRequest, mode: str, endpoint: str) -> Outcome:
        if self.settings.is_excluded(req.namespace):
            return Outcome("skipped", mode=mode, audit={"excluded": "namespace"})
        try:
            return decide(req, mode)
        except Exception as exc:  # fail-open: an error in tfguard never blocks the cluster
            return self._failed_open(exc, req, endpoint, mode)

    def _judge_large(self, body: bytes, decide, mode: str, endpoint: str, deadline: float):
        """In the large-request thread: parse and judge, unless the request's time is already up."""
        if time.monotonic() > deadline:
            raise asyncio.TimeoutError()
        req = parse_review(body).request
        return req, self._decide(decide, req, mode, endpoint)

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
        now = time.monotonic()
        if now - self._last_logged.get(reason, -1.0) >= 1.0:  # a flood of them is one line a second (metrics count all)
            self._last_logged[reason] = now
            log.warning("rejected request", extra={"status": status, "reason": reason, "error": message})
        return status, {"error": message}


REJECT_REASONS = {411: "no-length", 413: "too-large", 415: "not-json", 503: "overloaded"}


def declared_length(scope, limit: int) -> int:
    """The body's Content-Length, after checking the headers: JSON (the media type itself, parameters
    aside: `text/notjson` is not JSON), a length given (the API server always gives one: it is what the
    request's memory is reserved by) and within the limit."""
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise BadReview(f"Content-Type {content_type[:60]!r}: expected application/json", status=415)
    declared = headers.get(b"content-length", b"").decode("latin-1").strip()
    if not declared.isdigit():
        raise BadReview("no Content-Length: the body's length must be given up front", status=411)
    if int(declared) > limit:
        raise BadReview(f"body of {int(declared)} bytes is over the {limit}-byte limit", status=413)
    return int(declared)


def _uid_only(body: bytes) -> AdmissionRequest:
    """The request as far as a fail-open answer needs it, when the whole could not be judged in time."""
    import re

    uid = re.search(rb'"uid"\s*:\s*"([^"\\]{1,128})"', body[:65536])
    return AdmissionRequest(uid=uid.group(1).decode("utf-8", "replace") if uid else "unknown",
                            kind={"kind": "Unknown"}, operation="CREATE")


_LIBC = None


def _give_back_memory() -> None:
    """After a large request: hand the freed heap back to the system (glibc keeps it otherwise, and a
    replica's RSS would stay at its largest request's high-water mark)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


async def read_body(scope, receive, limit: int) -> bytes:
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
