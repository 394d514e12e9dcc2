"""`tfguard check` output for people and for CI: text, JSON, SARIF 2.1.0 and JUnit XML.

SARIF goes to GitHub and GitLab code scanning: one rule per finding code (its title, cause and fix
from tfguard.compat.codes), one result per error or warning finding of a workload, located at the
file and line where the workload's manifest starts. JUnit goes to CI test reports: one test case per
workload, failed when the webhook would call it incompatible, skipped when tfguard does not judge it.
"""

from __future__ import annotations

import json

from tfguard import __version__
from tfguard.compat.codes import CODES

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:  # and `tfguard check --model` must not pay for reading manifests (yaml)
    from typing import Any, Optional

    from tfguard.commands.manifests import Result

FORMATS = ("text", "json", "sarif", "junit")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
VERDICT_ORDER = ("incompatible", "risky", "unknown", "compatible", "skipped")


def render(results: list[Result], output: str) -> str:
    return {"text": text, "json": as_json, "sarif": sarif, "junit": junit}[output](results)


def exit_code(results: list[Result]) -> int:
    return 1 if any(r.verdict == "incompatible" for r in results) else 0


def counts(results: list[Result]) -> dict[str, int]:
    found = {v: 0 for v in VERDICT_ORDER}
    for r in results:
        found[r.verdict] = found.get(r.verdict, 0) + 1
    return found


def shown_findings(result: Result) -> list:
    """What the webhook would show: errors and warnings; for an unknown verdict, what is missing too."""
    return [f for f in result.findings if f.severity in ("error", "warning")
            or (result.verdict == "unknown" and f.severity == "info")]


# --- text and JSON ---------------------------------------------------------------------------


def text(results: list[Result]) -> str:
    lines = []
    for r in results:
        where = f" ({r.file}:{r.line})" if r.file and r.line else ""
        lines.append(f"{r.verdict.upper():<12} {r.subject}{where}")
        if r.verdict == "skipped":
            lines.append(f"             {r.message}")
            continue
        if r.image:
            lines.append(f"             image {r.image} (stack from {r.stack_source or '?'}); "
                         f"{'admitted' if r.admitted_in_enforce else 'denied'} in enforce mode")
        for f in shown_findings(r):
            lines.append(f"  {f.severity:<7} {f.code}: {f.message}")
            if f.fix:
                lines.append(f"          fix: {f.fix}")
    found = counts(results)
    lines.append("")
    lines.append(f"{len(results)} workloads: " + ", ".join(f"{n} {v}" for v, n in found.items() if n) if results
                 else "no Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob found")
    return "\n".join(lines) + "\n"


def as_json(results: list[Result]) -> str:
    return json.dumps({"results": [r.to_dict() for r in results], "summary": counts(results),
                       "exitCode": exit_code(results)}, indent=2) + "\n"


# --- SARIF 2.1.0 -----------------------------------------------------------------------------


def _rule(code: str) -> dict[str, Any]:
    known = CODES.get(code)
    rule: dict[str, Any] = {"id": code, "name": "".join(w.capitalize() for w in code.split("_"))}
    if known is not None:
        rule["shortDescription"] = {"text": known.title}
        rule["fullDescription"] = {"text": known.cause}
        rule["help"] = {"text": f"Fix: {known.fix}", "markdown": f"**Fix:** {known.fix}"}
    else:
        rule["shortDescription"] = {"text": code}
    rule["properties"] = {"tags": ["tensorflow", "kubernetes"]}
    return rule


def _location(r: Result) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if r.file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(r.file)}}
        if r.line:
            physical["region"] = {"startLine": r.line}
        location["physicalLocation"] = physical
    if r.kind:
        location["logicalLocations"] = [{"name": f"{r.namespace}/{r.name}", "kind": "resource",
                                         "fullyQualifiedName": f"{r.kind}/{r.namespace}/{r.name}"}]
    return location


def _uri(path: str) -> str:
    """A repository-relative URI where the path is below the working directory (code scanning maps
    those onto the repository), else a file: URI."""
    import os
    from urllib.parse import quote  # only SARIF output needs it (with ipaddress, 3 ms of every start)

    if path in ("<stdin>", "-"):
        return "stdin"
    full = os.path.abspath(path)
    here = os.getcwd()
    if os.path.commonpath([full, here]) == here:
        return quote(os.path.relpath(full, here).replace(os.sep, "/"))
    return "file://" + quote(full.replace(os.sep, "/"))


def sarif(results: list[Result]) -> str:
    from hashlib import sha256  # only SARIF hashes: OpenSSL's load is a tenth of `tfguard check`

    rules: dict[str, int] = {}
    ordered: list[dict[str, Any]] = []
    sarif_results = []
    for r in results:
        for f in shown_findings(r):
            if f.code not in rules:
                rules[f.code] = len(ordered)
                ordered.append(_rule(f.code))
            text_ = f"{r.subject}: {f.message}" + (f" Fix: {f.fix}" if f.fix else "")
            fingerprint = sha256(f"{r.kind}|{r.namespace}|{r.name}|{r.file}|{f.code}".encode()).hexdigest()[:32]
            entry: dict[str, Any] = {
                "ruleId": f.code,
                "ruleIndex": rules[f.code],
                "level": LEVELS.get(f.severity, "note"),
                "message": {"text": text_},
                "partialFingerprints": {"tfguardWorkload/v1": fingerprint},
                "properties": {"verdict": r.verdict, "image": r.image or "", "stackSource": r.stack_source or ""},
            }
            location = _location(r)
            if location:
                entry["locations"] = [location]
            sarif_results.append(entry)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "tfguard", "version": __version__, "semanticVersion": __version__,
                                "rules": ordered}},
            "results": sarif_results,
            "properties": {"summary": counts(results)},
        }],
    }
    return json.dumps(log, indent=2) + "\n"


# --- JUnit XML -------------------------------------------------------------------------------


def junit(results: list[Result]) -> str:
    from xml.etree import ElementTree as ET  # only junit output needs it

    found = counts(results)
    failures, skipped = found.get("incompatible", 0), found.get("skipped", 0)
    suites = ET.Element("testsuites", name="tfguard", tests=str(len(results)), failures=str(failures),
                        errors="0", skipped=str(skipped))
    suite = ET.SubElement(suites, "testsuite", name="tfguard check", tests=str(len(results)),
                          failures=str(failures), errors="0", skipped=str(skipped))
    for r in results:
        case = ET.SubElement(suite, "testcase", name=r.subject, classname=_classname(r))
        if r.file:
            case.set("file", r.file)
        if r.line:
            case.set("line", str(r.line))
        details = "\n".join(f"[{f.severity}] {f.code}: {f.message}" + (f"\n  fix: {f.fix}" if f.fix else "")
                            for f in shown_findings(r))
        if r.verdict == "incompatible":
            failure = ET.SubElement(case, "failure", type="incompatible", message=_first_line(r))
            failure.text = details
        elif r.verdict == "skipped":
            ET.SubElement(case, "skipped", message=r.message[:500])
        elif details:
            out = ET.SubElement(case, "system-out")
            out.text = f"{r.verdict}\n{details}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _classname(r: Result) -> str:
    return f"tfguard.{r.kind}" if r.kind else "tfguard.model"


def _first_line(r: Result, limit: int = 500) -> str:
    worst: Optional[Any] = next((f for f in r.findings if f.severity == "error"), None)
    text_ = f"[{worst.code}] {worst.message}" if worst is not None else r.message
    return text_[:limit]
