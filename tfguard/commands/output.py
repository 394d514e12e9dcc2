"""Writing a command's result to stdout."""

from __future__ import annotations

import os
import sys


def write_stdout(text: str) -> None:
    """Write and flush; a reader that went away (`tfguard ... | head`) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")
