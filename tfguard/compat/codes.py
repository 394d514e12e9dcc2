"""Every finding code tfguard emits, with its cause and fix: the one registry.

The probe (which cannot import tfguard) uses the same code strings; a test checks that every
code it can emit is registered here. docs/codes.md is generated from this table
(`python -m tfguard.compat.codes > docs/codes.md`) and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    cause: str
    fix: str


_CODES: list[Code] = [
    # Each owner appends its codes to its own section below; codes are never renamed or reused.
    # --- model inspection (tfguard inspect) ---
    # --- verdict engine (model + image stack) ---
    # --- probe: import, GPU, model load ---
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def markdown() -> str:
    lines = [
        "# Finding codes",
        "",
        "Generated from `tfguard/compat/codes.py` (`python -m tfguard.compat.codes > docs/codes.md`).",
        "Codes are stable: they are never renamed or reused.",
        "",
    ]
    for c in _CODES:
        lines += [f"## `{c.code}`: {c.title}", "", f"**Cause.** {c.cause}", "", f"**Fix.** {c.fix}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
