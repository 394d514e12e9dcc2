"""The Dockerfile (hadolint) and hack/e2e-kind.sh (shellcheck). Neither can run here: no Docker engine."""

from __future__ import annotations

import re
import subprocess

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_dockerfile_is_hadolint_clean(venv_tool):
    done = subprocess.run([venv_tool("hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_builds_two_non_root_targets_on_pinned_bases():
    text = (REPO / "Dockerfile").read_text()
    stages = dict(re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M)[i][::-1] for i in range(3))
    assert set(stages) == {"build", "tfguard", "probe"}
    for image in stages.values():
        name, _, tag = image.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+[-\w.]*", tag), f"{image} is not pinned to an exact release"
    for target in ("tfguard", "probe"):
        body = text.split(f" AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        assert re.search(r"^USER 65532:65532$", body, re.M), f"target {target} runs as root"
    probe = text.split(" AS probe\n", 1)[1]
    assert "tfguard/probes/probe.py" in probe and "COPY --from" not in probe  # nothing but the probe


def test_e2e_kind_script_is_shellcheck_clean(venv_tool):
    done = subprocess.run([venv_tool("shellcheck"), "-x", str(REPO / "hack" / "e2e-kind.sh")],
                          capture_output=True, text=True, cwd=REPO / "hack")
    assert done.returncode == 0, done.stdout + done.stderr
