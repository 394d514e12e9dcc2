"""Everything the operator can be told, in one object (like kopf's own OperatorSettings)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Optional

DAY = 24 * 3600.0


@dataclass
class OperatorSettings:
    # tfguard's own namespace: the certificate Secret and the leader Lease live here, and nothing in it
    # (nor in kube-system) is ever annotated.
    namespace: str = "tfguard"
    excluded_namespaces: tuple[str, ...] = ("kube-system",)
    kubeconfig: Optional[str] = None

    # --- background re-check ---
    recheck_interval: float = 600.0  # seconds between re-checks of every tfguard-annotated workload
    recheck_debounce: float = 2.0  # a burst of new ImageStacks causes one re-check, not one each
    recheck_concurrency: int = 8  # workloads whose changed verdicts are written at the same time

    # --- certificates ---
    manage_certificates: bool = True
    webhook_service: str = "tfguard-webhook"  # the Service in `namespace` the webhook is reached through
    cert_secret: str = "tfguard-webhook-tls"
    # Validating- and MutatingWebhookConfigurations matching this label selector get the CA bundle
    # injected (the chart labels both with tfguard.io/webhook-configuration).
    webhook_selector: str = "tfguard.io/webhook-configuration"
    extra_dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ("127.0.0.1",)  # for a webhook run outside the cluster
    webhook_cert_dir: Optional[str] = None  # also write tls.crt, tls.key, ca.crt here (local runs)
    ca_validity: float = 3 * 365 * DAY
    cert_validity: float = 90 * DAY
    # Renew when less than this fraction of a certificate's lifetime is left (1/3: a 90-day
    # certificate is renewed 30 days before it expires).
    renew_fraction: float = 1 / 3
    # After a new CA joins the bundle, wait this long before serving with a certificate it signed,
    # so every API server has picked up the new caBundle first.
    bundle_propagation: float = 60.0
    cert_check_interval: float = 300.0

    # --- high availability ---
    standalone: bool = False  # True: no leader election (one replica, or tests)
    lease_name: str = "tfguard-operator"
    lease_duration: float = 15.0
    lease_renew_every: float = 5.0
    # --- liveness ---
    health_port: Optional[int] = None  # serve GET /healthz here (the chart sets 8080); None: off

    identity: str = field(default_factory=lambda: f"{os.environ.get('POD_NAME') or socket.gethostname()}-{os.getpid()}")

    @property
    def dns_names(self) -> list[str]:
        svc, ns = self.webhook_service, self.namespace
        names = [svc, f"{svc}.{ns}", f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local"]
        return names + [n for n in self.extra_dns_names if n not in names]

    def watches_namespace(self, namespace: Optional[str]) -> bool:
        return bool(namespace) and namespace != self.namespace and namespace not in self.excluded_namespaces
