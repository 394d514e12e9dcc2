"""Fixtures for the operator's tests: the operator as a real subprocess against the local control
plane, tfguard's CRDs installed, and probe reports produced by the real probe in real TF venvs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "charts" / "tfguard" / "crds"
PROBE = REPO / "tfguard" / "probes" / "probe.py"


@pytest.fixture(scope="session")
def crds(control_plane):
    for path in sorted(CRDS.glob("*.yaml")):
        control_plane.kubectl("apply", "-f", str(path))
    for name in ("imagestacks.tfguard.io", "modelprofiles.tfguard.io"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    return control_plane


@pytest.fixture
def tfguard_namespace(crds, request):
    """tfguard's own namespace (certificate Secret, Lease) for one test."""
    name = f"tfguard-{uuid.uuid4().hex[:6]}"
    crds.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    crds.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


class OperatorProcess:
    """`tfguard operator run ...` as a child process; its log goes to a file the test can show."""

    def __init__(self, control_plane, namespace: str, workdir: Path, args: list[str], kubeconfig: str | None = None):
        self.control_plane = control_plane
        self.namespace = namespace
        self.args = args
        self.kubeconfig = kubeconfig or str(control_plane.kubeconfig)
        self.workdir = workdir
        self.cert_dir = workdir / "certs"
        self.log_path = workdir / f"operator-{uuid.uuid4().hex[:4]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "OperatorProcess":
        argv = [sys.executable, "-m", "tfguard.cli", "operator", "run", "--kubeconfig", self.kubeconfig,
                "--namespace", self.namespace, "--webhook-cert-dir", str(self.cert_dir), *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("KUBECONFIG", None)
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no Lease release: the harshest restart."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def assert_running(self) -> None:
        assert self.process is not None and self.process.poll() is None, f"operator exited:\n{self.output()}"


@pytest.fixture
def operator(crds, tfguard_namespace, tmp_path):
    """A factory: operator(*extra_args) starts one; all are stopped after the test."""
    started: list[OperatorProcess] = []

    def start(*args: str, kubeconfig: str | None = None) -> OperatorProcess:
        proc = OperatorProcess(crds, tfguard_namespace, tmp_path, list(args), kubeconfig).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


# --- probe reports from the real probe ---------------------------------------------------------


def run_probe(tf_version: str, model: Path, tmp_path: Path, loader: str = "auto") -> str:
    """Run tfguard's probe with the real TF release against a real model; return the termination
    message it wrote (what the kubelet would put into the Pod status)."""
    from harness.tfenvs import tf_python

    log = tmp_path / f"termination-{uuid.uuid4().hex[:6]}.log"
    result = subprocess.run(
        [str(tf_python(tf_version)), str(PROBE), "--model", str(model), "--gpu", "none", "--loader", loader,
         "--mode", "enforce", "--termination-log", str(log)],
        capture_output=True, text=True, timeout=300,
    )
    assert log.exists(), f"the probe wrote no termination log:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return log.read_text()


@pytest.fixture(scope="session")
def probe_reports(tmp_path_factory):
    """Two real reports, made once per session:
    `verified`: a SavedModel written by the old TF release, probed in the new release's stack (pass);
    `missing_op`: a SavedModel that needs an op only the new release has, probed in the old stack (fail)."""
    from harness.models import model_path
    from harness.tfenvs import NEW_TF, OLD_TF

    tmp = tmp_path_factory.mktemp("probe")
    return {
        "verified": (NEW_TF, run_probe(NEW_TF, model_path("plain_saved_model", OLD_TF), tmp)),
        "missing_op": (OLD_TF, run_probe(OLD_TF, model_path("new_op_saved_model", NEW_TF), tmp)),
    }
