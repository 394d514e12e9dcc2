"""`helm install tfguard` into a local cluster, two ways.

On a real node (harness.node), the chart's own Deployments run: the webhook and the operator are Pods
from the local `tfguard/tfguard` image, the API server reaches the webhook through its Service, the
operator issues and rotates the certificate, the probes, PDB and RBAC are the chart's. `make demo`
and tests/e2e take this path:

    with Node() as node, ClusterTfguard(node.cp) as tfguard:
        node.cp.kubectl("apply", "-f", "examples/loads/deployment.yaml", "-n", "ml")
        tfguard.stop_webhook()   # no webhook Pod is ready: admissions fail open
        tfguard.upgrade("webhook.failurePolicy=Fail")

On a bare control plane (no kubelet), the chart's `webhook.external.url` option: the webhook
configurations point at https://127.0.0.1:PORT and the webhook and the operator run here as
processes, the commands the chart's Pods run. Tests that need only an API server use it:

    with ControlPlane() as cp, LocalTfguard(cp) as tfguard:
        ...
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Sequence

from harness.controlplane import REPO, ChildProcess, CommandFailed, ControlPlane, ControlPlaneError, free_port
from harness.lifecycle import StartStop

CHART = REPO / "charts" / "tfguard"


TENANT_LABEL = "e2e-release"


class Release(StartStop):
    """What both kinds of install share: the release's names, helm install/upgrade/uninstall.

    With `isolated=True` the release's webhooks only see namespaces labelled e2e-release=<its id>,
    made by `make_namespace()`: several releases share one API server without answering for each
    other (the tests do that)."""

    def __init__(self, cp: ControlPlane, *, namespace: str, release: str, sets: Sequence[str], isolated: bool = False):
        self.cp = cp
        self.id = "r" + uuid.uuid4().hex[:5]  # never all digits: helm --set would make it a number
        self.namespace = namespace.replace("{id}", self.id)
        self.release = release.replace("{id}", self.id)
        self.isolated = isolated
        self.sets = ([f"webhook.namespaceSelector.matchLabels.{TENANT_LABEL}={self.id}"] if isolated else []) + list(sets)
        self.installed = False
        self.install_output = ""
        self.namespaces: list[str] = []
        self._made = 0

    def make_namespace(self, mode: Optional[str], stem: str = "ns", labels: Optional[dict] = None) -> str:
        """A namespace this release's webhooks cover (`tfguard.io/mode` = mode unless None), with its
        default service account in place; deleted by delete_namespaces() / stop()."""
        self._made += 1
        name = f"{stem}-{mode or 'unlabelled'}-{self.id}-{self._made}"
        all_labels = {TENANT_LABEL: self.id, **(labels or {})}
        if mode:
            all_labels["tfguard.io/mode"] = mode
        self.cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": all_labels}})
        self.cp.wait_for(
            lambda: self.cp.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0,
            what=f"service account default in {name}",
        )
        self.namespaces.append(name)
        return name

    def delete_namespaces(self, wait: bool = False) -> None:
        for ns in self.namespaces:
            self.cp.kubectl("delete", "namespace", ns, f"--wait={'true' if wait else 'false'}", "--ignore-not-found",
                            check=False, timeout=180)
        self.namespaces.clear()

    @property
    def fullname(self) -> str:
        """charts/tfguard/templates/_helpers.tpl: RELEASE-tfguard, or RELEASE when it says tfguard."""
        return self.release if "tfguard" in self.release else f"{self.release}-tfguard"

    @property
    def configuration_name(self) -> str:
        """Both webhook configurations are named after the release."""
        return self.fullname

    def helm_values(self) -> list[str]:
        return list(self.sets)

    def _set_args(self) -> list[str]:
        args: list[str] = []
        for item in self.helm_values():
            args += ["--set", item]
        return args

    def helm_install(self, *extra: str):
        done = self.cp.helm("install", self.release, str(CHART), "--namespace", self.namespace, *self._set_args(), *extra)
        self.installed = True
        self.install_output = done.stdout
        return done

    def upgrade(self, *sets: str, extra: Sequence[str] = ()):
        """`helm upgrade` with the install's values plus `sets` (e.g. "webhook.failurePolicy=Fail")."""
        self.sets += list(sets)
        return self.cp.helm("upgrade", self.release, str(CHART), "--namespace", self.namespace, *self._set_args(), *extra)

    def uninstall(self):
        self.installed = False
        return self.cp.helm("uninstall", self.release, "--namespace", self.namespace, "--wait", check=False)

    def configurations(self) -> list[dict]:
        """This release's webhook configurations, found by the label the operator finds them by."""
        selector = f"tfguard.io/webhook-configuration={self.configuration_name}"
        done = self.cp.kubectl("get", "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                               "-l", selector, "-o", "json")
        return json.loads(done.stdout)["items"]

    def ca_bundle_injected(self) -> bool:
        configs = self.configurations()
        return bool(configs) and all(w.get("clientConfig", {}).get("caBundle") for c in configs for w in c["webhooks"])


class ClusterTfguard(Release):
    """The chart installed for real on a cluster with a node: the webhook and operator are its Pods."""

    def __init__(
        self,
        cp: ControlPlane,
        *,
        namespace: str = "tfguard-system",
        release: str = "tfguard",
        sets: Sequence[str] = (),
        isolated: bool = False,
        timeout: float = 300.0,
        say=None,
    ):
        super().__init__(cp, namespace=namespace, release=release, sets=sets, isolated=isolated)
        self.timeout = timeout
        self.say = say or (lambda message: None)

    @property
    def webhook_deployment(self) -> str:
        return f"{self.fullname}-webhook"

    @property
    def operator_deployment(self) -> str:
        return f"{self.fullname}-operator"

    def start(self) -> "ClusterTfguard":
        self.say(f"helm install {self.release} (waits for the webhook and operator Pods to be ready)")
        self.helm_install("--create-namespace", "--wait", f"--timeout={int(self.timeout)}s")
        self.say("waiting for the operator to inject its CA into the webhook configurations")
        self.cp.wait_for(self.ca_bundle_injected, timeout=self.timeout, interval=0.5,
                         what=f"the caBundle in {self.configuration_name}'s webhook configurations")
        self.wait_for_webhook_endpoints()
        return self

    def stop(self) -> None:
        self.delete_namespaces()
        if self.installed:
            self.uninstall()
        # helm made it (--create-namespace); the Secrets the operator wrote there go with it.
        self.cp.kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found", check=False)

    def ready_endpoints(self) -> list[str]:
        """host:port of the webhook Pods the API server would call now (their EndpointSlices)."""
        done = self.cp.kubectl("get", "endpointslices", "-n", self.namespace, "-l",
                               f"kubernetes.io/service-name={self.webhook_deployment}", "-o", "json", check=False)
        found = []
        for item in json.loads(done.stdout or '{"items": []}').get("items", []) if done.returncode == 0 else []:
            ports = [p.get("port") for p in item.get("ports") or []]
            for endpoint in item.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready"):
                    found += [f"{a}:{p}" for a in endpoint.get("addresses") or [] for p in ports]
        return found

    def wait_for_webhook_endpoints(self, count: int = 1) -> None:
        self.cp.wait_for(lambda: len(self.ready_endpoints()) >= count, timeout=self.timeout, interval=0.5,
                         what=f"{count} ready webhook endpoint(s) behind Service {self.webhook_deployment}")

    def stop_webhook(self) -> None:
        """Scale the webhook to zero and wait until the API server has no endpoint left to call."""
        self.cp.kubectl("scale", "deployment", self.webhook_deployment, "-n", self.namespace, "--replicas=0")
        self.cp.wait_for(lambda: not self.ready_endpoints(), timeout=self.timeout, interval=0.5,
                         what="no webhook endpoint left")

    def upgrade(self, *sets: str, extra: Sequence[str] = ()):
        return super().upgrade(*sets, extra=["--wait", f"--timeout={int(self.timeout)}s", *extra])

    def metrics_text(self, component: str) -> str:
        """The Prometheus text a component's Pod serves on /metrics, through the API server's Pod proxy
        (the webhook's over HTTPS on its port, the operator's on its health port)."""
        (pod, *_) = [p for p in self.pods(component) if p["status"].get("phase") == "Running"]
        target = f"https:{pod['metadata']['name']}:8443" if component == "webhook" else f"{pod['metadata']['name']}:8080"
        request = urllib.request.Request(f"{self.cp.server}/api/v1/namespaces/{self.namespace}/pods/{target}/proxy/metrics")
        with urllib.request.urlopen(request, context=self.cp.ssl_context(), timeout=10) as answer:
            return answer.read().decode()

    def pods(self, component: str) -> list[dict]:
        done = self.cp.kubectl("get", "pods", "-n", self.namespace, "-l",
                               f"app.kubernetes.io/instance={self.release},app.kubernetes.io/component={component}",
                               "-o", "json")
        return json.loads(done.stdout)["items"]

    def log_tail(self, component: str, lines: int = 40) -> str:
        done = self.cp.kubectl("logs", "-n", self.namespace, "--tail", str(lines), "--prefix", "-l",
                               f"app.kubernetes.io/instance={self.release},app.kubernetes.io/component={component}",
                               check=False)
        return (done.stdout + done.stderr).strip() or "(no log)"


class LocalTfguard(Release):
    """A release with `webhook.external.url`; the webhook and the operator run here as processes."""

    def __init__(
        self,
        cp: ControlPlane,
        *,
        namespace: str = "tfguard-system",
        release: str = "tfguard",
        sets: Sequence[str] = (),
        isolated: bool = False,
        operator: bool = True,
        startup_timeout: float = 60.0,
        webhook_args: Sequence[str] = (),
    ):
        super().__init__(cp, namespace=namespace, release=release, sets=sets, isolated=isolated)
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

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

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
        self.delete_namespaces()
        for process in (self._webhook, self._operator):
            if process is not None:
                process.stop()
        self._webhook = self._operator = None
        if self.installed:
            self.uninstall()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def helm_values(self) -> list[str]:
        values = [f"webhook.external.url={self.url}", "operator.enabled=false"]
        ca = self.cert_dir / "ca.crt"
        if not self.with_operator and ca.exists():
            values.append(f"webhook.external.caBundle={base64.b64encode(ca.read_bytes()).decode()}")
        return values + self.sets

    def install(self):
        if not self.with_operator:
            self._self_signed_certificate()
        return self.helm_install()

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
            return (self.cert_dir / "tls.crt").exists() and self.ca_bundle_injected()

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

    def metrics_text(self, component: str) -> str:
        """The Prometheus text a component serves on /metrics (the webhook over HTTPS)."""
        if component == "webhook":
            context = ssl.create_default_context(cafile=str(self.cert_dir / "ca.crt"))
            url = f"{self.url}/metrics"
        else:
            context, url = None, f"http://127.0.0.1:{self.operator_port}/metrics"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return answer.read().decode()

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
