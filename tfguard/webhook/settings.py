"""The webhook's one settings object: defaults, overridden by TFGUARD_WEBHOOK_* env, then by CLI flags."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Optional

from tfguard.annotations import MODES


@dataclass
class Settings:
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    host: str = "0.0.0.0"
    port: int = 8443
    # Mode for requests to a bare /validate or /mutate (the chart registers /validate/<mode> per namespace mode).
    default_mode: str = "warn"
    # Image of the init container that copies probe.py into the shared emptyDir, and how it does so.
    probe_image: str = "tfguard/probe:0.1.0"
    probe_install_command: list[str] = field(
        default_factory=lambda: ["cp", "/opt/tfguard/probe.py", "/tfguard/probe.py"]
    )
    kubeconfig: Optional[str] = None  # else in-cluster, else $KUBECONFIG / ~/.kube/config
    watch: bool = True  # keep ImageStacks and ModelProfiles in memory through watches
    cache_sync_timeout: float = 10.0  # /readyz turns ready after this even if the caches never synced
    admission_timeout: float = 2.0  # past this a request is admitted with a warning (fail-open)
    # Requests up to this size are judged on the event loop; larger ones in a thread, under admission_timeout.
    inline_body_bytes: int = 64 * 1024
    verdict_cache_size: int = 4096  # verdicts remembered by what they depend on (0: none)
    max_body_bytes: int = 4 * 1024 * 1024  # object + oldObject at etcd's 1.5 MiB limit still fit
    # Never checked or mutated: tfguard's own namespace and the cluster's system namespace.
    excluded_namespaces: tuple[str, ...] = ("kube-system",)
    namespace: str = "tfguard"  # where tfguard runs (excluded too)
    log_level: str = "INFO"
    access_log: bool = False

    def __post_init__(self) -> None:
        if self.default_mode not in MODES:
            raise ValueError(f"default mode must be one of {', '.join(MODES)}, not {self.default_mode!r}")

    def is_excluded(self, namespace: Optional[str]) -> bool:
        return bool(namespace) and (namespace == self.namespace or namespace in self.excluded_namespaces)

    @classmethod
    def from_env(cls, environ: Optional[dict] = None, **overrides) -> "Settings":
        """TFGUARD_WEBHOOK_<FIELD> (upper case), then non-None keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"TFGUARD_WEBHOOK_{f.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls(), f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif isinstance(default, (list, tuple)):
                values[f.name] = type(default)(p for p in raw.replace(",", " ").split() if p)
            else:
                values[f.name] = raw
        if "POD_NAMESPACE" in environ and "namespace" not in values:
            values["namespace"] = environ["POD_NAMESPACE"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
