"""The one error model inspection raises: it names the file and the problem."""

from __future__ import annotations

import os


class InspectError(Exception):
    """A model that cannot be read: missing, not a model, broken or hostile.

    `str(error)` is a complete message for a user ("PATH: PROBLEM"); `path` and `problem` are
    there for callers that format it themselves.
    """

    def __init__(self, path: "os.PathLike[str] | str", problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
