"""Running the real probe file as the init container does: a subprocess of a given python3."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from tfguard.probes import probe as probe_module

PROBE = Path(probe_module.__file__).resolve()


@dataclass
class ProbeRun:
    exit_code: int
    report: dict[str, Any]
    summary: str  # what the termination log got
    stderr: str

    def check(self, name: str) -> dict[str, Any]:
        found = [c for c in self.report["checks"] if c["name"] == name]
        assert found, f"no {name!r} check in {[c['name'] for c in self.report['checks']]}"
        return found[0]

    @property
    def failed_codes(self) -> list[str]:
        return [c["code"] for c in self.report["checks"] if c["status"] == "fail"]


def run_probe(python: "Path | str", *args: str, tmp_path: Path, timeout: float = 300) -> ProbeRun:
    log = tmp_path / f"termination-log-{len(list(tmp_path.iterdir()))}"
    proc = subprocess.run(
        [str(python), str(PROBE), "--json", "--termination-log", str(log), *args],
        capture_output=True, text=True, timeout=timeout,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"probe printed no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return ProbeRun(proc.returncode, report, log.read_text() if log.exists() else "", proc.stderr)


def python38() -> Optional[str]:
    from harness.tfenvs import python_interpreter

    try:
        return python_interpreter("3.8")
    except FileNotFoundError:
        return None


def no_tf_python() -> str:
    """An interpreter without TensorFlow that needs no venv: CPython 3.8 if present, else this one."""
    return python38() or sys.executable
