"""Reading what the probe wrote: its full JSON report (stdout, --json) or its compact summary
(the termination log, at most 4096 bytes), into the shared facts types.

    report = parse_probe_report(text)
    report.status        # "pass" | "fail"
    report.failed        # the one rule: anything but "pass"
    report.checks        # [Finding]: severity error (fail), warning (warn), info (pass, skip)
    report.stack         # StackFacts(source="probe")
    report.model         # ModelFacts(source="probe") or None
    report.model_loaded  # the probe really loaded the model with the image's own TensorFlow

The probe itself (tfguard/probes/probe.py) cannot import tfguard; the two agree on the JSON shape:
`stack` and `model` carry StackFacts/ModelFacts field names, and a summary may carry the model's ops
zlib-compressed and base64-encoded in `ops_z` (or say `ops_dropped` when they did not fit: then
the model's facts are left out, since facts without the op list would be wrong facts).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any, Optional

from tfguard.compat.facts import Finding, ModelFacts, StackFacts
from tfguard.errors import ProbeReportError
from tfguard.records import field, fields, record

STATUSES = ("pass", "fail")
_SEVERITY = {"fail": "error", "warn": "warning", "pass": "info", "skip": "info"}
_MAX_OPS_BYTES = 4 << 20  # a decompressed op list larger than this is not from the probe


@record
class ProbeReport:
    status: str  # "pass" | "fail"
    checks: list[Finding] = field(default_factory=list)
    stack: StackFacts = field(default_factory=lambda: StackFacts(source="probe"))
    model: Optional[ModelFacts] = None
    model_loaded: bool = False
    mode: Optional[str] = None
    summary: bool = False  # parsed from the compact termination-log summary, not the full report
    timings: dict[str, Any] = field(default_factory=dict)
    # Stack facts beyond StackFacts (tf.keras module, build info, CPU flags, ...), as the probe wrote them.
    stack_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status != "pass"

    @property
    def errors(self) -> list[Finding]:
        return [c for c in self.checks if c.severity == "error"]


def parse_probe_report(text: str) -> ProbeReport:
    """Parse the probe's full report or its termination-log summary; ProbeReportError if it is neither."""
    try:
        return _parse(text)
    except ProbeReportError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # a field of the wrong shape
        raise ProbeReportError(f"probe report has a field of the wrong type: {type(exc).__name__}: {exc}") from None


def _parse(text: str) -> ProbeReport:
    if not isinstance(text, str):
        raise ProbeReportError(f"probe report must be text, got {type(text).__name__}")
    data = _json_object(text)
    status = data.get("status")
    if status not in STATUSES:
        raise ProbeReportError(f"probe report has no valid status (got {status!r}; expected one of {', '.join(STATUSES)})")
    summary = bool(data.get("summary"))
    checks = _summary_checks(data) if summary else _full_checks(data)
    stack_data = data.get("stack") or {}
    if not isinstance(stack_data, dict):
        raise ProbeReportError("probe report: 'stack' is not an object")
    stack = StackFacts.from_dict(stack_data)
    stack.source = "probe"
    known = {f.name for f in fields(StackFacts)}
    model = _model(data.get("model"))
    if summary:
        loaded = data.get("model_loaded") is True
    else:
        loaded = any(c.code == "PROBE_MODEL_LOADED" and c.details.get("status") == "pass" for c in checks)
    return ProbeReport(
        status=status,
        checks=checks,
        stack=stack,
        model=model,
        model_loaded=loaded and model is not None and status == "pass",
        mode=data.get("mode") if isinstance(data.get("mode"), str) else None,
        summary=summary,
        timings=data.get("timings") if isinstance(data.get("timings"), dict) else (
            {"total_s": data["total_s"]} if isinstance(data.get("total_s"), (int, float)) else {}),
        stack_extra={k: v for k, v in stack_data.items() if k not in known},
    )


def _json_object(text: str) -> dict[str, Any]:
    start = text.find("{")
    if start < 0:
        snippet = text.strip()[:80]
        raise ProbeReportError(f"not a probe report: no JSON object in {snippet!r}" if snippet else "empty probe report")
    try:
        data, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        raise ProbeReportError(f"probe report is not valid JSON (truncated?): {exc}") from None
    if not isinstance(data, dict):
        raise ProbeReportError("probe report is not a JSON object")
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _full_checks(data: dict[str, Any]) -> list[Finding]:
    checks = data.get("checks")
    if not isinstance(checks, list):
        raise ProbeReportError("probe report: 'checks' is missing or not a list")
    findings = []
    for check in checks:
        if not isinstance(check, dict) or not isinstance(check.get("code"), str):
            raise ProbeReportError("probe report: a check without a code")
        status = check.get("status")
        details = dict(check.get("details") or {}) if isinstance(check.get("details"), dict) else {}
        details.update({"check": _text(check.get("name")), "status": status})
        findings.append(Finding(
            code=check["code"],
            severity=_SEVERITY.get(status, "info"),
            message=_text(check.get("message")),
            fix=_text(check.get("fix")),
            details=details,
        ))
    return findings


def _summary_checks(data: dict[str, Any]) -> list[Finding]:
    findings = []
    for key, severity in (("failed", "error"), ("warnings", "warning")):
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise ProbeReportError(f"probe summary: '{key}' is not a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
                raise ProbeReportError(f"probe summary: an entry of '{key}' without a code")
            findings.append(Finding(code=entry["code"], severity=severity, message=_text(entry.get("message")),
                                    details={"status": "fail" if severity == "error" else "warn"}))
    for code in data.get("failed_more") or []:
        if isinstance(code, str):
            findings.append(Finding(code=code, severity="error", message="", details={"status": "fail"}))
    return findings


def _model(data: Any) -> Optional[ModelFacts]:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ProbeReportError("probe report: 'model' is not an object")
    data = dict(data)
    if "ops_z" in data:
        data["ops"] = decompress_ops(data.pop("ops_z"))
    elif data.get("ops_dropped") is True and not data.get("ops"):
        return None
    model = ModelFacts.from_dict(data)
    model.source = "probe"
    if not isinstance(model.ops, list):
        raise ProbeReportError("probe report: the model's 'ops' is not a list")
    return model


def decompress_ops(value: Any) -> list[str]:
    """The op list of a summary: base64 of zlib of the names joined by newlines."""
    if not isinstance(value, str):
        raise ProbeReportError("probe summary: 'ops_z' is not a string")
    try:
        raw = base64.b64decode(value, validate=True)
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, _MAX_OPS_BYTES)
        if inflater.unconsumed_tail:
            raise ProbeReportError("decompresses to more than 4 MiB")
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise ProbeReportError(f"probe summary: cannot decode 'ops_z': {exc}") from None
    return [op for op in text.decode("utf-8", "replace").split("\n") if op]
