"""The webhook's FastAPI app: /validate, /mutate, /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Callable, Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tfguard.webhook import codes
from tfguard.webhook.cache import Caches
from tfguard.webhook.metrics import Metrics
from tfguard.webhook.models import AdmissionRequest, BadReview, parse_review, review_response
from tfguard.webhook.mutate import mutate
from tfguard.webhook.settings import MODES, Settings
from tfguard.webhook.validate import Outcome, VerdictMemo, validate

log = logging.getLogger("tfguard.webhook")


def create_app(settings: Optional[Settings] = None, caches: Optional[Caches] = None) -> FastAPI:
    settings = settings or Settings.from_env()
    caches = caches if caches is not None else Caches()
    metrics = Metrics(caches.sizes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = None
        kube = None
        try:  # load the engine and its release knowledge now, not on the first admission
            import tfguard.compat.verdict  # noqa: F401
        except Exception:
            log.exception("the verdict engine does not load: every /validate request will be admitted unchecked")
        if settings.watch:
            from tfguard.kube import ConfigError, KubeClient, load_config

            try:
                kube = KubeClient(load_config(settings.kubeconfig))
                task = asyncio.create_task(caches.run(kube, settings.cache_sync_timeout))
            except (ConfigError, OSError, ValueError) as exc:
                log.warning("no cluster access (%s): judging from annotations and the catalog only", exc)
                caches.gave_up = True
        else:
            caches.gave_up = True
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if kube is not None:
            await kube.close()

    app = FastAPI(title="tfguard admission webhook", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.caches, app.state.metrics = settings, caches, metrics

    async def admit(request: Request, endpoint: str, mode: Optional[str], decide: Callable[..., Outcome]) -> Response:
        started = time.perf_counter()
        if mode is not None and mode not in MODES:
            return _reject(metrics, 400, "bad-mode", f"the mode in the path must be one of {', '.join(MODES)}, not {mode[:40]!r}")
        try:
            body = await read_body(request, settings.max_body_bytes)
            review = parse_review(body)
        except BadReview as exc:
            return _reject(metrics, exc.status, _reason(exc.status), str(exc))
        req: AdmissionRequest = review.request
        mode = mode or settings.default_mode
        if settings.is_excluded(req.namespace):
            outcome = Outcome("skipped", mode=mode, audit={"excluded": "namespace"})
        else:
            try:
                if len(body) <= settings.inline_body_bytes:
                    # Bounded by the object's size: well under a millisecond, less than a thread hop costs.
                    outcome = decide(req, mode)
                else:
                    outcome = await asyncio.wait_for(asyncio.to_thread(decide, req, mode), settings.admission_timeout)
            except Exception as exc:  # fail-open: an error in tfguard never blocks the cluster
                timed_out = isinstance(exc, asyncio.TimeoutError)
                why = f"the check took over {settings.admission_timeout:g}s" if timed_out else f"internal error ({type(exc).__name__})"
                log.error(
                    "admission failed open",
                    exc_info=not timed_out,
                    extra={"uid": req.uid, "endpoint": endpoint, "kind": req.kind.kind, "namespace": req.namespace, "object": req.name},
                )
                finding = codes.finding(codes.INTERNAL_ERROR, f"{why}; admitted unchecked")
                outcome = Outcome("error", mode=mode, findings=[finding], warnings=[f"tfguard [{finding.code}]: {finding.message}"])
        answer = review_response(outcome.response(req.uid))
        seconds = time.perf_counter() - started
        metrics.observe(endpoint, req.operation, outcome.verdict, outcome.mode, outcome.allowed, seconds)
        if outcome.verdict not in ("skipped", "unchanged") or not outcome.allowed:
            log.info(
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
        return Response(json.dumps(answer, separators=(",", ":")).encode(), media_type="application/json")

    memo = VerdictMemo(settings.verdict_cache_size)

    async def validate_endpoint(request: Request) -> Response:
        return await admit(request, "validate", request.path_params.get("mode"),
                           lambda req, m: validate(req, m, caches, memo))

    async def mutate_endpoint(request: Request) -> Response:
        return await admit(request, "mutate", request.path_params.get("mode"),
                           lambda req, m: mutate(req, m, caches, settings))

    # The mode is a path segment (/validate/enforce): webhook URLs may carry no query string. The chart
    # registers one entry per namespace mode, picked by a namespaceSelector on the tfguard.io/mode label,
    # so the webhook needs no namespace lookups. A bare /validate uses the default mode.
    # Plain Starlette routes: the body is parsed by parse_review (typed, capped), so FastAPI's
    # per-request dependency solving would be pure overhead on the admission path.
    for path, endpoint in (("/validate", validate_endpoint), ("/mutate", mutate_endpoint)):
        app.router.add_route(path, endpoint, methods=["POST"], include_in_schema=False)
        app.router.add_route(path + "/{mode}", endpoint, methods=["POST"], include_in_schema=False)

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/readyz")
    async def readyz() -> PlainTextResponse:
        if caches.ready:
            state = "synced" if caches.synced else "serving without caches"
            return PlainTextResponse(f"ready ({state})\n")
        return PlainTextResponse("waiting for the ImageStack and ModelProfile caches\n", status_code=503)

    @app.get("/metrics")
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    return app


async def read_body(request: Request, limit: int) -> bytes:
    content_type = request.headers.get("content-type", "application/json")
    if "json" not in content_type:
        raise BadReview(f"Content-Type {content_type[:60]!r}: expected application/json", status=415)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadReview(f"body of {int(declared)} bytes is over the {limit}-byte limit", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadReview(f"body is over the {limit}-byte limit", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(status: int) -> str:
    return {413: "too-large", 415: "not-json"}.get(status, "malformed")


def _reject(metrics: Metrics, status: int, reason: str, message: str) -> JSONResponse:
    metrics.reject(reason)
    log.warning("rejected request", extra={"status": status, "reason": reason, "error": message})
    return JSONResponse({"error": message}, status_code=status)
