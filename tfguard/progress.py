"""Progress for long command-line work: a bar on a terminal, nothing in CI or in a pipe.

    with Progress(len(files), "checking manifests") as progress:
        for path in files:
            ...
            progress.advance(note=path)

It draws on stderr only when stderr is a terminal and neither $CI nor $NO_PROGRESS is set (and TERM
is not `dumb`), at most ten times a second, and clears its line when done, so output on stdout and
logs stay as they are.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Optional, TextIO


def wanted(stream: TextIO) -> bool:
    if os.environ.get("CI") or os.environ.get("NO_PROGRESS") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    def __init__(self, total: int, label: str, stream: Optional[TextIO] = None, enabled: Optional[bool] = None):
        self.total, self.label = max(total, 0), label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.done = 0
        self._drawn_at = 0.0
        self.started = time.monotonic()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._drawn_at >= 0.1 or self.done >= self.total):
            self._drawn_at = now
            self._draw(note)

    def echo(self, text: str, stream: Optional[TextIO] = None) -> None:
        """Print a line of output above the bar (the bar is drawn again on the next advance)."""
        if self.enabled and self._drawn_at:
            self.stream.write("\r\033[K")
            self.stream.flush()
        print(text, file=stream or sys.stdout, flush=True)

    def line(self, note: str = "") -> str:
        width = shutil.get_terminal_size((80, 20)).columns
        share = self.done / self.total if self.total else 1.0
        count = f"{self.done}/{self.total}"
        elapsed = time.monotonic() - self.started
        eta = f" {elapsed / share - elapsed:.0f}s left" if 0 < share < 1 and elapsed > 1 else ""
        bar_width = max(10, min(30, width - len(self.label) - len(count) - len(eta) - 12))
        filled = int(bar_width * share)
        text = f"{self.label} [{'#' * filled}{'.' * (bar_width - filled)}] {count}{eta}"
        room = width - len(text) - 2
        if note and room > 8:
            text += " " + (note if len(note) <= room else "…" + note[-(room - 1):])
        return text[: width - 1]

    def _draw(self, note: str) -> None:
        try:
            self.stream.write("\r\033[K" + self.line(note))
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        if self.enabled and self._drawn_at:
            try:
                self.stream.write("\r\033[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.enabled = False
