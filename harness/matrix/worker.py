"""The host side of harness/matrix/inside/worker.py: a fork server in a stack's venv, or one fresh
process per job (the fidelity check)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from harness.matrix import store
from harness.matrix.stacks import Stack

INSIDE = Path(__file__).resolve().parent / "inside"
SCRIPT = INSIDE / "worker.py"
TIMEOUT = 300  # seconds a job may take before it is recorded as a timeout
MAX_RSS_MB = 6000


class WorkerFailed(RuntimeError):
    """The stack's interpreter could not even import TensorFlow (and its preloads)."""


def _env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONDONTWRITEBYTECODE="1")
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "TF_USE_LEGACY_KERAS"):
        env.pop(name, None)
    return env


def _log_file(stack: Stack, preload: tuple[str, ...]) -> Path:
    log = store.root() / "logs" / f"{stack.id}{'-' + '-'.join(preload) if preload else ''}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return log


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_bytes()[-chars:].decode("utf-8", "replace")
    except OSError:
        return ""


class Worker:
    """A fork server: TensorFlow imported once, each job in a forked child."""

    def __init__(self, stack: Stack, preload: tuple[str, ...] = (), python: Path | None = None,
                 max_rss_mb: int = MAX_RSS_MB):
        self.stack, self.preload, self.max_rss_mb = stack, preload, max_rss_mb
        self.python = python or stack.python()
        self.log = _log_file(stack, preload)
        self.proc = None
        self.ready: dict = {}
        self._start()

    def _start(self) -> None:
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [str(self.python), str(SCRIPT), "--preload", ",".join(self.preload), "--timeout", str(TIMEOUT),
                 "--max-rss-mb", str(self.max_rss_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=_env(), cwd=str(INSIDE),
            )
        line = self.proc.stdout.readline()
        try:
            self.ready = json.loads(line)["ready"]
        except (ValueError, KeyError, TypeError):
            self.close()
            raise WorkerFailed(f"{self.stack.id}: the worker did not start:\n{_tail(self.log)}") from None

    def run(self, job: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            return json.loads(line)
        except (OSError, ValueError):
            # The server itself died (not a child): record the job as a crash and start a new one.
            self.close()
            result = {"ok": False, "kind": "crash", "message": "the worker died during this job",
                      "stderr": _tail(self.log, 1500), "id": job["id"]}
            self._start()
            return result

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def run_fresh(stack: Stack, preload: tuple[str, ...], job: dict) -> dict:
    """The same job in a new interpreter that imports TensorFlow and runs it without forking."""
    python = stack.python()
    proc = subprocess.Popen(
        [str(python), str(SCRIPT), "--fresh", "--preload", ",".join(preload)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        cwd=str(INSIDE),
    )
    try:
        out, err = proc.communicate(json.dumps(job) + "\n", timeout=TIMEOUT + 120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"ok": False, "kind": "timeout", "message": f"no result after {TIMEOUT}s", "stderr": err[-3000:]}
    lines = [ln for ln in out.splitlines() if ln.strip()]
    for line in reversed(lines):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if "id" in data:
            if not data.get("ok"):
                data["stderr"] = err[-3000:]
            return data
    how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    return {"ok": False, "kind": "crash", "message": f"the process died ({how}) without a result", "stderr": err[-3000:]}
