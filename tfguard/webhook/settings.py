"""Everything the admission webhook can be told, in one object (see tfguard.settings for how)."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Optional

from tfguard.annotations import MODES
from tfguard.settings import Scope, setting


@dataclass
class WebhookSettings(Scope):
    env_prefix: typing.ClassVar[str] = "WEBHOOK"

    cert_file: Optional[str] = setting(None, "TLS certificate (PEM); reloaded when it changes", flag="--cert", metavar="FILE")
    key_file: Optional[str] = setting(None, "TLS private key (PEM); reloaded when it changes", flag="--key", metavar="FILE")
    host: str = setting("0.0.0.0", "address to listen on")
    port: int = setting(8443, "port to listen on")
    default_mode: str = setting(
        "warn", "mode for requests to a bare /validate or /mutate (the chart registers /validate/MODE "
        "per namespace mode)", choices=MODES,
    )
    probe_image: str = setting("tfguard/probe:0.1.0", "image of the init container that copies probe.py into the Pod")
    probe_install_command: tuple[str, ...] = setting(
        ("cp", "/opt/tfguard/probe.py", "/tfguard/probe.py"),
        "how that init container copies the probe into the shared emptyDir", cli=False,
    )
    kubeconfig: Optional[str] = setting(None, "cluster access for the fact store (default: in-cluster, else $KUBECONFIG)")
    watch: bool = setting(True, "keep ImageStacks and ModelProfiles in memory through watches")
    cache_sync_timeout: float = setting(10.0, "seconds /readyz waits for the watches to sync before serving without them", metavar="SECONDS")
    admission_timeout: float = setting(2.0, "past this a request is admitted with a warning (fail-open)", metavar="SECONDS")
    inline_body_bytes: int = setting(
        64 * 1024, "requests up to this size are judged on the event loop; larger ones in a thread, under "
        "admission-timeout", metavar="BYTES",
    )
    verdict_cache_size: int = setting(4096, "verdicts remembered by what they depend on (0: none)", metavar="N")
    max_body_bytes: int = setting(
        4 * 1024 * 1024, "larger requests get 413 (object + oldObject at etcd's 1.5 MiB limit still fit)", metavar="BYTES",
    )
    log_level: str = setting("INFO", "debug, info, warning or error")
    access_log: bool = setting(False, "log every HTTP request (uvicorn's access log)")

    def __post_init__(self) -> None:
        if self.default_mode not in MODES:
            raise ValueError(f"default mode must be one of {', '.join(MODES)}, not {self.default_mode!r}")
