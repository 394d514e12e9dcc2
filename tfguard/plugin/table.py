"""kubectl-style tables: upper-case headers, columns padded with three spaces, ages like 5m or 3d."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime, timezone
from typing import Sequence


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], wrap_last: bool = False) -> str:
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    wrap_last = wrap_last and sys.stdout.isatty()  # a pipe or a file gets whole lines, as kubectl's
    if wrap_last:  # the last column (a reason) gets what the terminal has left, at least 40
        room = shutil.get_terminal_size((160, 24)).columns - sum(w + 3 for w in widths[:-1])
        widths[-1] = max(40, min(widths[-1], room))
    lines = []
    for row in cells:
        last = row[-1]
        if wrap_last and len(last) > widths[-1]:
            last = last[: widths[-1] - 1] + "…"
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [last]
        lines.append("   ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def age(stamp: str, now: float | None = None) -> str:
    """An RFC 3339 time as kubectl shows ages (45s, 12m, 5h, 3d); "" when there is none."""
    if not stamp:
        return ""
    try:
        then = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return ""
    seconds = max(0, int((now or time.time()) - then))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
