"""The Dockerfile (hadolint) and hack/e2e-kind.sh (shellcheck). Neither can run here: no Docker engine."""

from __future__ import annotations

import re
import subprocess

from pathlib import Path

from harness.prerequisites import missing

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


def test_the_tfguard_image_install_step_works_without_tensorflow(tmp_path):
    """What the Dockerfile's build stage does (copy pyproject.toml, README.md and tfguard/, install
    them into a fresh venv), done here with uv: the package installs with its data files and the
    webhook, the operator and the engine import without TensorFlow."""
    import shutil
    import sys

    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        missing("uv is not installed in the dev venv (make install)")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "tfguard", src / "tfguard", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    done = subprocess.run([str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(src)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    check = (
        "import sys, tfguard.cli, tfguard.webhook.app, tfguard.operator.main, tfguard.compat.verdict\n"
        "from tfguard.compat import releases\n"
        "assert releases.release('2.15.1') is not None, 'release knowledge missing from the package'\n"
        "import importlib.resources as r\n"
        "assert r.files('tfguard.probes').joinpath('probe.py').is_file()\n"
        "assert 'tensorflow' not in sys.modules\n"
        "assert 'kubernetes' not in sys.modules, 'the image must not need the kubernetes client library'\n"
    )
    done = subprocess.run([str(venv / "bin" / "python"), "-c", check], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    done = subprocess.run([str(venv / "bin" / "tfguard"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "webhook" in done.stdout and "operator" in done.stdout
    # kubectl-tfguard is installed with the package; without the kubeconfig extra it says what to add.
    done = subprocess.run([str(venv / "bin" / "kubectl-tfguard"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "status" in done.stdout and "explain" in done.stdout
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    done = subprocess.run([str(venv / "bin" / "kubectl-tfguard"), "status", "--kubeconfig", str(tmp_path / "kubeconfig")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "tfguard[kubeconfig]" in done.stderr and "Traceback" not in done.stderr
