"""Everything the admission webhook can be told, in one object (see tfguard.settings for how)."""

from __future__ import annotations

import typing
from typing import Optional

from tfguard.annotations import MODES
from tfguard.records import record
from tfguard.settings import Injection, Scope, setting


@record
class WebhookSettings(Scope, Injection):
    env_prefix: typing.ClassVar[str] = "WEBHOOK"

    cert_file: Optional[str] = setting(None, "TLS certificate (PEM); reloaded when it changes", flag="--cert", metavar="FILE")
    key_file: Optional[str] = setting(None, "TLS private key (PEM); reloaded when it changes", flag="--key", metavar="FILE")
    host: str = setting("0.0.0.0", "address to listen on")
    port: int = setting(8443, "port to listen on")
    default_mode: str = setting(
        "warn", "mode for requests to a bare /validate or /mutate (the chart registers /validate/MODE "
        "per namespace mode)", choices=MODES,
    )
    kubeconfig: Optional[str] = setting(None, "cluster access for the fact store (default: in-cluster, else $KUBECONFIG)")
    watch: bool = setting(True, "keep ImageStacks and ModelProfiles in memory through watches")
    cache_sync_timeout: float = setting(10.0, "seconds /readyz waits for the watches to sync before serving without them", metavar="SECONDS")
    admission_timeout: float = setting(2.0, "past this a request is admitted with a warning (fail-open)", metavar="SECONDS")
    inline_body_bytes: int = setting(
        256 * 1024, "requests up to this size are judged on the event loop; larger ones in a thread, under "
        "admission-timeout", metavar="BYTES",
    )
    verdict_cache_bytes: int = setting(
        16 * 1024 * 1024, "memory for verdicts remembered by what they depend on (0: none)", metavar="BYTES",
    )
    max_body_bytes: int = setting(
        4 * 1024 * 1024, "larger requests get 413 (object + oldObject at etcd's 1.5 MiB limit still fit)", metavar="BYTES",
    )
    # --- slow and hostile clients ---
    header_timeout: float = setting(
        10.0, "a request whose headers have not all arrived this long after its first byte (or after the "
        "connection opened) gets 408 and the connection is closed", metavar="SECONDS",
    )
    body_timeout: float = setting(10.0, "the same for the body, from the end of the headers", metavar="SECONDS")
    keep_alive_timeout: float = setting(60.0, "an idle keep-alive connection is closed after this", metavar="SECONDS")
    tls_handshake_timeout: float = setting(10.0, "a connection that has not finished its TLS handshake by then is closed", metavar="SECONDS")
    max_connections: int = setting(
        256, "connections beyond this are closed as soon as they are accepted (the API server keeps a few "
        "per replica; each TLS connection holds about 300 KiB)", metavar="N",
    )
    max_in_flight: int = setting(
        128, "admission requests being read or judged at once; more get 503 at once (the API server then "
        "applies the failure policy) instead of queueing", metavar="N",
    )
    max_buffered_bytes: int = setting(
        32 * 1024 * 1024, "request bodies held at once, by their Content-Length; a request that would pass "
        "this gets 503 at once", metavar="BYTES",
    )
    large_concurrency: int = setting(
        1, "requests over inline-body-bytes read, parsed and judged at once (in a thread); others wait "
        "their turn, unread, without delaying small requests (judged on the event loop), and get 503 if "
        "it does not come within admission-timeout", metavar="N",
    )
    metrics_port: Optional[int] = setting(
        None, "also serve GET /metrics over plain HTTP on this port (for a scraper that does not speak the "
        "webhook's TLS, or a NetworkPolicy that opens only this port to it)", metavar="PORT",
    )
    log_level: str = setting("INFO", "debug, info, warning or error")
    access_log: bool = setting(False, "log every HTTP request (uvicorn's access log)")

    def __post_init__(self) -> None:
        if self.default_mode not in MODES:
            raise ValueError(f"default mode must be one of {', '.join(MODES)}, not {self.default_mode!r}")
