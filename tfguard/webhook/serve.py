"""Serve the webhook over HTTPS with uvicorn; rotated cert/key files are picked up on the fly.

Every TLS handshake passes through `CertReloader.sni_callback`, which hands the connection the
current `SSLContext`. That context is rebuilt when the cert or key file changes (mtime, inode or
size) and the pair loads cleanly; a half-written rotation keeps the previous pair until the next
handshake. Connections already open keep the context they started with, so nothing in flight fails.

Slow and hostile clients hold nothing for long (`GuardedHttpProtocol`): a TLS handshake, a
request's headers and its body each have a deadline (a client that sends one byte every few
seconds is cut off, with 408, when its time is up), idle keep-alive connections are closed, and
connections beyond `max_connections` are closed as soon as they are accepted.
`/metrics` can also be served over plain HTTP on a port of its own (`metrics_port`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import os
import ssl
import sys
import threading
import time
from typing import Callable, Optional

import uvicorn

from tfguard.webhook.settings import WebhookSettings

log = logging.getLogger("tfguard.webhook.serve")


class CertReloader:
    def __init__(self, cert_file: str, key_file: str, check_interval: float = 1.0):
        self.cert_file, self.key_file = cert_file, key_file
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._stamp = self._file_stamp()
        self.current = self._build()  # fails loudly at start: no certificate, no webhook
        self.reloads = 0

    def _file_stamp(self):
        stamps = []
        for path in (self.cert_file, self.key_file):
            st = os.stat(path)
            stamps.append((st.st_mtime_ns, st.st_ino, st.st_size))
        return tuple(stamps)

    def _build(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return
        with self._lock:
            self._checked_at = now
            try:
                stamp = self._file_stamp()
                if stamp == self._stamp:
                    return
                fresh = self._build()
            except (OSError, ssl.SSLError, ValueError) as exc:
                log.warning("certificate files changed but do not load yet (%s); keeping the previous pair", exc)
                return
            self.current, self._stamp = fresh, stamp
            self.reloads += 1
            log.info("reloaded the serving certificate", extra={"cert": self.cert_file})

    def sni_callback(self, ssl_object: ssl.SSLObject, server_name: Optional[str], ctx: ssl.SSLContext) -> None:
        self.maybe_reload()
        if ssl_object.context is not self.current:
            ssl_object.context = self.current

    def listening_context(self) -> ssl.SSLContext:
        """The context the server socket is created with: it only routes each handshake to `current`."""
        ctx = self._build()
        ctx.sni_callback = self.sni_callback
        return ctx


class _JsonFormatter(logging.Formatter):
    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", flush_interval: float = 0.5) -> None:
    """JSON lines on stderr. Records are batched and written every `flush_interval` seconds (or at
    once for warnings and errors): one write per admission would cost more than the admission."""
    # What the JSON lines never show, not computed per record (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(_JsonFormatter())
    batched = logging.handlers.MemoryHandler(capacity=512, flushLevel=logging.WARNING, target=stream)
    root = logging.getLogger()
    root.handlers[:] = [batched]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True

    def flush_now_and_then() -> None:
        while True:
            time.sleep(flush_interval)
            batched.flush()

    threading.Thread(target=flush_now_and_then, name="tfguard-log-flush", daemon=True).start()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpProtocol
except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
    _HttpProtocol = None

_TOO_SLOW = b"the request was not sent in time\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n"
    b"connection: close\r\n\r\n%s" % (len(_TOO_SLOW), _TOO_SLOW)
)


def guarded_protocol(settings: WebhookSettings, on_reject: Callable[[str], None]) -> type:
    """uvicorn's httptools protocol with deadlines and a connection cap (see the module docstring)."""
    if _HttpProtocol is None:  # pragma: no cover
        log.warning("httptools is not installed: no header or body deadlines")
        return None

    class GuardedHttpProtocol(_HttpProtocol):
        _deadline: Optional[asyncio.TimerHandle] = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > settings.max_connections:
                on_reject("too-many-connections")
                transport.abort()
                return
            self._arm(settings.header_timeout)  # the first request's headers are due from now

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm(settings.header_timeout)  # a later request on a kept-alive connection

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(settings.body_timeout)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()  # the request is whole: the app's own time limit applies from here

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport is None or self.transport.is_closing():
                return
            on_reject("slow-client")
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()

    return GuardedHttpProtocol


class _HandshakeDeadlineLoops:
    """A loop factory: uvicorn's own loop, whose servers give each TLS handshake a deadline (asyncio's
    default is 60 s, and uvicorn passes none)."""

    def __init__(self, factory: Callable[[], asyncio.AbstractEventLoop], timeout: float):
        self.factory, self.timeout = factory, timeout

    def __call__(self) -> asyncio.AbstractEventLoop:
        loop = self.factory()
        base = type(loop)
        timeout = self.timeout

        class Loop(base):  # type: ignore[misc, valid-type]
            async def create_server(self, *args, **kwargs):
                if kwargs.get("ssl") is not None:
                    kwargs.setdefault("ssl_handshake_timeout", timeout)
                return await super().create_server(*args, **kwargs)

        loop.close()
        return Loop()


class _Config(uvicorn.Config):
    """uvicorn's Config, with the listening SSLContext swapped for the reloading one."""

    def __init__(self, *args, reloader: Optional[CertReloader], handshake_timeout: Optional[float] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._reloader = reloader
        self._handshake_timeout = handshake_timeout

    def load(self) -> None:
        super().load()
        if self._reloader is not None:
            self.ssl = self._reloader.listening_context()

    def get_loop_factory(self):
        factory = super().get_loop_factory()
        if factory is None or not self._handshake_timeout:
            return factory
        return _HandshakeDeadlineLoops(factory, self._handshake_timeout)


class _Server(uvicorn.Server):
    """The webhook's server; with a metrics port, a second plain-HTTP server runs beside it in the same loop."""

    metrics_server: Optional[uvicorn.Server] = None

    async def serve(self, sockets=None) -> None:
        if self.metrics_server is None:
            return await super().serve(sockets)
        side = asyncio.create_task(self.metrics_server._serve())  # its signals are the main server's
        try:
            await super().serve(sockets)
        finally:
            self.metrics_server.should_exit = True
            await side


def _metrics_only(app):
    """GET /metrics and /healthz of the webhook's app; nothing else on the metrics port."""
    routes = getattr(app, "app", app)  # AdmissionEndpoints -> the FastAPI app behind it

    async def metrics_app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] in ("/metrics", "/healthz"):
            return await routes(scope, receive, send)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})

    return metrics_app


def build_server(settings: WebhookSettings, app=None, sock=None) -> uvicorn.Server:
    if not settings.cert_file or not settings.key_file:
        raise ValueError("the webhook serves HTTPS only: give --cert and --key (or TFGUARD_WEBHOOK_CERT_FILE/KEY_FILE)")
    if app is None:
        from tfguard.webhook.app import create_app

        app = create_app(settings)
    metrics = getattr(getattr(app, "state", None), "metrics", None)
    on_reject = metrics.reject if metrics is not None else (lambda reason: None)
    protocol = guarded_protocol(settings, on_reject)
    reloader = CertReloader(settings.cert_file, settings.key_file)
    config = _Config(
        app,
        host=settings.host,
        port=settings.port,
        ssl_certfile=settings.cert_file,
        ssl_keyfile=settings.key_file,
        log_config=None,
        access_log=settings.access_log,
        loop="auto",
        http=protocol or "auto",
        lifespan="on",
        timeout_keep_alive=settings.keep_alive_timeout,
        reloader=reloader,
        handshake_timeout=settings.tls_handshake_timeout,
    )
    server = _Server(config)
    server.cert_reloader = reloader
    if settings.metrics_port:
        server.metrics_server = uvicorn.Server(_Config(
            _metrics_only(app), host=settings.host, port=settings.metrics_port, log_config=None, access_log=False,
            loop="auto", http=protocol or "auto", lifespan="off", timeout_keep_alive=settings.keep_alive_timeout,
            reloader=None,
        ))
    return server


MMAP_THRESHOLD = 1024 * 1024


def tune_malloc() -> None:
    """glibc only: allocations of 1 MiB and more (a large request's body) get pages of their own,
    given back as soon as they are freed, instead of heap that a burst of large requests would leave
    the process holding; and two arenas, not one per thread. (mallopt's M_MMAP_THRESHOLD = -3,
    M_ARENA_MAX = -8.) Not lower: every TLS read allocates a 256 KiB buffer and shrinks it to what
    arrived, and below that size each read would cost an mmap, an mremap and a munmap (measured: 30
    microseconds of CPU a request, an eighth of the whole admission)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        libc = None
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(-3, MMAP_THRESHOLD)
        libc.mallopt(-8, 2)


def serve(settings: WebhookSettings) -> int:
    configure_logging(settings.log_level)
    tune_malloc()
    server = build_server(settings)
    log.info("serving", extra={"host": settings.host, "port": settings.port, "default_mode": settings.default_mode,
                               "metrics_port": settings.metrics_port})
    server.run()
    return 0
