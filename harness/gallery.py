"""The example gallery (examples/): real cases, what tfguard should do with each in each mode, and a
runner that applies them to a cluster and checks it did.

Each example is a Deployment manifest in examples/<name>/deployment.yaml. Where the model's real
facts matter, its ModelProfile is generated at run time by `tfguard inspect --profile <name>` from a
real model saved by a real TensorFlow release (harness.models): nothing generated is
committed. `make demo`, tests/e2e and `make e2e-kind` all run this gallery:

    python -m harness.gallery --check              # against the current kubectl context
    python -m harness.gallery --kubectl PATH --check
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from harness.tfenvs import NEW_TF, OLD_TF

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
MODES = ("enforce", "warn", "audit")

# kubectl(*args, input=None, check=True) -> CompletedProcess (text); ControlPlane.kubectl is one.
Kubectl = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class Example:
    name: str  # examples/<name>/, the Deployment's name and the ModelProfile's
    summary: str
    verdict: str  # what tfguard decides: compatible | risky | incompatible | unknown
    codes: tuple[str, ...] = ()  # finding codes the denial or warnings name
    model: Optional[tuple[str, str]] = None  # (model, TF release) the ModelProfile is inspected from

    @property
    def manifest(self) -> Path:
        return EXAMPLES / self.name / "deployment.yaml"

    def expect(self, mode: str) -> "Expected":
        if mode == "audit":
            return Expected(allowed=True, warned=False)
        if self.verdict == "incompatible":
            return Expected(allowed=mode != "enforce", warned=mode == "warn")
        return Expected(allowed=True, warned=self.verdict in ("risky", "unknown"))


@dataclass(frozen=True)
class Expected:
    allowed: bool
    warned: bool  # kubectl prints tfguard `Warning:` lines

    def describe(self) -> str:
        if not self.allowed:
            return "denied"
        return "admitted with Warning: lines" if self.warned else "admitted silently"


EXAMPLES_LIST: tuple[Example, ...] = (
    Example(
        "loads",
        f"a model saved by TF {NEW_TF} whose ops all exist in TF {OLD_TF}, on tensorflow/tensorflow:{OLD_TF}",
        "compatible",
        model=("plain_saved_model", NEW_TF),
    ),
    Example(
        "missing-op",
        f"a model saved by TF {NEW_TF} that runs an op TF {OLD_TF} lacks, on tensorflow/tensorflow:{OLD_TF}",
        "incompatible",
        ("OP_NOT_REGISTERED",),
        model=("new_op_saved_model", NEW_TF),
    ),
    Example(
        "keras2-on-keras3",
        f"a Keras 2 SavedModel (TF {OLD_TF}) loaded with Keras 3's load_model on tensorflow/tensorflow:{NEW_TF}",
        "incompatible",
        ("KERAS3_CANNOT_LOAD_SAVEDMODEL",),
        model=("keras_saved_model", OLD_TF),
    ),
    Example(
        "gpu-on-cpu-image",
        f"a GPU request on tensorflow/tensorflow:{OLD_TF}, a CPU-only build",
        "incompatible",
        ("GPU_ON_CPU_ONLY_BUILD",),
        model=("plain_saved_model", OLD_TF),
    ),
    Example(
        "unknown-image",
        "an in-house image tfguard has never seen (no probe result, annotation or catalog entry)",
        "unknown",
        ("STACK_UNKNOWN",),
    ),
)
BY_NAME = {e.name: e for e in EXAMPLES_LIST}


# --- ModelProfiles from real models ---


def model_path_in_image(example: Example) -> str:
    """The example's tfguard.io/model-path annotation: where the serving container reads the model."""
    import yaml

    manifest = yaml.safe_load(example.manifest.read_text())
    return manifest["spec"]["template"]["metadata"]["annotations"]["tfguard.io/model-path"]


def model_profile(example: Example) -> Optional[str]:
    """`tfguard inspect <real model> --profile <name>` as YAML; None for an example without a model.

    The model is inspected under the path the Deployment serves it from (a symlink in a scratch
    directory, as a CI job would stage it), so the profile's `source` and tfguard's messages name
    `models/<example>/...` rather than the test cache."""
    if example.model is None:
        return None
    from harness.models import model_path

    artifact = model_path(*example.model)
    relative = model_path_in_image(example).lstrip("/")
    with tempfile.TemporaryDirectory(prefix="tfguard-gallery-") as stage:
        link = Path(stage) / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(artifact, target_is_directory=artifact.is_dir())
        done = subprocess.run(
            [sys.executable, "-m", "tfguard.cli", "inspect", relative, "--profile", example.name],
            capture_output=True, text=True, timeout=120, cwd=stage,
        )
    if done.returncode != 0:
        raise RuntimeError(f"tfguard inspect {artifact} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def model_profiles(examples: Sequence[Example] = EXAMPLES_LIST) -> dict[str, str]:
    return {e.name: text for e in examples if (text := model_profile(e)) is not None}


# --- applying and checking ---


@dataclass
class Applied:
    example: Example
    namespace: str
    mode: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def allowed(self) -> bool:
        return self.returncode == 0

    @property
    def warnings(self) -> list[str]:
        """tfguard's `Warning:` lines as kubectl printed them."""
        return [line for line in self.stderr.splitlines() if line.startswith("Warning:") and "tfguard" in line]

    @property
    def denial(self) -> str:
        return "" if self.allowed else self.stderr.strip()

    def problems(self) -> list[str]:
        """How this outcome differs from what the gallery promises (empty when it is right)."""
        want = self.example.expect(self.mode)
        where = f"{self.example.name} in {self.mode} mode"
        found: list[str] = []
        if self.allowed != want.allowed:
            found.append(f"{where}: expected {want.describe()}, but it was "
                         f"{'admitted' if self.allowed else 'denied'}: {self.stderr.strip()[:600]}")
            return found
        if want.allowed and bool(self.warnings) != want.warned:
            found.append(f"{where}: expected {want.describe()}, got warnings {self.warnings or 'none'}")
        said = self.denial if not want.allowed else "\n".join(self.warnings)
        for code in self.example.codes:
            if (not want.allowed or want.warned) and code not in said:
                found.append(f"{where}: expected the code {code} in {said[:600]!r}")
        return found


def apply_profile(kubectl: Kubectl, namespace: str, profile_yaml: str) -> None:
    # Sent as JSON: kubectl reads YAML 1.1, where an unquoted op attr named N (Pack, StringJoin) would
    # be the boolean false.
    import yaml

    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(yaml.safe_load(profile_yaml)))


def apply_example(
    kubectl: Kubectl, example: Example, namespace: str, mode: str, dry_run: bool = False, replicas: Optional[int] = None,
) -> Applied:
    """`kubectl apply` the example (a server-side dry run if asked; with `replicas`, that many instead
    of the manifest's: admission judges the pod template either way)."""
    args = ["apply", "-n", namespace, "-f", str(example.manifest)]
    text = None
    if replicas is not None:
        import yaml

        manifest = yaml.safe_load(example.manifest.read_text())
        manifest["spec"]["replicas"] = replicas
        args[-1], text = "-", json.dumps(manifest)
    if dry_run:
        args.append("--dry-run=server")
    done = kubectl(*args, check=False, input=text)
    return Applied(example, namespace, mode, done.returncode, done.stdout, done.stderr)


def wait_for_profiles(kubectl: Kubectl, namespace: str, mode: str, examples: Sequence[Example], timeout: float = 30.0) -> None:
    """Until the webhook's watch has seen the profiles: a server-side dry run (no side effects)
    stops reporting ADMISSION_PROFILE_MISSING."""
    deadline = time.monotonic() + timeout
    for example in examples:
        if example.model is None:
            continue
        while True:
            done = apply_example(kubectl, example, namespace, mode, dry_run=True)
            if "ADMISSION_PROFILE_MISSING" not in done.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.3)


def create_mode_namespaces(kubectl: Kubectl, prefix: str) -> dict[str, str]:
    """One namespace per mode, labelled tfguard.io/mode=<mode>; {mode: namespace}."""
    namespaces = {mode: f"{prefix}-{mode}" for mode in MODES}
    for mode, ns in namespaces.items():
        kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"tfguard.io/mode": mode}},
        }))
    return namespaces


def run_gallery(
    kubectl: Kubectl,
    namespaces: dict[str, str],
    profiles: dict[str, str],
    examples: Sequence[Example] = EXAMPLES_LIST,
) -> list[Applied]:
    """Apply every example in every mode's namespace (profiles first); the outcomes, in order."""
    results = []
    for mode, ns in namespaces.items():
        for example in examples:
            if example.name in profiles:
                apply_profile(kubectl, ns, profiles[example.name])
        wait_for_profiles(kubectl, ns, mode, examples)
        for example in examples:
            results.append(apply_example(kubectl, example, ns, mode))
    return results


# --- what a kubelet would report (the local control plane has none) ---

PROBE = REPO / "tfguard" / "probes" / "probe.py"


def run_probe(tf_version: str, model: Path, *, loader: str = "auto", mode: str = "warn", workdir: Path) -> tuple[str, int]:
    """Run the real probe with a real TF release against a real model, as the injected init container
    would inside an image holding that release; (its termination message, its exit code)."""
    from harness.tfenvs import tf_python

    log = workdir / f"termination-{uuid.uuid4().hex[:6]}.log"
    done = subprocess.run(
        [str(tf_python(tf_version)), str(PROBE), "--model", str(model), "--loader", loader, "--gpu", "none",
         "--mode", mode, "--termination-log", str(log)],
        capture_output=True, text=True, timeout=600,
    )
    if not log.exists():
        raise RuntimeError(f"the probe wrote no termination message:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
    return log.read_text(), done.returncode


def write_probe_status(kubectl: Kubectl, namespace: str, pod: str, image: str, message: str, exit_code: int) -> None:
    """Write what the kubelet reports once the probe init container has terminated: its termination
    message in status.initContainerStatuses. No digest is reported (there is no registry here), so
    the operator keys what it learns by the image reference."""
    from tfguard import annotations as A

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                  "message": message, "startedAt": now, "finishedAt": now}
    status = {
        "phase": "Pending",
        "initContainerStatuses": [
            {"name": A.PROBE_INSTALL_CONTAINER, "image": "tfguard/probe", "imageID": "", "ready": True,
             "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                         "startedAt": now, "finishedAt": now}}},
            {"name": A.PROBE_CONTAINER, "image": image, "imageID": "", "ready": exit_code == 0,
             "restartCount": 0, "state": {"terminated": terminated}},
        ],
    }
    kubectl("patch", "pod", pod, "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status}))


def pod_of(kubectl: Kubectl, namespace: str, app: str, timeout: float = 60.0) -> dict:
    """The first Pod the controllers made for Deployment `app` (label app=<app>)."""
    deadline = time.monotonic() + timeout
    while True:
        done = kubectl("get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "json", check=False)
        items = json.loads(done.stdout or "{}").get("items") or [] if done.returncode == 0 else []
        if items:
            return items[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Pod of {app} in {namespace} after {timeout:.0f}s")
        time.sleep(0.3)


# --- on a real node (harness.node): Pods that really run ---

MODEL_VOLUME = "models"  # the examples' volume the server reads the model from
# The node has two cores: Pods here ask for less CPU than the examples do, so several fit at once.
NODE_CPU_REQUEST = "100m"
# What Pod Security's `restricted` level asks of every container, for workloads that should pass it.
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                  "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def fetch_model_container(models_image: str, example: Example) -> dict:
    """The Pod's own init container that brings the model, as a model downloader would: it copies the
    example's model out of the models image (harness.images.models_image) into the models volume."""
    where = model_path_in_image(example)  # /models/<example>/1
    top = "/".join(where.rstrip("/").split("/")[:3])  # /models/<example>
    return {
        "name": "fetch-model",
        "image": models_image,
        "command": ["cp", "-r", top, "/target/"],
        "volumeMounts": [{"name": MODEL_VOLUME, "mountPath": "/target"}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": dict(RESTRICTED_CONTAINER),
    }


def node_manifest(
    example: Example,
    models_image: str,
    *,
    image: Optional[str] = None,
    name: Optional[str] = None,
    restricted: bool = False,
) -> dict:
    """The example's Deployment as it runs on a real node: its model fetched by an init container,
    optionally another image or name, and a restricted-compliant security context if asked."""
    import yaml

    manifest = yaml.safe_load(example.manifest.read_text())
    if name:
        manifest["metadata"]["name"] = name
        manifest["metadata"].setdefault("labels", {})["app"] = name
        manifest["spec"]["selector"] = {"matchLabels": {"app": name}}
        manifest["spec"]["template"]["metadata"].setdefault("labels", {})["app"] = name
    pod = manifest["spec"]["template"]["spec"]
    server = pod["containers"][0]
    if image:
        server["image"] = image
    server.setdefault("resources", {}).setdefault("requests", {})["cpu"] = NODE_CPU_REQUEST
    pod["initContainers"] = [fetch_model_container(models_image, example), *(pod.get("initContainers") or [])]
    pod["terminationGracePeriodSeconds"] = 5
    if restricted:
        pod["securityContext"] = dict(RESTRICTED_POD)
        for container in [*pod["containers"], *pod["initContainers"]]:
            container["securityContext"] = dict(RESTRICTED_CONTAINER)
    return manifest


def apply_manifest(kubectl: Kubectl, namespace: str, manifest: dict, check: bool = False) -> subprocess.CompletedProcess:
    return kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest), check=check)


def pod_status_column(kubectl: Kubectl, namespace: str, pod: str) -> str:
    """The STATUS kubectl shows for a Pod (Init:Error, Init:CrashLoopBackOff, Running, ...)."""
    done = kubectl("get", "pod", pod, "-n", namespace, "--no-headers", check=False)
    words = done.stdout.split()
    return words[2] if done.returncode == 0 and len(words) >= 3 else ""


def wait_for_pod_status(
    kubectl: Kubectl, namespace: str, app: str, wanted: Sequence[str], timeout: float = 300.0, say=None,
    unexpected: Sequence[str] = (),
) -> tuple[dict, str]:
    """Until the Pod of Deployment `app` shows one of `wanted` STATUS values; (the Pod, its STATUS).
    `say` gets each new STATUS, so a user sees what is being waited for; a STATUS in `unexpected`
    ends the wait at once (TimeoutError with `kubectl describe pod`)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        pod = pod_of(kubectl, namespace, app, timeout=max(1.0, deadline - time.monotonic()))
        status = pod_status_column(kubectl, namespace, pod["metadata"]["name"])
        if status and status != seen:
            seen = status
            if say:
                say(f"{pod['metadata']['name']}: {status}")
        if status in wanted:
            done = kubectl("get", "pod", pod["metadata"]["name"], "-n", namespace, "-o", "json")
            return json.loads(done.stdout), status
        if time.monotonic() > deadline or status in unexpected:
            described = kubectl("describe", "pod", pod["metadata"]["name"], "-n", namespace, check=False).stdout
            raise TimeoutError(f"Pod of {app} in {namespace} is {status or 'not found'} "
                               f"({'unexpected' if status in unexpected else f'after {timeout:.0f}s'}), "
                               f"not {' or '.join(wanted)}:\n{described[-3000:]}")
        time.sleep(0.5)


def wait_for_server(kubectl: Kubectl, namespace: str, pod: str, timeout: float = 300.0) -> str:
    """Until the serving container's log says it loaded the model (a Running container may still be
    importing TensorFlow); its log."""
    deadline = time.monotonic() + timeout
    while True:
        log = kubectl("logs", pod, "-n", namespace, "-c", "server", check=False).stdout
        if "serve.py: loaded" in log or "serve.py: cannot load" in log or time.monotonic() > deadline:
            return log
        time.sleep(1)


def image_stack_for(image_stacks: Sequence[dict], image: str) -> Optional[dict]:
    """The ImageStack recorded for `image`: by the Pod spec's reference, or by the one the kubelet
    reports (containerd names `acme/x:1` `docker.io/acme/x:1`)."""
    for item in image_stacks:
        spec = item.get("spec") or {}
        for ref in [spec.get("image") or "", *(spec.get("references") or [])]:
            if ref == image or ref.endswith("/" + image):
                return item
    return None


def init_container_status(pod: dict, name: str) -> dict:
    for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
        if status.get("name") == name:
            return status
    raise KeyError(f"no init container {name} in the status of {pod['metadata']['name']}")


# --- command line (make e2e-kind) ---


def _kubectl_runner(binary: str) -> Kubectl:
    def kubectl(*args: str, input: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([binary, *args], input=input, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
        return done

    return kubectl


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.gallery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubectl", default="kubectl", help="the kubectl to use (current context)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every example behaves as described")
    parser.add_argument("--keep", action="store_true", help="leave the namespaces behind")
    args = parser.parse_args(argv)

    kubectl = _kubectl_runner(args.kubectl)
    namespaces = create_mode_namespaces(kubectl, f"tfguard-gallery-{uuid.uuid4().hex[:5]}")
    try:
        results = run_gallery(kubectl, namespaces, model_profiles())
        problems = []
        for result in results:
            want = result.example.expect(result.mode).describe()
            print(f"[{result.mode:7}] {result.example.name:18} expected {want:30} -> "
                  f"{'admitted' if result.allowed else 'denied'}, {len(result.warnings)} warning(s)")
            problems += result.problems()
        for problem in problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return 1 if (args.check and problems) else 0
    finally:
        if not args.keep:
            for ns in namespaces.values():
                kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


if __name__ == "__main__":
    sys.exit(main())
