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


def object_problems(template_path: tuple[str, ...], obj: dict[str, Any], limit: int = 3) -> list[str]:
    """Where the object breaks the shape Kubernetes gives it, in the fields tfguard reads: e.g.
    `spec.template.metadata.annotations: expected a map of strings, got a list`. The API server only
    sends well-formed objects; anyone else may send anything, and gets told what is wrong. (On every
    admission, so it checks only what tfguard reads, and cheaply.)"""
    problems: list[str] = []

    def bad(where: str, wanted: str, value: Any) -> None:
        if len(problems) < limit:
            problems.append(f"{where}: expected {wanted}, got {_type_name(value)}")

    def metadata(where: str, meta: Any) -> None:
        if meta is None:
            return
        if type(meta) is not dict:
            return bad(where, "an object", meta)
        values = meta.get("annotations")
        if values is not None and (type(values) is not dict or not all(type(v) is str for v in values.values())):
            bad(f"{where}.annotations", "a map of strings", values)
        owners = meta.get("ownerReferences")
        if owners is not None and (type(owners) is not list or not all(type(o) is dict for o in owners)):
            bad(f"{where}.ownerReferences", "a list of objects", owners)

    metadata("metadata", obj.get("metadata"))
    node: Any = obj
    where = ""
    for key in template_path:
        where = f"{where}.{key}" if where else key
        node = node.get(key)
        if node is None:
            return problems
        if type(node) is not dict:
            bad(where, "an object", node)
            return problems
    if template_path:
        metadata(f"{where}.metadata", node.get("metadata"))
    if template_path[:2] == ("spec", "jobTemplate"):
        metadata("spec.jobTemplate.metadata", obj["spec"]["jobTemplate"].get("metadata"))
    base = f"{where}.spec" if where else "spec"
    spec = node.get("spec")
    if spec is None:
        return problems
    if type(spec) is not dict:
        bad(base, "an object", spec)
        return problems
    for field in ("securityContext",):
        if spec.get(field) is not None and type(spec[field]) is not dict:
            bad(f"{base}.{field}", "an object", spec[field])
    for field in ("volumes", "containers", "initContainers", "ephemeralContainers"):
        items = spec.get(field)
        if items is None:
            continue
        if type(items) is not list:
            bad(f"{base}.{field}", "a list", items)
            continue
        for i, item in enumerate(items):
            if type(item) is not dict:
                bad(f"{base}.{field}[{i}]", "an object", item)
            elif field != "volumes":
                _container_problems(f"{base}.{field}[{i}]", item, bad)
    return problems


def _container_problems(at: str, container: dict[str, Any], bad) -> None:
    for field in ("name", "image"):
        value = container.get(field)
        if value is not None and type(value) is not str:
            bad(f"{at}.{field}", "a string", value)
    for field in ("command", "args"):
        value = container.get(field)
        if value is not None and (type(value) is not list or not all(type(c) is str for c in value)):
            bad(f"{at}.{field}", "a list of strings", value)
    for field in ("env", "envFrom", "volumeMounts", "volumeDevices", "ports"):
        value = container.get(field)
        if value is not None and type(value) is not list:
            bad(f"{at}.{field}", "a list", value)
    context = container.get("securityContext")
    if context is not None and type(context) is not dict:
        bad(f"{at}.securityContext", "an object", context)
    resources = container.get("resources")
    if resources is None:
        return
    if type(resources) is not dict:
        return bad(f"{at}.resources", "an object", resources)
    for part in ("limits", "requests"):
        quantities = resources.get(part)
        if quantities is None:
            continue
        if type(quantities) is not dict:
            bad(f"{at}.resources.{part}", "an object", quantities)
            continue
        for name, value in quantities.items():
            if type(value) not in (str, int, float):
                bad(f"{at}.resources.{part}.{str(name)[:60]}", "a quantity", value)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def review_response(response: AdmissionResponse) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "AdmissionReview",
        "response": response.model_dump(exclude_none=True),
    }
