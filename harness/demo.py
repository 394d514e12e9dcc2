"""`make demo`: tfguard end to end on a real (local) Kubernetes control plane, in a few minutes.

What it does, and prints as a user would see it:
  1. starts etcd, kube-apiserver and kube-controller-manager (harness.controlplane);
  2. `helm install tfguard` with the chart's external-webhook values, and runs the webhook and the
     operator as local processes (the chart's pods could not run: there is no kubelet here);
  3. creates one namespace per mode (tfguard.io/mode = enforce, warn, audit);
  4. applies the gallery in examples/ to each: real models saved by real TensorFlow releases, their
     ModelProfiles from `tfguard inspect --profile`; shows kubectl's denials and `Warning:` lines;
  5. runs the real probe with real TensorFlow against two of the models and writes its report into
     the Pods' status, as a kubelet would; the operator turns it into an ImageStack, annotations and
     Events, shown by `kubectl describe deployment`;
  6. shows tfguard's results where platform teams look: `kubectl tfguard status/explain/probe-results`,
     `kubectl get policyreports -A`, the webhook's and operator's metrics, and `tfguard check
     --manifests` over the gallery as CI would run it (harness/demo_results.py);
  7. stops the webhook to show that admission then fails open;
  8. ends with a one-screen summary, and cleans up: no process is left behind.

    python -m harness.demo [--no-probe]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from harness import demo_results, gallery
from harness.controlplane import ControlPlane, ControlPlaneError, ensure_binaries, versions
from harness.localinstall import CHART, LocalTfguard
from harness.tfenvs import NEW_TF, OLD_TF

BOLD, DIM, RED, YELLOW, GREEN, RESET = ("\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m")
if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
    BOLD = DIM = RED = YELLOW = GREEN = RESET = ""

# The two examples whose Pods the demo "runs": a model that loads, and one that cannot.
PROBED = (
    # (example, mode namespace, TF release of its image, model, loader)
    ("loads", "warn", OLD_TF, ("plain_saved_model", NEW_TF), "saved_model"),
    ("missing-op", "warn", OLD_TF, ("new_op_saved_model", NEW_TF), "saved_model"),
)


def heading(text: str) -> None:
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def note(text: str) -> None:
    print(f"{DIM}# {text}{RESET}", flush=True)


def shell(args: Sequence[str]) -> None:
    shown = [("kubectl" if Path(a).name == "kubectl" else "helm" if Path(a).name == "helm" else a) for a in args]
    print(f"{BOLD}$ {shlex.join(shown)}{RESET}", flush=True)


def echo(stdout: str, stderr: str = "") -> None:
    for line in stdout.rstrip().splitlines():
        print(f"  {line}")
    for line in stderr.rstrip().splitlines():
        colour = YELLOW if line.startswith("Warning:") else RED if line.startswith("Error") else ""
        print(f"  {colour}{line}{RESET if colour else ''}")
    sys.stdout.flush()


def kubectl_shown(cp: ControlPlane, *args: str, check: bool = False):
    shell(["kubectl", *args])
    done = cp.kubectl(*args, check=check)
    echo(done.stdout, done.stderr)
    return done


def prepare() -> dict[str, str]:
    heading("Preparing: the control plane's binaries, real models and their ModelProfiles")
    started = time.monotonic()
    ensure_binaries()
    note(f"Kubernetes {versions()['KUBERNETES_VERSION']} control plane binaries are ready")
    profiles = gallery.model_profiles()
    for example in gallery.EXAMPLES_LIST:
        if example.model:
            name, release = example.model
            note(f"{example.name}: ModelProfile from `tfguard inspect --profile {example.name}` of {name}, saved by TF {release}")
    note(f"ready in {time.monotonic() - started:.0f}s")
    return profiles


def show_install(cp: ControlPlane, tfguard: LocalTfguard) -> None:
    heading("helm install tfguard (the webhook and the operator run as local processes)")
    values = " ".join(f"--set {v}" for v in tfguard.helm_values())
    print(f"{BOLD}$ helm install tfguard {CHART.relative_to(gallery.REPO)} -n {tfguard.namespace} {values}{RESET}")
    echo(tfguard.install_output)
    note(f"webhook: tfguard webhook serve on {tfguard.url}; operator: tfguard operator run --standalone")
    note("the operator issued the webhook's certificate and injected its CA into both webhook configurations")
    kubectl_shown(cp, "get", "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                  "-l", f"tfguard.io/webhook-configuration={tfguard.configuration_name}")


def show_gallery(cp: ControlPlane, namespaces: dict[str, str], profiles: dict[str, str]) -> list[gallery.Applied]:
    heading("One namespace per mode")
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
            applied = gallery.apply_example(cp.kubectl, example, ns, mode)
            echo(applied.stdout, applied.stderr)
            results.append(applied)
    return results


def show_probe_and_operator(cp: ControlPlane, namespaces: dict[str, str], workdir: Path) -> None:
    heading("What the probe finds in the Pods, and what the operator makes of it")
    note("There is no kubelet here: Pods stay Pending. For each Pod below the demo runs the real probe")
    note("(tfguard/probes/probe.py) with a real TensorFlow release - the one the Pod's image holds -")
    note("against the real model, and writes its report into the Pod status as the kubelet would.")
    for name, mode, release, model, loader in PROBED:
        ns = namespaces[mode]
        pod = gallery.pod_of(cp.kubectl, ns, name)
        pod_name = pod["metadata"]["name"]
        init = [c["name"] for c in pod["spec"].get("initContainers") or []]
        print()
        kubectl_shown(cp, "get", "pod", pod_name, "-n", ns, "-o",
                      "jsonpath={.metadata.name}: init containers {.spec.initContainers[*].name}{\"\\n\"}")
        if "tfguard-probe" not in init:
            note("the mutating webhook did not inject the probe into this Pod; skipping it")
            continue
        image = next(c["image"] for c in pod["spec"]["containers"])
        from harness.models import model_path

        message, code = gallery.run_probe(release, model_path(*model), loader=loader, mode=mode, workdir=workdir)
        note(f"probe with TF {release} on {model[0]} (saved by TF {model[1]}): exit {code}; "
             f"writing its {len(message)}-byte report into {pod_name}'s status")
        gallery.write_probe_status(cp.kubectl, ns, pod_name, image, message, code)

    for name, mode, *_ in PROBED:
        ns = namespaces[mode]
        try:
            cp.wait_for(lambda: _annotated(cp, ns, name), timeout=60, interval=0.5,
                        what=f"the operator's annotations on {name}")
        except TimeoutError as exc:
            note(f"{exc}")
        print()
        kubectl_shown(cp, "describe", "deployment", name, "-n", ns)
    print()
    kubectl_shown(cp, "get", "imagestacks")
    kubectl_shown(cp, "get", "modelprofiles", "-n", namespaces["warn"])


def show_fail_open(cp: ControlPlane, tfguard: LocalTfguard, namespaces: dict[str, str]) -> None:
    heading("And when tfguard itself is down? (failurePolicy: Ignore)")
    note("stopping the webhook; the API server cannot reach it and, fail-open, admits without it")
    tfguard.stop_webhook()
    ns = namespaces["enforce"]
    example = gallery.BY_NAME["missing-op"]
    shell(["kubectl", "apply", "-n", ns, "-f", str(example.manifest.relative_to(gallery.REPO))])
    applied = gallery.apply_example(cp.kubectl, example, ns, "enforce")
    echo(applied.stdout, applied.stderr)
    note("admitted unchecked: tfguard never blocks a cluster it cannot answer for. "
         "`--set webhook.failurePolicy=Fail` makes it refuse instead (opt-in).")


def _annotated(cp: ControlPlane, ns: str, name: str) -> bool:
    annotations = cp.get("deployment", name, ns).get("metadata", {}).get("annotations") or {}
    events = cp.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}",
                        "-o", "name", check=False).stdout
    return "tfguard.io/verdict" in annotations and bool(events.strip())


def summary(results: list[gallery.Applied]) -> list[str]:
    heading("Summary: what each example did in each mode")
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
    for problem in problems:
        print(f"{RED}unexpected: {problem}{RESET}")
    if not problems:
        print(f"{GREEN}every example behaved as examples/README.md says{RESET}")
    return problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-probe", action="store_true", help="skip the probe and operator part")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        profiles = prepare()
        heading("Starting a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)")
        with tempfile.TemporaryDirectory(prefix="tfguard-demo-") as tmp, ControlPlane() as cp:
            note(f"API server {cp.server}, Kubernetes {versions()['KUBERNETES_VERSION']}; no scheduler, no kubelet")
            with LocalTfguard(cp) as tfguard:
                show_install(cp, tfguard)
                namespaces = gallery.create_mode_namespaces(cp.kubectl, "demo")
                results = show_gallery(cp, namespaces, profiles)
                if not args.no_probe:
                    show_probe_and_operator(cp, namespaces, Path(tmp))
                figures = demo_results.show(cp, tfguard, namespaces, profiles, Path(tmp), kubectl_shown, note, heading)
                show_fail_open(cp, tfguard, namespaces)
                problems = summary(results)
                for line in demo_results.summary_lines(figures):
                    if line:
                        print(line)
                heading("Cleaning up")
                note("helm uninstall tfguard, stop the webhook, the operator and the control plane")
        note(f"done in {time.monotonic() - started:.0f}s; no process left behind")
        return 1 if problems else 0
    except (ControlPlaneError, RuntimeError, TimeoutError) as exc:
        print(f"{RED}demo failed: {exc}{RESET}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
