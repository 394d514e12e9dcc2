"""Serve the webhook over HTTPS with uvicorn; rotated cert/key files are picked up on the fly.

Every TLS handshake passes through `CertReloader.sni_callback`, which hands the connection the
current `SSLContext`. That context is rebuilt when the cert or key file changes (mtime, inode or
size) and the pair loads cleanly; a half-written rotation keeps the previous pair until the next
handshake. Connections already open keep the context they started with, so nothing in flight fails.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import ssl
import sys
import threading
import time
from typing import Optional

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


class _Config(uvicorn.Config):
    """uvicorn's Config, with the listening SSLContext swapped for the reloading one."""

    def __init__(self, *args, reloader: CertReloader, **kwargs):
        super().__init__(*args, **kwargs)
        self._reloader = reloader

    def load(self) -> None:
        super().load()
        self.ssl = self._reloader.listening_context()


def build_server(settings: WebhookSettings, app=None, sock=None) -> uvicorn.Server:
    if not settings.cert_file or not settings.key_file:
        raise ValueError("the webhook serves HTTPS only: give --cert and --key (or TFGUARD_WEBHOOK_CERT_FILE/KEY_FILE)")
    if app is None:
        from tfguard.webhook.app import create_app

        app = create_app(settings)
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
        http="auto",
        lifespan="on",
        timeout_keep_alive=60,
        reloader=reloader,
    )
    server = uvicorn.Server(config)
    server.cert_reloader = reloader
    return server


def serve(settings: WebhookSettings) -> int:
    configure_logging(settings.log_level)
    server = build_server(settings)
    log.info("serving", extra={"host": settings.host, "port": settings.port, "default_mode": settings.default_mode})
    server.run()
    return 0
