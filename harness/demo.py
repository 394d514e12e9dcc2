"""`make demo`: tfguard end to end on a real local cluster, in a few minutes.

What it does, and prints as a user would see it:
  1. starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler, and this machine as
     their node: containerd and the kubelet (harness.node), with the images imported (harness.images);
  2. `helm install tfguard` with the chart's own Deployments: the webhook and the operator run as
     Pods, the API server calls the webhook through its Service;
  3. asks admission about every example of the gallery in one namespace per mode
     (tfguard.io/mode = enforce, warn, audit): kubectl's denials and `Warning:` lines;
  4. runs the story with real Pods: a model that cannot load on an in-house image tfguard has never
     seen is admitted with a warning, its Pod stops in Init:Error and `kubectl describe pod` shows the
     probe's report; the operator learns the image; the next rollout of that model is denied at
     admission; a compatible model on the same image reaches Running;
  5. shows tfguard's results where platform teams look: `kubectl tfguard status/explain/probe-results`,
     `kubectl get policyreports -A`, the webhook's and operator's metrics, and `tfguard check
     --manifests` over the gallery as CI would run it (harness/demo_results.py);
  6. scales the webhook to zero to show that admission then fails open;
  7. ends with a one-screen summary, and cleans up: no process, mount or host path is left behind.

The models get into the Pods the way a model downloader would bring them: an init container
(`fetch-model`) copies the model out of an image holding the gallery's real models.

    python -m harness.demo
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from harness import demo_results, gallery, images
from harness.controlplane import CommandFailed, ControlPlane, ControlPlaneError, ensure_binaries, versions
from harness.localinstall import CHART, ClusterTfguard
from harness.models import NEW_OP
from harness.node import Node, unavailable

BOLD, DIM, RED, YELLOW, GREEN, RESET = ("\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m")
if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
    BOLD = DIM = RED = YELLOW = GREEN = RESET = ""

STORY_NAMESPACE = "shop"


def heading(text: str) -> None:
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def note(text: str) -> None:
    print(f"{DIM}# {text}{RESET}", flush=True)


def waiting(text: str) -> None:
    print(f"{DIM}  ... {text}{RESET}", flush=True)


def shell(args: Sequence[str]) -> None:
    print(f"{BOLD}$ {shlex.join(args)}{RESET}", flush=True)


def echo(stdout: str, stderr: str = "") -> None:
    for line in stdout.rstrip().splitlines():
        print(f"  {line}")
    for line in stderr.rstrip().splitlines():
        colour = YELLOW if line.startswith("Warning:") else RED if line.startswith("Error") else ""
        print(f"  {colour}{line}{RESET if colour else ''}")
    sys.stdout.flush()


def kubectl_shown(cp: ControlPlane, *args: str, check: bool = False, input: Optional[str] = None,
                  shown: Optional[Sequence[str]] = None, keep=None):
    """Run kubectl and print it as a user would type it (`shown` replaces the arguments shown)."""
    shell(["kubectl", *(shown or args)])
    done = cp.kubectl(*args, check=check, input=input)
    stdout = keep(done.stdout) if keep else done.stdout
    echo(stdout, done.stderr)
    return done


def section(text: str, start: str, end: Optional[str]) -> str:
    """The lines of `kubectl describe` output from the one starting with `start` to the one before `end`."""
    lines = text.splitlines()
    begin = next((i for i, line in enumerate(lines) if line.startswith(start)), 0)
    stop = next((i for i, line in enumerate(lines[begin + 1:], begin + 1) if end and line.startswith(end)), len(lines))
    return "\n".join(lines[begin:stop])


def prepare() -> dict[str, str]:
    heading("Preparing: binaries, images, real models and their ModelProfiles")
    started = time.monotonic()
    ensure_binaries()
    note(f"Kubernetes {versions()['KUBERNETES_VERSION']}: kube-apiserver, kube-controller-manager, kube-scheduler, "
         "kubelet (built from source, cached)")
    for image in images.all_images():
        if not images.cached(image):
            waiting(f"building {image.name} (cached by content afterwards)")
        images.build(image)
    note("images: " + ", ".join(i.name for i in images.all_images()))
    profiles = gallery.model_profiles()
    for example in gallery.EXAMPLES_LIST:
        if example.model:
            name, release = example.model
            note(f"{example.name}: ModelProfile from `tfguard inspect --profile {example.name}` of {name}, saved by TF {release}")
    note(f"ready in {time.monotonic() - started:.0f}s")
    return profiles


def show_node(node: Node) -> None:
    note(f"API server {node.cp.server}; node up in {node.timings.get('node ready', 0):.0f}s "
         f"(control plane {node.timings.get('control plane', 0):.0f}s, images {node.timings.get('images', 0):.0f}s)")
    kubectl_shown(node.cp, "get", "nodes", "-o", "wide")


def show_install(cp: ControlPlane, tfguard: ClusterTfguard) -> None:
    heading("helm install tfguard: the webhook and the operator run as the chart's Pods")
    print(f"{BOLD}$ helm install tfguard {CHART.relative_to(gallery.REPO)} -n {tfguard.namespace} "
          f"--create-namespace --wait{RESET}")
    echo(tfguard.install_output)
    kubectl_shown(cp, "get", "pods", "-n", tfguard.namespace, "-o", "wide")
    note("the operator issued the webhook's certificate and injected its CA; the API server calls the")
    note(f"webhook Pods through Service {tfguard.webhook_deployment} (--enable-aggregator-routing: at their endpoints)")
    kubectl_shown(cp, "get", "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                  "-l", f"tfguard.io/webhook-configuration={tfguard.configuration_name}")


def show_gallery(cp: ControlPlane, namespaces: dict[str, str], profiles: dict[str, str]) -> list[gallery.Applied]:
    heading("The gallery at admission, one namespace per mode")
    note("the Deployments are applied with replicas: 0 (admission judges the pod template; the node has two")
    note("cores): the real Pods come after")
    kubectl_shown(cp, "get", "namespaces", "-l", "tfguard.io/mode", "-L", "tfguard.io/mode")
    results: list[gallery.Applied] = []
    for mode, ns in namespaces.items():
        heading(f"The gallery in {ns} (tfguard.io/mode={mode})")
        for example in gallery.EXAMPLES_LIST:
            if example.name in profiles:
                gallery.apply_profile(cp.kubectl, ns, profiles[example.name])
        note(f"ModelProfiles applied: {', '.join(profiles)}")
        gallery.wait_for_profiles(cp.kubectl, ns, mode, gallery.EXAMPLES_LIST)
        for example in gallery.EXAMPLES_LIST:
            note(f"{example.name}: {example.summary}")
            shell(["kubectl", "apply", "-n", ns, "-f", str(example.manifest.relative_to(gallery.REPO))])
            applied = gallery.apply_example(cp.kubectl, example, ns, mode, replicas=0)
            echo(applied.stdout, applied.stderr)
            results.append(applied)
    return results


def show_story(node: Node, profiles: dict[str, str]) -> list[str]:
    """The main path with real Pods; returns what did not happen as it should."""
    cp = node.cp
    problems: list[str] = []
    ns = STORY_NAMESPACE
    image = images.IN_HOUSE_IMAGE
    models = images.models_image().name
    heading(f"Real Pods: a model on an image tfguard has never seen ({image})")
    cp.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"tfguard.io/mode": "enforce"}}})
    cp.wait_for(lambda: cp.kubectl("get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0,
                what=f"service account default in {ns}")
    for name in ("missing-op", "loads"):
        gallery.apply_profile(cp.kubectl, ns, profiles[name])
    gallery.wait_for_profiles(cp.kubectl, ns, "enforce", [gallery.BY_NAME["missing-op"], gallery.BY_NAME["loads"]])
    note(f"namespace {ns} is in enforce mode. {image} is an in-house build (TF 2.15.1 inside, which tfguard does")
    note(f"not know yet). The Deployment is examples/missing-op (a model saved by TF 2.20 that runs {NEW_OP})")
    note(f"on that image; an init container, fetch-model, copies the model from {models.split(':')[0]}.")
    broken = gallery.node_manifest(gallery.BY_NAME["missing-op"], models, image=image)
    applied = kubectl_shown(cp, "apply", "-n", ns, "-f", "-", input=json.dumps(broken),
                            shown=["apply", "-n", ns, "-f", "missing-op-on-acme.yaml"])
    if "STACK_UNKNOWN" not in applied.stderr:
        problems.append("the unknown image was not admitted with a STACK_UNKNOWN warning")
    note("tfguard cannot judge an image it has never seen: it admits (even in enforce mode) and the probe finds out")
    waiting("the Pod: fetch-model, then tfguard-probe-install, then tfguard-probe (TF imports in the image)")
    pod, status = gallery.wait_for_pod_status(cp.kubectl, ns, "missing-op", ("Init:Error", "Init:CrashLoopBackOff"),
                                              say=lambda s: waiting(f"Pod {s}"))
    pod_name = pod["metadata"]["name"]
    kubectl_shown(cp, "get", "pods", "-n", ns)
    described = kubectl_shown(cp, "describe", "pod", pod_name, "-n", ns,
                              keep=lambda text: section(text, "Init Containers:", "Containers:"))
    if NEW_OP not in described.stdout:
        problems.append(f"kubectl describe pod did not show the probe's report naming {NEW_OP}")

    heading("The operator learns what the image holds")
    waiting("the operator's ImageStack for the image the kubelet ran")
    try:
        cp.wait_for(lambda: gallery.image_stack_for(cp.get("imagestacks")["items"], image),
                    timeout=120, interval=1, what=f"an ImageStack for {image}")
    except TimeoutError as exc:
        problems.append(str(exc))
    kubectl_shown(cp, "get", "imagestacks")
    kubectl_shown(cp, "describe", "deployment", "missing-op", "-n", ns,
                  keep=lambda text: section(text, "Annotations:", "Selector:") + "\n" + section(text, "Events:", None))

    heading("The next rollout of the same model is decided at admission")
    changed = json.loads(json.dumps(broken))
    changed["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = "now"
    waiting("the webhook to see the ImageStack (its watch)")
    try:
        cp.wait_for(lambda: cp.kubectl("apply", "-n", ns, "--dry-run=server", "-f", "-", input=json.dumps(changed),
                                       check=False).returncode != 0, timeout=60, interval=1, what="the webhook's watch")
    except TimeoutError as exc:
        problems.append(str(exc))
    rollout = kubectl_shown(cp, "rollout", "restart", "deployment/missing-op", "-n", ns)
    if rollout.returncode == 0:
        problems.append("the next rollout of missing-op was not denied")

    heading("A compatible model on the same image")
    note("examples/loads: saved by TF 2.20, every op it runs exists in TF 2.15.1")
    compatible = gallery.node_manifest(gallery.BY_NAME["loads"], models, image=image)
    kubectl_shown(cp, "apply", "-n", ns, "-f", "-", input=json.dumps(compatible),
                  shown=["apply", "-n", ns, "-f", "loads-on-acme.yaml"])
    waiting("the Pod: its model fetched, the probe passes, the server loads the model")
    running, _ = gallery.wait_for_pod_status(cp.kubectl, ns, "loads", ("Running",), say=lambda s: waiting(f"Pod {s}"))
    waiting("the server to load the model")
    gallery.wait_for_server(cp.kubectl, ns, running["metadata"]["name"])
    kubectl_shown(cp, "get", "pods", "-n", ns)
    kubectl_shown(cp, "logs", running["metadata"]["name"], "-n", ns, "-c", "server")
    return problems


def show_fail_open(cp: ControlPlane, tfguard: ClusterTfguard, namespaces: dict[str, str]) -> None:
    heading("And when tfguard itself is down? (failurePolicy: Ignore)")
    kubectl_shown(cp, "scale", "deployment", tfguard.webhook_deployment, "-n", tfguard.namespace, "--replicas=0")
    waiting("no webhook endpoint left")
    tfguard.stop_webhook()
    ns = namespaces["enforce"]
    example = gallery.BY_NAME["missing-op"]
    shell(["kubectl", "apply", "--dry-run=server", "-n", ns, "-f", str(example.manifest.relative_to(gallery.REPO))])
    applied = gallery.apply_example(cp.kubectl, example, ns, "enforce", dry_run=True)
    echo(applied.stdout, applied.stderr)
    note("admitted unchecked: tfguard never blocks a cluster it cannot answer for. "
         "`--set webhook.failurePolicy=Fail` makes it refuse instead (opt-in).")


def summary(results: list[gallery.Applied]) -> list[str]:
    heading("Summary: what each example did at admission in each mode")
    problems: list[str] = []
    width = max(len(e.name) for e in gallery.EXAMPLES_LIST)
    print(f"  {'example':{width}}  {'verdict':12}  " + "  ".join(f"{m:28}" for m in gallery.MODES))
    for example in gallery.EXAMPLES_LIST:
        cells = []
        for mode in gallery.MODES:
            (r,) = [r for r in results if r.example is example and r.mode == mode]
            got = "denied" if not r.allowed else f"admitted, {len(r.warnings)} warning(s)"
            ok = not r.problems()
            problems += r.problems()
            cells.append(f"{GREEN if ok else RED}{got:28}{RESET}")
        print(f"  {example.name:{width}}  {example.verdict:12}  " + "  ".join(cells))
    return problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    started = time.monotonic()
    why = unavailable()
    if why:
        print(f"{RED}demo: this machine cannot run a node: {why}{RESET}", file=sys.stderr)
        return 1
    try:
        profiles = prepare()
        heading("Starting a control plane and this machine as its node")
        note("etcd, kube-apiserver, kube-controller-manager, kube-scheduler; containerd, runc, CNI bridge, kubelet")
        with tempfile.TemporaryDirectory(prefix="tfguard-demo-") as tmp, Node(say=waiting) as node:
            show_node(node)
            with ClusterTfguard(node.cp, say=waiting) as tfguard:
                show_install(node.cp, tfguard)
                namespaces = gallery.create_mode_namespaces(node.cp.kubectl, "demo")
                results = show_gallery(node.cp, namespaces, profiles)
                problems = show_story(node, profiles)
                figures = demo_results.show(node.cp, tfguard, namespaces, profiles, Path(tmp), kubectl_shown, note,
                                            heading)
                show_fail_open(node.cp, tfguard, namespaces)
                problems = summary(results) + problems
                for line in demo_results.summary_lines(figures):
                    if line:
                        print(line)
                for problem in problems:
                    print(f"{RED}unexpected: {problem}{RESET}")
                if not problems:
                    print(f"{GREEN}every example behaved as examples/README.md says, and the Pods did what the story says{RESET}")
                heading("Cleaning up")
                note("helm uninstall tfguard, then the node (Pods, containerd, kubelet, network) and the control plane")
        note(f"done in {time.monotonic() - started:.0f}s; no process, mount or host path left behind")
        return 1 if problems else 0
    except (ControlPlaneError, CommandFailed, RuntimeError, TimeoutError) as exc:
        print(f"{RED}demo failed: {exc}{RESET}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
