"""The finding codes the webhook itself emits (registered in tfguard/compat/codes.py)."""

from __future__ import annotations

from typing import Any

from tfguard.compat.codes import CODES
from tfguard.compat.facts import Finding

BAD_ANNOTATION = "ADMISSION_BAD_ANNOTATION"
UNSAFE_MODEL_PATH = "ADMISSION_UNSAFE_MODEL_PATH"
PROFILE_MISSING = "ADMISSION_PROFILE_MISSING"
PROFILE_STALE = "ADMISSION_PROFILE_STALE"
UNSUPPORTED_OBJECT = "ADMISSION_UNSUPPORTED_OBJECT"
INTERNAL_ERROR = "ADMISSION_INTERNAL_ERROR"


def finding(code: str, message: str, severity: str = "warning", **details: Any) -> Finding:
    return Finding(code=code, severity=severity, message=message, fix=CODES[code].fix, details=details)
