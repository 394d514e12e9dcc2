"""Every error tfguard raises on purpose, in one tree.

    TfguardError
    ├── ConfigError          settings, flags or cluster configuration that cannot be used
    ├── InspectError         a model file that cannot be read (tfguard.compat.inspect)
    ├── ProbeReportError     a probe report that cannot be read (tfguard.compat.probe_report)
    └── ApiError             the Kubernetes API answered with an error status
        ├── BadRequest       400
        ├── Unauthorized     401
        ├── Forbidden        403 (NamespaceTerminating: `namespace_terminating`)
        ├── NotFound         404
        ├── Conflict         409 (AlreadyExists, or a resourceVersion conflict)
        ├── Gone             410 (a watch's resourceVersion is too old)
        ├── Invalid          422
        └── ServerError      5xx

Callers catch the subclass they expect (`except NotFound:`), never compare status integers.
This module imports nothing from tfguard, so every layer can use it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any


class TfguardError(Exception):
    """The root: anything tfguard raises deliberately."""


class ConfigError(TfguardError, ValueError):
    """Settings, flags or a cluster configuration (kubeconfig, in-cluster files) that cannot be used."""


class InspectError(TfguardError):
    """A model that cannot be read: missing, not a model, broken or hostile.

    `str(error)` is a complete message for a user ("PATH: PROBLEM"); `path` and `problem` are
    there for callers that format it themselves.
    """

    def __init__(self, path: "os.PathLike[str] | str", problem: str, unloadable: bool = False,
                 format: "str | None" = None):
        self.path = os.fspath(path)
        self.problem = problem
        # True when TensorFlow cannot read it either (a parse it refuses, a broken checkpoint): the model
        # is incompatible with every release, which is a verdict, not a usage error.
        self.unloadable = unloadable
        # What the file is, when that was known before reading it failed ("saved_model", "keras_v3",
        # "h5"): a loader refuses a format before it reads a byte of the file.
        self.format = format
        super().__init__(f"{self.path}: {problem}")


class ProbeReportError(TfguardError, ValueError):
    """A probe report (full JSON or termination-log summary) that is not one tfguard can read."""


class ApiError(TfguardError):
    """The API server answered with an error status (the body is its `Status` object, if any).

    `ApiError.from_response` picks the subclass for the status; `status` stays for logging."""

    status_code: int = 0

    def __init__(self, status: int, body: Any, method: str = "", path: str = ""):
        self.status = status
        self.body = body if isinstance(body, dict) else {"message": str(body)}
        self.reason = self.body.get("reason", "")
        message = self.body.get("message") or str(body)
        super().__init__(f"{method} {path}: {status} {self.reason}: {message}".strip())

    @staticmethod
    def from_response(status: int, body: Any, method: str = "", path: str = "") -> "ApiError":
        cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
        return cls(status, body, method, path)

    @property
    def namespace_terminating(self) -> bool:
        """Creation refused because the namespace is being deleted: expected, not worth a warning."""
        return False


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403

    @property
    def namespace_terminating(self) -> bool:
        causes = (self.body.get("details") or {}).get("causes") or []
        return any(c.get("reason") == "NamespaceTerminating" for c in causes if isinstance(c, dict)) or (
            "because it is being terminated" in str(self.body.get("message", ""))
        )


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Gone(ApiError):
    status_code = 410


class Invalid(ApiError):
    status_code = 422


class ServerError(ApiError):
    """5xx: the API server or something behind it failed; worth a retry."""


_BY_STATUS = {cls.status_code: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, Invalid)}
