"""The `kubectl-tfguard` entry point: argument parsing and the three commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, Optional, Sequence

from tfguard import annotations as A
from tfguard.plugin.table import age, table

WORKLOADS = {"deployment": ("apps", "deployments", "Deployment"), "statefulset": ("apps", "statefulsets", "StatefulSet"),
             "daemonset": ("apps", "daemonsets", "DaemonSet")}
ALIASES = {"deploy": "deployment", "deployments": "deployment", "sts": "statefulset", "statefulsets": "statefulset",
           "ds": "daemonset", "daemonsets": "daemonset"}


def build_parser() -> argparse.ArgumentParser:
    import tfguard.plugin

    parser = argparse.ArgumentParser(prog="kubectl tfguard", description=(tfguard.plugin.__doc__ or "").strip().splitlines()[0],
                                     epilog="Every command only reads what tfguard recorded in the cluster.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file(s) (default: $KUBECONFIG, ~/.kube/config)")
    common.add_argument("--context", metavar="NAME", help="the kubeconfig context to use")
    common.add_argument("-o", "--output", choices=("table", "json"), default="table")
    namespaced = argparse.ArgumentParser(add_help=False)
    namespaced.add_argument("-n", "--namespace", metavar="NS", help="the namespace (default: the context's)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = sub.add_parser("status", parents=[common, namespaced], help="tfguard workloads with their verdict and why")
    status.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    explain = sub.add_parser("explain", parents=[common, namespaced], help="one workload's findings and their fixes")
    explain.add_argument("workload", metavar="[KIND/]NAME", help="deployment/NAME, sts/NAME, ds/NAME, or a Deployment's NAME")
    sub.add_parser("probe-results", parents=[common], help="the ImageStacks the probe recorded")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    from tfguard.commands.output import write_stdout
    from tfguard.errors import ApiError, ConfigError
    from tfguard.kube import load_config

    try:
        config = load_config(args.kubeconfig, args.context)
    except ConfigError as exc:
        print(f"kubectl tfguard: no usable cluster configuration: {exc}", file=sys.stderr)
        return 2
    try:
        text, code = asyncio.run(COMMANDS[args.command](config, args))
    except ApiError as exc:
        print(f"kubectl tfguard: the API server refused: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncio.TimeoutError) as exc:
        print(f"kubectl tfguard: cannot reach the API server at {config.server}: {exc!r}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"kubectl tfguard: {exc}", file=sys.stderr)
        return 2
    write_stdout(text)
    return code


class UsageError(Exception):
    pass


def _namespace(config, args) -> str:
    return args.namespace or config.namespace or "default"


async def _list_workloads(kube, namespace: Optional[str]) -> list[dict[str, Any]]:
    from tfguard.kube import resource_path
    from tfguard.workload.templates import is_tfguard_workload

    found = []
    for group, plural, kind in WORKLOADS.values():
        listed = await kube.list(resource_path(group, "v1", plural, namespace))
        for item in listed.get("items") or []:
            item.setdefault("kind", kind)
            if is_tfguard_workload(kind, item):
                found.append(item)
    return sorted(found, key=lambda o: (o["metadata"].get("namespace") or "", o["kind"], o["metadata"]["name"]))


async def status(config, args) -> tuple[str, int]:
    from tfguard.kube import KubeClient

    namespace = None if args.all_namespaces else _namespace(config, args)
    async with KubeClient(config) as kube:
        items = await _list_workloads(kube, namespace)
    rows = []
    for item in items:
        meta = item["metadata"]
        notes = meta.get("annotations") or {}
        rows.append({
            "namespace": meta.get("namespace"), "kind": item["kind"], "name": meta["name"],
            "verdict": notes.get(A.VERDICT) or "pending", "imageStack": notes.get(A.IMAGE_STACK) or "",
            "checkedAt": notes.get(A.CHECKED_AT) or "", "reason": notes.get(A.REASON) or "not judged by the operator yet",
        })
    if args.output == "json":
        return json.dumps({"workloads": rows}, indent=2) + "\n", 0
    if not rows:
        where = "any namespace" if namespace is None else f"namespace {namespace}"
        return f"No tfguard workloads in {where}.\n", 0
    columns = (["NAMESPACE"] if namespace is None else []) + ["KIND", "NAME", "VERDICT", "IMAGE STACK", "CHECKED", "REASON"]
    body = [([r["namespace"]] if namespace is None else []) +
            [r["kind"], r["name"], r["verdict"], r["imageStack"], age(r["checkedAt"]), r["reason"]] for r in rows]
    return table(columns, body, wrap_last=True), 0


def _parse_workload(text: str) -> tuple[str, str]:
    kind, slash, name = text.partition("/")
    if not slash:
        return "deployment", text
    kind = ALIASES.get(kind.lower(), kind.lower().split(".")[0])
    if kind not in WORKLOADS:
        raise UsageError(f"{text!r}: tfguard judges deployments, statefulsets and daemonsets, not {kind!r}")
    return kind, name


async def explain(config, args) -> tuple[str, int]:
    from tfguard.compat.resources import GROUP as TFGUARD_GROUP, VERSION as TFGUARD_VERSION
    from tfguard.errors import NotFound
    from tfguard.kube import KubeClient, resource_path
    from tfguard.operator.reports import GROUP, PLURAL, VERSION
    from tfguard.plugin.judge import judge

    kind_key, name = _parse_workload(args.workload)
    group, plural, kind = WORKLOADS[kind_key]
    namespace = _namespace(config, args)
    async with KubeClient(config) as kube:
        try:
            obj = await kube.get(resource_path(group, "v1", plural, namespace, name))
        except NotFound:
            raise UsageError(f"{kind} {namespace}/{name} not found") from None
        obj.setdefault("kind", kind)
        stacks = await _optional_list(kube, resource_path(TFGUARD_GROUP, TFGUARD_VERSION, "imagestacks"))
        profiles = await _optional_list(kube, resource_path(TFGUARD_GROUP, TFGUARD_VERSION, "modelprofiles", namespace))
        events = (await kube.list(resource_path("", "v1", "events", namespace),
                                  fieldSelector=f"involvedObject.name={name},involvedObject.kind={kind}")).get("items") or []
        reports = await _optional_list(kube, resource_path(GROUP, VERSION, PLURAL, namespace))
    judged, probe_note = judge(obj, namespace, stacks, profiles)
    notes = obj["metadata"].get("annotations") or {}
    uid = obj["metadata"].get("uid")
    result = next((r for report in reports for r in report.get("results") or []
                   if r.get("source") == "tfguard" and any(res.get("uid") == uid for res in r.get("resources") or [])), None)
    mine = sorted((e for e in events if (e.get("reason") or "").startswith("TFGuard")),
                  key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    if args.output == "json":
        return json.dumps({
            "workload": {"kind": kind, "namespace": namespace, "name": name},
            "operator": {k.removeprefix(A.PREFIX): v for k, v in notes.items() if k in (A.VERDICT, A.REASON, A.IMAGE_STACK, A.CHECKED_AT, A.OBSERVED_MODEL_PROFILE)},
            "judged": judged.to_dict(), "policyReportResult": result,
            "events": [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"),
                        "lastTimestamp": e.get("lastTimestamp")} for e in mine],
        }, indent=2) + "\n", 0
    lines = [f"{kind} {namespace}/{name}"]
    verdict = notes.get(A.VERDICT)
    if verdict:
        lines.append(f"  verdict (operator): {verdict}, since {notes.get(A.CHECKED_AT) or '?'}")
        lines.append(f"  reason:             {notes.get(A.REASON) or ''}")
        lines.append(f"  image stack:        {notes.get(A.IMAGE_STACK) or ''}")
    else:
        lines.append("  verdict (operator): none yet (is the operator running?)")
    lines.append(f"  judged now:         {judged.verdict} (model {judged.model or '?'} on {judged.image or '?'}, "
                 f"stack from {judged.stack_source or '?'}; the webhook in enforce mode would "
                 f"{'admit' if judged.admitted_in_enforce else 'deny'} it)")
    if probe_note:
        lines.append(f"  probe:              {probe_note}")
    lines.append("")
    lines.append("Findings:" if judged.findings else "Findings: none")
    for f in judged.findings:
        lines.append(f"  {f.severity:<7} {f.code}: {f.message}")
        if f.fix:
            lines.append(f"          fix: {f.fix}")
    if result is not None:
        lines.append("")
        lines.append(f"PolicyReport: {result.get('result')} ({result.get('policy')}/{result.get('rule')})")
    if mine:
        lines.append("")
        lines.append("Events:")
        for e in mine[-5:]:
            lines.append(f"  {age(e.get('lastTimestamp') or ''):>5}  {e.get('type'):<7} {e.get('reason')}: {e.get('message')}")
    return "\n".join(lines) + "\n", 0


async def _optional_list(kube, path: str) -> list[dict[str, Any]]:
    """A list of a resource whose CRD may be absent (tfguard's, PolicyReports): empty, not an error."""
    from tfguard.errors import NotFound

    try:
        return (await kube.list(path)).get("items") or []
    except NotFound:
        return []


async def probe_results(config, args) -> tuple[str, int]:
    from tfguard.compat.resources import GROUP, VERSION
    from tfguard.kube import KubeClient, resource_path

    async with KubeClient(config) as kube:
        stacks = await _optional_list(kube, resource_path(GROUP, VERSION, "imagestacks"))
    rows = []
    for item in sorted(stacks, key=lambda o: o["metadata"]["name"]):
        spec, status_ = item.get("spec") or {}, item.get("status") or {}
        stack = spec.get("stack") or {}
        by = status_.get("observedBy") or {}
        rows.append({
            "name": item["metadata"]["name"], "image": spec.get("image") or "", "tensorflow": stack.get("tensorflowVersion") or "",
            "keras": stack.get("kerasVersion") or "", "cuda": stack.get("cudaBuild"), "importOk": stack.get("importOk"),
            "probe": status_.get("probeStatus") or "", "observedBy": f"{by.get('namespace', '')}/{by.get('name', '')}".strip("/"),
            "observedAt": status_.get("observedAt") or "",
            "findings": [f.get("code") for f in status_.get("findings") or [] if isinstance(f, dict)],
        })
    if args.output == "json":
        return json.dumps({"imageStacks": rows}, indent=2) + "\n", 0
    if not rows:
        return "No ImageStacks: no probe has reported yet.\n", 0
    body = [[r["name"], r["image"], r["tensorflow"], r["keras"], _flag(r["cuda"]), _flag(r["importOk"]), r["probe"],
             r["observedBy"], age(r["observedAt"]), ",".join(r["findings"])] for r in rows]
    return table(["NAME", "IMAGE", "TF", "KERAS", "CUDA", "IMPORT", "PROBE", "OBSERVED BY", "AGE", "FINDINGS"], body), 0


def _flag(value: Any) -> str:
    return "" if value is None else ("yes" if value else "no")


COMMANDS = {"status": status, "explain": explain, "probe-results": probe_results}


if __name__ == "__main__":
    sys.exit(main())
