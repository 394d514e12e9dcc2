"""AdmissionReview v1, as far as tfguard reads and writes it.

Parsing goes through pydantic's JSON parser in one pass (`parse_review`), so a malformed body is a
clear 400 with the field that is wrong, never a 500.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

API_VERSION = "admission.k8s.io/v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class GroupVersionKind(_Model):
    group: str = ""
    version: str = ""
    kind: str


class AdmissionRequest(_Model):
    uid: str = Field(min_length=1, max_length=128)
    kind: GroupVersionKind
    name: Optional[str] = None
    namespace: Optional[str] = None
    operation: Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
    object: Optional[dict[str, Any]] = None
    oldObject: Optional[dict[str, Any]] = None
    dryRun: Optional[bool] = False
    subResource: Optional[str] = None


class AdmissionReview(_Model):
    apiVersion: Literal["admission.k8s.io/v1"]
    kind: Literal["AdmissionReview"]
    request: AdmissionRequest


class AdmissionResponse(_Model):
    uid: str
    allowed: bool
    status: Optional[dict[str, Any]] = None  # {"code": 403, "reason": ..., "message": ...} when denied
    warnings: Optional[list[str]] = None
    patch: Optional[str] = None  # base64 of a JSONPatch
    patchType: Optional[Literal["JSONPatch"]] = None
    auditAnnotations: Optional[dict[str, str]] = None


class BadReview(Exception):
    """The body is not an AdmissionReview v1 tfguard can answer: a 4xx, with why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_review(body: bytes) -> AdmissionReview:
    if not body:
        raise BadReview("empty body: expected an AdmissionReview (admission.k8s.io/v1) as JSON")
    try:
        return AdmissionReview.model_validate_json(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:5]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "body"
            problems.append(f"{where}: {err.get('msg')}")
        if any(e.get("type") == "json_invalid" for e in exc.errors(include_url=False)):
            raise BadReview("body is not valid JSON: expected an AdmissionReview (admission.k8s.io/v1)") from None
        raise BadReview(
            f"not an AdmissionReview {API_VERSION} tfguard can answer: " + "; ".join(problems)
        ) from None


def review_response(response: AdmissionResponse) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "AdmissionReview",
        "response": response.model_dump(exclude_none=True),
    }
