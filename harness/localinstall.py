"""`helm install tfguard` into the local control plane, with the webhook and the operator run locally.

The local control plane has no kubelet, so nothing the chart deploys into it could run. Instead the
chart is installed with `webhook.external.url` (the webhook configurations point at
https://127.0.0.1:PORT) and `operator.enabled=false`, and both run here as processes, exactly the
commands the chart's pods run:

    with ControlPlane() as cp, LocalTfguard(cp) as tfguard:
        cp.kubectl("apply", "-f", "examples/loads/deployment.yaml", "-n", "ml")
        tfguard.stop_webhook()   # admissions now fail open
        tfguard.upgrade("webhook.failurePolicy=Fail")

The operator issues the webhook's certificate (`--webhook-cert-dir`), injects its CA into the
webhook configurations the release created, and the webhook serves with it: the same TLS path as in
a cluster. `make demo` and tests/e2e use this.
"""

from __future__ import annotations

import base64
import ssl
import sys
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from harness.controlplane import REPO, ControlPlane, ControlPlaneError, ChildProcess, free_port

CHART = REPO / "charts" / "tfguard"


class LocalTfguard:
    """A tfguard release in `namespace` of a ControlPlane; the webhook and the operator run locally."""

    def __init__(
        self,
        cp: ControlPlane,
        *,
        namespace: str = "tfguard-system",
        release: str = "tfguard",
        sets: Sequence[str] = (),
        operator: bool = True,
        startup_timeout: float = 60.0,
        webhook_args: Sequence[str] = (),
    ):
        self.cp = cp
        self.namespace = namespace
        self.release = release
        self.sets = list(sets)
        self.with_operator = operator
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.operator_port = free_port()  # the operator's /healthz and /metrics
        self.webhook_args = list(webhook_args)
        self.workdir = Path(tempfile.mkdtemp(prefix="tfguard-local-"))
        self.cert_dir = self.workdir / "certs"
        self.logs: dict[str, Path] = {}
        self._webhook: Optional[ChildProcess] = None
        self._operator: Optional[ChildProcess] = None
        self.installed = False
        self.install_output = ""

    # lifecycle

    def __enter__(self) -> "LocalTfguard":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def configuration_name(self) -> str:
        """Both webhook configurations are named after the release (charts/tfguard/templates/_helpers.tpl)."""
        return self.release if "tfguard" in self.release else f"{self.release}-tfguard"

    def start(self) -> "LocalTfguard":
        self.cp.kubectl("create", "namespace", self.namespace, check=False)
        self.install()
        if self.with_operator:
            self.start_operator()
            self.wait_for_ca_bundle()
        else:
            self._self_signed_certificate()
        self.start_webhook()
        return self

    def stop(self) -> None:
        for process in (self._webhook, self._operator):
            if process is not None:
                process.stop()
        self._webhook = self._operator = None
        if self.installed:
            self.uninstall()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # helm

    def helm_values(self) -> list[str]:
        values = [f"webhook.external.url={self.url}", "operator.enabled=false"]
        ca = self.cert_dir / "ca.crt"
        if not self.with_operator and ca.exists():
            values.append(f"webhook.external.caBundle={base64.b64encode(ca.read_bytes()).decode()}")
        return values + self.sets

    def _set_args(self, extra: Sequence[str] = ()) -> list[str]:
        args: list[str] = []
        for item in [*self.helm_values(), *extra]:
            args += ["--set", item]
        return args

    def install(self):
        if not self.with_operator:
            self._self_signed_certificate()
        done = self.cp.helm("install", self.release, str(CHART), "--namespace", self.namespace, *self._set_args(),
                            check=False)
        if done.returncode != 0:
            raise ControlPlaneError(f"helm install {self.release} failed: {(done.stderr or done.stdout).strip()[-1500:]}")
        self.installed = True
        self.install_output = done.stdout
        return done

    def upgrade(self, *sets: str):
        """`helm upgrade` with the install's values plus `sets` (e.g. "webhook.failurePolicy=Fail")."""
        self.sets += list(sets)
        return self.cp.helm("upgrade", self.release, str(CHART), "--namespace", self.namespace, *self._set_args())

    def uninstall(self):
        self.installed = False
        return self.cp.helm("uninstall", self.release, "--namespace", self.namespace, "--wait", check=False)

    # the operator

    def start_operator(self) -> None:
        log = self.workdir / "operator.log"
        self.logs["operator"] = log
        self._operator = ChildProcess(
            "operator",
            [
                sys.executable, "-m", "tfguard.cli", "operator", "run",
                "--kubeconfig", str(self.cp.kubeconfig),
                "--namespace", self.namespace,
                "--standalone",
                "--webhook-cert-dir", str(self.cert_dir),
                "--webhook-service", f"{self.configuration_name}-webhook",
                "--cert-secret", f"{self.configuration_name}-webhook-tls",
                "--webhook-selector", f"tfguard.io/webhook-configuration={self.configuration_name}",
                "--ip-address", "127.0.0.1",
                "--recheck-interval", "30",
                "--health-port", str(self.operator_port),
            ],
            log,
            self.cp.env,
        )

    def wait_for_ca_bundle(self) -> None:
        def injected() -> bool:
            self._check_alive(self._operator, "operator")
            if not (self.cert_dir / "tls.crt").exists():
                return False
            config = self.cp.get("validatingwebhookconfiguration", self.configuration_name)
            return all(w.get("clientConfig", {}).get("caBundle") for w in config["webhooks"])

        self.cp.wait_for(injected, timeout=self.startup_timeout, interval=0.3,
                         what="the operator's certificate and the caBundle in the webhook configurations")

    def _self_signed_certificate(self) -> None:
        """Without the operator: a serving certificate from the control plane's test CA."""
        if (self.cert_dir / "tls.crt").exists():
            return
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        pair = self.cp.issue_certificate("tfguard-webhook", hosts=("127.0.0.1", "localhost"))
        (self.cert_dir / "tls.crt").write_bytes(pair.cert_pem)
        (self.cert_dir / "tls.key").write_bytes(pair.key_pem)
        (self.cert_dir / "ca.crt").write_bytes(self.cp.ca_pem)

    # the webhook

    def start_webhook(self) -> None:
        log = self.workdir / "webhook.log"
        self.logs["webhook"] = log
        self._webhook = ChildProcess(
            "webhook",
            [
                sys.executable, "-m", "tfguard.cli", "webhook", "serve",
                "--cert", str(self.cert_dir / "tls.crt"),
                "--key", str(self.cert_dir / "tls.key"),
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--kubeconfig", str(self.cp.kubeconfig),
                "--namespace", self.namespace,
                *self.webhook_args,
            ],
            log,
            self.cp.env,
        )
        self.cp.wait_for(self._ready, timeout=self.startup_timeout, interval=0.2, what="the webhook's /readyz")

    def stop_webhook(self) -> None:
        if self._webhook is not None:
            self._webhook.stop()
            self._webhook = None

    def _ready(self) -> bool:
        self._check_alive(self._webhook, "webhook")
        context = ssl.create_default_context(cafile=str(self.cert_dir / "ca.crt"))
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", context=context, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _check_alive(self, process: Optional[ChildProcess], name: str) -> None:
        if process is not None and not process.running():
            raise ControlPlaneError(f"the local {name} exited:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
