"""Everything the operator can be told, in one object (see tfguard.settings for how)."""

from __future__ import annotations

import os
import socket
import typing
from typing import Optional

from tfguard.records import record
from tfguard.settings import Injection, Scope, setting

DAY = 24 * 3600.0


def _identity() -> str:
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}-{os.getpid()}"


@record
class OperatorSettings(Scope, Injection):
    env_prefix: typing.ClassVar[str] = "OPERATOR"

    kubeconfig: Optional[str] = setting(None, "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
    log_level: str = setting("info", "debug, info, warning or error", choices=("debug", "info", "warning", "error"))

    # --- background re-check ---
    recheck_interval: float = setting(600.0, "seconds between background re-checks of every tfguard workload", metavar="SECONDS")
    recheck_debounce: float = setting(2.0, "a burst of new ImageStacks causes one re-check after this quiet time", metavar="SECONDS")
    recheck_concurrency: int = setting(8, "workloads whose changed verdicts are written at the same time", metavar="N")

    # --- certificates ---
    manage_certificates: bool = setting(True, "issue and rotate the webhook's serving certificate and CA bundle", flag="--certificates")
    webhook_service: str = setting("tfguard-webhook", "the webhook's Service in the namespace, for the certificate's DNS names")
    cert_secret: str = setting("tfguard-webhook-tls", "the serving certificate's TLS Secret in the namespace")
    webhook_selector: str = setting(
        "tfguard.io/webhook-configuration",
        "label selector of the Validating/MutatingWebhookConfigurations that get the CA bundle",
    )
    extra_dns_names: tuple[str, ...] = setting((), "extra DNS names for the certificate", flag="--dns-name", metavar="NAME")
    ip_addresses: tuple[str, ...] = setting(("127.0.0.1",), "IP addresses for the certificate (for a webhook run outside the cluster)", flag="--ip-address", metavar="IP")
    webhook_cert_dir: Optional[str] = setting(None, "also write tls.crt, tls.key and ca.crt here (a webhook run outside the cluster)", metavar="DIR")
    ca_validity: float = setting(3 * 365 * DAY, "lifetime of a new CA", metavar="SECONDS")
    cert_validity: float = setting(90 * DAY, "lifetime of a new serving certificate", metavar="SECONDS")
    renew_fraction: float = setting(
        1 / 3, "renew when less than this fraction of a certificate's lifetime is left (1/3: a 90-day "
        "certificate is renewed 30 days before it expires)",
    )
    bundle_propagation: float = setting(
        60.0, "after a new CA joins the bundle, wait this long before serving a certificate it signed, so "
        "every API server has the new caBundle first", metavar="SECONDS",
    )
    cert_check_interval: float = setting(300.0, "seconds between certificate checks", metavar="SECONDS")

    # --- high availability ---
    standalone: bool = setting(False, "no leader election (one replica, or tests)")
    lease_name: str = setting("tfguard-operator", "the coordination Lease replicas elect a leader with")
    lease_duration: float = setting(15.0, "a leader that has not renewed for this long is replaced", metavar="SECONDS")
    lease_renew_every: float = setting(5.0, "how often the leader renews its Lease", metavar="SECONDS")
    # --- liveness and metrics ---
    health_port: Optional[int] = setting(
        None, "serve GET /healthz (liveness) and GET /metrics (Prometheus) on this port (the chart sets 8080)", metavar="PORT",
    )
    # --- policy reports ---
    policy_reports: bool = setting(True, "write each namespace's verdicts as a wgpolicyk8s.io/v1alpha2 PolicyReport")
    # --- KServe (docs/kserve.md) ---
    kserve: bool = setting(
        True, "also judge KServe InferenceServices, from their ServingRuntimes and ClusterServingRuntimes (needs "
        "list/watch on serving.kserve.io; a cluster without KServe's CRDs costs nothing)",
    )
    annotate_inference_services: bool = setting(
        False, "write the verdict annotations on InferenceServices too, not only Events and PolicyReports. KServe "
        "copies an InferenceService's annotations into its predictor's pods, so each verdict change would roll "
        "the predictor out: turn this on only where KServe's serviceAnnotationDisallowedList names tfguard's "
        "annotations",
    )

    identity: str = setting(default_factory=_identity, help="this replica's name in the Lease ($POD_NAME-pid)", cli=False)

    @property
    def dns_names(self) -> list[str]:
        svc, ns = self.webhook_service, self.namespace
        names = [svc, f"{svc}.{ns}", f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local"]
        return names + [n for n in self.extra_dns_names if n not in names]
