"""A real, throwaway Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager.

Tests and the demo prove tfguard against a real API server, built from the Kubernetes release pinned
in hack/control-plane/versions.env (see docs/control-plane.md):

    with ControlPlane() as cp:
        cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        print(cp.kubectl("get", "namespaces").stdout)

Each control plane gets a fresh CA, serving certificates, a service-account key pair and an admin
client certificate (O=system:masters) in its own temp directory, and free ports, so several can run
side by side. RBAC and the admission webhooks are on. There is no scheduler and no kubelet: pods
stay Pending; `set_pod_status` writes what a kubelet would report.

No process outlives its owner: every child runs in its own process group, `stop()` (also called at
exit) kills the groups, and each child gets PR_SET_PDEATHSIG so that even a SIGKILLed Python takes
etcd and the API server with it. PR_SET_PDEATHSIG fires when the *thread* that started the child
ends, so start a control plane from a thread that lives as long as it (the main thread, usually).

    python -m harness.controlplane build   # build/fetch the binaries (hack/control-plane/build.sh)
    python -m harness.controlplane up      # run one in the foreground until Ctrl-C
"""

from __future__ import annotations

import atexit
import base64
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

from cryptography.hazmat.primitives import serialization

from harness.pins import cache_dir, versions  # noqa: F401  (callers import them from here)
from tfguard.operator import certs

REPO = Path(__file__).resolve().parents[1]
HACK = REPO / "hack" / "control-plane"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
KUBERNETES_SERVICE_IP = "10.0.0.1"
WORKDIR_PREFIX = "tfguard-cp-"

Manifest = Union[str, Mapping[str, Any], Sequence[Mapping[str, Any]]]


class ControlPlaneError(RuntimeError):
    """The control plane could not be built or started; the message says why (with a log tail)."""


class CommandFailed(subprocess.CalledProcessError):
    """A command the harness ran failed: the message says what it was for and ends with its stderr
    (`str(error)` is what a test failure or the demo prints, so nothing is left to guess)."""

    def __init__(self, returncode: int, cmd, output=None, stderr=None, what: str = ""):
        super().__init__(returncode, cmd, output, stderr)
        self.what = what

    def __str__(self) -> str:
        command = " ".join(str(a) for a in self.cmd)
        if len(command) > 400:
            command = command[:400] + " ..."
        head = f"{self.what}: " if self.what else ""
        status = "timed out" if self.returncode is None else f"exited with {self.returncode}"
        text = f"{head}`{command}` {status}"
        for label, stream in (("stderr", self.stderr), ("stdout", self.output)):
            tail = _last_lines(stream)
            if tail:
                return f"{text}; its {label} ends:\n{tail}"
        return f"{text} and printed nothing"


def _last_lines(stream, lines: int = 30, chars: int = 4000) -> str:
    if not stream:
        return ""
    text = stream.decode(errors="replace") if isinstance(stream, bytes) else str(stream)
    return "\n".join(text.rstrip().splitlines()[-lines:])[-chars:]


def run_command(
    argv: Sequence[Any],
    *,
    what: str = "",
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 600,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run a command, text in and out captured; on failure (or timeout) raise CommandFailed with its stderr."""
    args = [str(a) for a in argv]
    try:
        done = subprocess.run(args, input=input, capture_output=True, text=True, env=None if env is None else dict(env),
                              timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        raise CommandFailed(None, args, expired.stdout, expired.stderr, what=what or f"after {timeout:.0f}s") from None
    if check and done.returncode != 0:
        raise CommandFailed(done.returncode, args, done.stdout, done.stderr, what=what)
    return done


# -- binaries ----------------------------------------------------------------------------------


def binaries() -> dict[str, Path]:
    """Where the pinned binaries live in the cache (they may not be built yet)."""
    pins = versions()
    kube_bin = cache_dir() / "control-plane" / pins["KUBERNETES_VERSION"] / "bin"
    tools = cache_dir() / "tools"
    return {
        "kube-apiserver": kube_bin / "kube-apiserver",
        "kube-controller-manager": kube_bin / "kube-controller-manager",
        "kube-scheduler": kube_bin / "kube-scheduler",
        "etcd": tools / f"etcd-{pins['ETCD_VERSION']}" / "etcd",
        "kubectl": tools / f"kubectl-{pins['KUBECTL_VERSION']}" / "kubectl",
        "helm": tools / f"helm-{pins['HELM_VERSION']}" / "helm",
    }


def binaries_present() -> bool:
    return all(os.access(path, os.X_OK) for path in binaries().values())


def ensure_binaries() -> dict[str, Path]:
    """Build kube-apiserver/kube-controller-manager and fetch etcd/kubectl/helm unless cached.

    The first build compiles Kubernetes from source (15-30 minutes on two cores); later calls only
    check the cache.
    """
    if not binaries_present():
        result = subprocess.run(["bash", str(HACK / "build.sh")])
        if result.returncode != 0 or not binaries_present():
            raise ControlPlaneError(f"hack/control-plane/build.sh failed (exit {result.returncode})")
    return binaries()


# -- certificates ------------------------------------------------------------------------------


@dataclass
class KeyPair:
    cert_path: Path
    key_path: Path

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()


class CertificateAuthority:
    """A throwaway CA that signs serving and client certificates into a directory.

    The certificates are made by the operator's own code (tfguard/operator/certs.py), the code that
    issues the webhook's certificates in a cluster: one implementation of X.509 for the project."""

    VALIDITY = 7 * 24 * 3600.0

    def __init__(self, directory: Path, name: str = "tfguard-test-ca"):
        self.directory = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert, self._key = certs.new_ca(now, self.VALIDITY, name=name)
        self.pair = KeyPair(directory / "ca.crt", directory / "ca.key")
        _write_private(self.pair.key_path, certs.key_pem(self._key))
        self.pair.cert_path.write_bytes(certs.cert_pem(self._cert))

    @property
    def cert_pem(self) -> bytes:
        return self.pair.cert_pem

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        hosts: Iterable[str] = (),
        organizations: Iterable[str] = (),
        server: bool = True,
        client: bool = False,
    ) -> KeyPair:
        """Sign a certificate for `hosts` (DNS names or IPs) and write <name>.crt/<name>.key."""
        dns_names, ips = [], []
        for host in hosts:
            try:
                ipaddress.ip_address(host)
                ips.append(host)
            except ValueError:
                dns_names.append(host)
        now = datetime.datetime.now(datetime.timezone.utc)
        cert, key = certs.new_leaf_cert(
            self._cert, self._key, common_name, now, self.VALIDITY, dns_names=dns_names, ips=ips,
            organizations=list(organizations), server=server, client=client,
        )
        pair = KeyPair(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        _write_private(pair.key_path, certs.key_pem(key))
        pair.cert_path.write_bytes(certs.cert_pem(cert))
        return pair


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _kubeconfig(server: str, ca: bytes, user: str, pair: KeyPair) -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "tfguard", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": b64(pair.cert_pem),
                        "client-key-data": b64(pair.key_pem),
                    },
                }
            ],
            "contexts": [{"name": "tfguard", "context": {"cluster": "tfguard", "user": user}}],
            "current-context": "tfguard",
        },
        indent=2,
    )


# -- processes ---------------------------------------------------------------------------------

# Runs between fork and exec of every child (as a tiny Python, so no preexec_fn in a threaded
# parent): ask the kernel to SIGKILL the child when its parent dies, then exec the binary.
_ORPHAN_GUARD = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    os._exit(1)  # the parent died before the guard was armed
os.execv(sys.argv[2], sys.argv[2:])
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _sweep_stale_workdirs() -> None:
    """Remove temp dirs of control planes whose owning process is gone (e.g. a SIGKILLed pytest)."""
    for path in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        try:
            owner = int((path / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass


class ChildProcess:
    """A child that dies with this process (PR_SET_PDEATHSIG through a small exec wrapper), logging to a file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: Mapping[str, str]):
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
                env=dict(env),
            )

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.popen.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Anything the binary forked stays in its group: make sure none survives.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- the control plane -------------------------------------------------------------------------


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager in a temp dir, on free ports.

    Attributes once started: `server` (https URL), `kubeconfig` (admin kubeconfig path), `ca_pem`,
    `ca_path`, `ca_bundle` (base64 for webhook configurations), `admin` (client KeyPair), `workdir`,
    `env` (os.environ with KUBECONFIG and isolated helm dirs), `logs` (name -> log path).
    """

    def __init__(
        self,
        *,
        audit_log: bool = False,
        controller_manager: bool = True,
        scheduler: bool = False,
        bind_address: str = "127.0.0.1",
        extra_apiserver_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
    ):
        """`scheduler` adds kube-scheduler (a node needs it to get Pods); `bind_address` is where the API
        server listens (a node's Pods reach it on the node's bridge address, harness.node)."""
        self.audit_log = audit_log
        self.controller_manager = controller_manager
        self.scheduler = scheduler
        self.bind_address = bind_address
        self.extra_apiserver_args = list(extra_apiserver_args)
        self.startup_timeout = startup_timeout
        self._processes: list[ChildProcess] = []
        self.workdir: Path | None = None
        self.server = ""
        self.logs: dict[str, Path] = {}
        self.timings: dict[str, float] = {}  # seconds from start() to each milestone

    # lifecycle

    def __enter__(self) -> "ControlPlane":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "ControlPlane":
        if self._processes:
            return self
        self.bin = ensure_binaries()
        _sweep_stale_workdirs()
        atexit.register(self.stop)
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.workdir / "owner.pid").write_text(str(os.getpid()))
        self._write_credentials()
        attempts = 3  # a free port can be taken by someone else between picking and binding it
        for attempt in range(1, attempts + 1):
            try:
                self._start_processes()
                return self
            except ControlPlaneError as error:
                self._stop_processes()
                if attempt == attempts or "address already in use" not in str(error):
                    self.stop()
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        self._stop_processes()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        atexit.unregister(self.stop)

    def _stop_processes(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    # credentials

    def _write_credentials(self) -> None:
        d = self.workdir
        self.ca = CertificateAuthority(d)
        self.ca_path = self.ca.pair.cert_path
        self.ca_pem = self.ca.cert_pem
        self.ca_bundle = base64.b64encode(self.ca_pem).decode()
        self.serving = self.ca.issue(
            "apiserver",
            "kube-apiserver",
            hosts=list(dict.fromkeys([
                "127.0.0.1", self.bind_address, "localhost", KUBERNETES_SERVICE_IP, "kubernetes",
                "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
            ])),
        )
        self.admin = self.ca.issue(
            "admin", "tfguard-admin", organizations=["system:masters"], server=False, client=True
        )
        # Its own name, but in system:masters: the controllers share this one client instead of
        # one service account (and token) each, which halves the controller-manager's start-up.
        self.controller_manager_identity = self.ca.issue(
            "controller-manager", "system:kube-controller-manager", organizations=["system:masters"],
            server=False, client=True,
        )
        self.scheduler_identity = self.ca.issue(
            "scheduler", "system:kube-scheduler", organizations=["system:masters"], server=False, client=True,
        )
        # How the API server authenticates to kubelets (logs, exec): a client in system:masters.
        self.kubelet_client = self.ca.issue(
            "apiserver-kubelet-client", "kube-apiserver-kubelet-client", organizations=["system:masters"],
            server=False, client=True,
        )
        sa_key = certs.new_key()
        self.service_account_key = d / "sa.key"
        self.service_account_pub = d / "sa.pub"
        _write_private(self.service_account_key, certs.key_pem(sa_key))
        self.service_account_pub.write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        if self.audit_log:
            (d / "audit-policy.yaml").write_text(
                "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
            )

    def issue_certificate(self, name: str, hosts: Iterable[str] = ("127.0.0.1", "localhost"), **kwargs) -> KeyPair:
        """A certificate signed by this control plane's CA, e.g. for a local webhook server."""
        return self.ca.issue(name, name, hosts=hosts, **kwargs)

    # processes

    def _spawn(self, name: str, argv: list[str]) -> ChildProcess:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        process = ChildProcess(name, argv, log, os.environ)
        self._processes.append(process)
        return process

    def _start_processes(self) -> None:
        d = self.workdir
        began = time.monotonic()

        def mark(milestone: str) -> None:
            self.timings[milestone] = time.monotonic() - began

        etcd_port, etcd_peer_port, api_port, kcm_port, scheduler_port = (free_port() for _ in range(5))
        etcd_url = self.etcd_url = f"http://127.0.0.1:{etcd_port}"  # tests read object sizes from it
        data_dir = d / f"etcd-{etcd_port}"
        etcd = self._spawn(
            "etcd",
            [
                str(self.bin["etcd"]),
                f"--data-dir={data_dir}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{etcd_peer_port}",
                "--unsafe-no-fsync",  # throwaway data: skip fsync, much faster on a shared disk
                "--log-level=warn",
            ],
        )

        self.port = api_port
        self.server = f"https://{self.bind_address}:{api_port}"
        apiserver_args = [
            str(self.bin["kube-apiserver"]),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={self.bind_address}",
            f"--advertise-address={self.bind_address}",
            f"--secure-port={api_port}",
            f"--tls-cert-file={self.serving.cert_path}",
            f"--tls-private-key-file={self.serving.key_path}",
            f"--client-ca-file={self.ca_path}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.service_account_pub}",
            f"--service-account-signing-key-file={self.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            # The endpoint reconciler would publish 127.0.0.1 for the `kubernetes` Service, which
            # Endpoints validation rejects as loopback; nothing here routes to it anyway.
            "--endpoint-reconciler-type=none",
            # Webhook Services are reached at their endpoints' (Pod) IPs: nothing routes Service IPs.
            "--enable-aggregator-routing=true",
            f"--kubelet-client-certificate={self.kubelet_client.cert_path}",
            f"--kubelet-client-key={self.kubelet_client.key_path}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--cert-dir={d / 'apiserver-certs'}",
        ]
        if self.audit_log:
            self.audit_log_path = d / "audit.log"
            apiserver_args += [
                f"--audit-policy-file={d / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_log_path}",
            ]
        apiserver_args += self.extra_apiserver_args
        self._wait_for_tcp(etcd, etcd_port)
        mark("etcd")
        apiserver = self._spawn("kube-apiserver", apiserver_args)

        self.kubeconfig = d / "admin.kubeconfig"
        self.kubeconfig.write_text(_kubeconfig(self.server, self.ca_pem, "tfguard-admin", self.admin))
        self.kubeconfig.chmod(0o600)
        self._wait_until(apiserver, lambda: self._get(self.server + "/readyz") == 200, "/readyz")
        mark("readyz")

        if self.controller_manager:
            kcm_kubeconfig = d / "controller-manager.kubeconfig"
            kcm_kubeconfig.write_text(
                _kubeconfig(self.server, self.ca_pem, "system:kube-controller-manager", self.controller_manager_identity)
            )
            kcm = self._spawn(
                "kube-controller-manager",
                [
                    str(self.bin["kube-controller-manager"]),
                    f"--kubeconfig={kcm_kubeconfig}",
                    f"--authentication-kubeconfig={kcm_kubeconfig}",
                    f"--authorization-kubeconfig={kcm_kubeconfig}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={kcm_port}",
                    f"--cert-dir={d / 'controller-manager-certs'}",
                    "--leader-elect=false",
                    "--use-service-account-credentials=false",
                    f"--service-account-private-key-file={self.service_account_key}",
                    f"--root-ca-file={self.ca_path}",
                    f"--cluster-signing-cert-file={self.ca_path}",
                    f"--cluster-signing-key-file={self.ca.pair.key_path}",
                    f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                    "--controllers=*",
                ],
            )
            self._wait_until(
                kcm, lambda: self._get(f"https://127.0.0.1:{kcm_port}/healthz", verify=False) == 200,
                "kube-controller-manager /healthz",
            )
            mark("controller-manager healthz")
            # The service-account controller creating `default` proves the controllers are running.
            self._wait_until(
                kcm, lambda: self._get(self.server + "/api/v1/namespaces/default/serviceaccounts/default") == 200,
                "the default service account",
            )
            mark("controllers working")

        if self.scheduler:
            scheduler_kubeconfig = d / "scheduler.kubeconfig"
            scheduler_kubeconfig.write_text(
                _kubeconfig(self.server, self.ca_pem, "system:kube-scheduler", self.scheduler_identity)
            )
            scheduler = self._spawn(
                "kube-scheduler",
                [
                    str(self.bin["kube-scheduler"]),
                    f"--kubeconfig={scheduler_kubeconfig}",
                    f"--authentication-kubeconfig={scheduler_kubeconfig}",
                    f"--authorization-kubeconfig={scheduler_kubeconfig}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={scheduler_port}",
                    "--leader-elect=false",
                ],
            )
            self._wait_until(
                scheduler, lambda: self._get(f"https://127.0.0.1:{scheduler_port}/healthz", verify=False) == 200,
                "kube-scheduler /healthz",
            )
            mark("scheduler healthz")

    def _wait_for_tcp(self, process: ChildProcess, port: int) -> None:
        def listening() -> bool:
            with socket.socket() as s:
                s.settimeout(0.5)
                return s.connect_ex(("127.0.0.1", port)) == 0

        self._wait_until(process, listening, f"port {port}")

    def _wait_until(self, process: ChildProcess, condition, what: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not process.running():
                raise ControlPlaneError(
                    f"{process.name} exited with {process.popen.returncode} before {what} was ready; "
                    f"last lines of {process.log_path}:\n{_tail(process.log_path)}"
                )
            try:
                if condition():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ControlPlaneError(
            f"{process.name}: {what} not ready after {self.startup_timeout:.0f}s; "
            f"last lines of {process.log_path}:\n{_tail(process.log_path)}"
        )

    # talking to the API server

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this control plane's CA and presents the admin client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        context.load_cert_chain(str(self.admin.cert_path), str(self.admin.key_path))
        return context

    def _get(self, url: str, verify: bool = True) -> int:
        context = self.ssl_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """A JSON request to the API server as admin; returns the decoded body, raises HTTPError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=self.ssl_context(), timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    @property
    def env(self) -> dict[str, str]:
        """The environment for kubectl, helm and tfguard itself: KUBECONFIG set, their caches kept in the workdir."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        # kubectl's and helm's discovery caches, keyed by host:port, would otherwise go to ~/.kube/cache,
        # where a later control plane on a reused port finds another API server's resources.
        env["KUBECACHEDIR"] = str(self.workdir / "kube-cache")
        for kind in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{kind}_HOME"] = str(self.workdir / "helm" / kind.lower())
        env["PATH"] = os.pathsep.join(
            [str(self.bin["kubectl"].parent), str(self.bin["helm"].parent), env.get("PATH", "")]
        )
        return env

    def _run(self, binary: str, args: Sequence[str], input: str | None, check: bool, timeout: float):
        # CommandFailed is a CalledProcessError whose message ends with the command's stderr.
        return run_command([self.bin[binary], *args], input=input, env=self.env, timeout=timeout, check=check,
                           what=f"{binary} {args[0] if args else ''}".strip())

    def kubectl(self, *args: Any, input: str | None = None, check: bool = True, timeout: float = 120):
        """Run the pinned kubectl against this control plane; returns the CompletedProcess (text)."""
        return self._run("kubectl", args, input, check, timeout)

    def helm(self, *args: Any, input: str | None = None, check: bool = True, timeout: float = 300):
        """Run the pinned helm against this control plane; returns the CompletedProcess (text)."""
        return self._run("helm", args, input, check, timeout)

    def apply(self, manifest: Manifest, *args: Any, check: bool = True):
        """`kubectl apply` a YAML string, an object or a list of objects."""
        if isinstance(manifest, str):
            text = manifest
        elif isinstance(manifest, Mapping):
            text = json.dumps(manifest)
        else:
            text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifest)})
        return self.kubectl("apply", "-f", "-", *args, input=text, check=check)

    def get(self, kind: str, name: str | None = None, namespace: str | None = None) -> dict:
        """`kubectl get -o json` decoded."""
        args = ["get", kind] + ([name] if name else []) + (["-n", namespace] if namespace else []) + ["-o", "json"]
        return json.loads(self.kubectl(*args).stdout)

    def set_pod_status(self, namespace: str, pod: str, status_patch: Mapping[str, Any], patch_type: str = "merge"):
        """Write pod status through the `status` subresource, as a kubelet would.

        There is no kubelet here, so pods never run; tests that need what a kubelet reports (an init
        container's termination message, a phase) write it themselves with this.
        """
        return self.kubectl(
            "patch", "pod", pod, "-n", namespace, "--subresource=status", f"--type={patch_type}",
            "-p", json.dumps({"status": dict(status_patch)}),
        )

    def wait_for(self, condition, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
        """Poll `condition()` until it returns something truthy; return it or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not met within {timeout:.0f}s")
            time.sleep(interval)


# -- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.controlplane")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build kube-apiserver/kube-controller-manager, fetch etcd, kubectl, helm")
    up = sub.add_parser("up", help="run a control plane in the foreground until Ctrl-C")
    up.add_argument("--audit-log", action="store_true", help="write an audit log (Metadata level)")
    args = parser.parse_args(argv)

    if args.command == "build":
        try:
            for name, path in ensure_binaries().items():
                print(f"{name}: {path}")
        except ControlPlaneError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    try:
        with ControlPlane(audit_log=args.audit_log) as cp:
            print(f"# control plane {versions()['KUBERNETES_VERSION']} ready in {time.monotonic() - started:.1f}s "
                  f"at {cp.server} (logs in {cp.workdir}); Ctrl-C stops it", file=sys.stderr)
            print(f"export KUBECONFIG={cp.kubeconfig}")
            print(f"export PATH={cp.bin['kubectl'].parent}:{cp.bin['helm'].parent}:$PATH", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
