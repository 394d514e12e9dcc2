"""Every finding code the code or the tests spell is registered (a typo is a failing test, not a
silent mismatch: the suite once passed while asserting a code that exists nowhere)."""

from __future__ import annotations

import re
from pathlib import Path

from tfguard.compat.codes import CODES

ROOT = Path(__file__).resolve().parents[1]
# Strings with a code's prefix that are not codes: environment variables, and a made-up code in a
# malformed report.
NOT_CODES = {"CUDA_VISIBLE_DEVICES", "MODEL_NAME", "MODEL_BASE_PATH", "PROBE_X", "KERAS_BACKEND",
             "CUDA_DRIVERS", "CUDA_DRIVER_FLOORS"}  # env variables and the probe's generated tables
PREFIXES = sorted({code.split("_")[0] for code in CODES})
SPELLED = re.compile(r"""["']((?:%s)_[A-Z0-9_]+)["']""" % "|".join(PREFIXES))


def test_every_code_string_in_the_tree_is_registered():
    unregistered: dict[str, set[str]] = {}
    for folder in ("tfguard", "tests", "harness", "bench", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in SPELLED.finditer(path.read_text(errors="replace")):
                code = match.group(1)
                if code not in CODES and code not in NOT_CODES:
                    unregistered.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    assert not unregistered, f"register these in tfguard/compat/codes.py (or fix the typo): {unregistered}"


def test_docs_codes_md_is_generated_from_the_registry():
    from tfguard.compat.codes import markdown

    assert (ROOT / "docs" / "codes.md").read_text() == markdown()
