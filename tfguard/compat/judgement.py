"""The facts of one evaluate() call, resolved once, and the findings the rules add to them."""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Iterable, Optional

from tfguard.compat import loaders as L
from tfguard.compat import releases
from tfguard.compat.codes import CODES
from tfguard.compat.facts import Finding, ModelFacts, StackFacts

KERAS_FILE_FORMATS = ("keras_v3", "h5")
# Keras model classes rebuilt through from_config (whose config is no constructor call); any other
# model class is a subclass, revived from the object graph.
KERAS_CONFIG_MODELS = frozenset({"Functional", "Model", "Sequential"})
_LISTED = 10  # names listed in a message; details carry them all
_VERSION = r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?"


def version_key(version: Optional[str]) -> Optional[tuple[int, int, int]]:
    """(major, minor, patch) of "2.15.1", "2.16.0rc0", "2.15.0.post1"; None if not a version."""
    match = re.match(_VERSION, version or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def major(version: Optional[str]) -> Optional[int]:
    key = version_key(version)
    return key[0] if key else None


def listing(names: Iterable[str], describe=lambda n: n) -> str:
    names = list(names)
    shown = ", ".join(describe(n) for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


class Judgement:
    def __init__(self, model: Optional[ModelFacts], stack: StackFacts, loader: str, gpu: str, name: Optional[str]):
        self.model = model
        self.stack = stack
        self.requested_loader = loader
        self.gpu = gpu
        self.findings: list[Finding] = []
        self.unknown = False
        self.imports: frozenset[str] = frozenset()  # modules the server imports before loading
        self.imports_known = False  # False: a Python server may import more than `imports`

        self.tf = stack.tensorflow_version
        self.tf_key = version_key(self.tf)
        self.release = releases.release(self.tf) if self.tf_key else None
        self.measured = bool(self.release is not None and self.release.measured)

        self.model_label = f"model {name or (model.path if model else None) or '(unnamed)'}"
        if stack.image and self.tf:
            self.runtime_label = f"image {stack.image} (TensorFlow {self.tf})"
        elif stack.image:
            self.runtime_label = f"image {stack.image}"
        else:
            self.runtime_label = f"TensorFlow {self.tf}" if self.tf else "the runtime"

        # A model server without Python (TF Serving) runs its own loader and nothing else.
        self.serving_only = stack.loaders is not None and "keras" not in stack.loaders
        self.loader = self._effective_loader()
        self.keras_major, self.keras_major_from = self._runtime_keras_major()

    def add(self, code: str, severity: str, message: str, fix: Optional[str] = None, **details: Any) -> None:
        self.findings.append(
            Finding(code=code, severity=severity, message=message, fix=fix or CODES[code].fix, details=details)
        )

    def _runtime_keras_major(self) -> tuple[Optional[int], str]:
        """What the loader's Keras is in the image: 2 or 3, and where that fact came from."""
        stack, release = self.stack, self.release
        if self.loader in L.LEGACY_KERAS:
            return 2, "the tf-keras package the loader names"
        if stack.tf_keras_major in (2, 3):
            return stack.tf_keras_major, "the image's facts"
        if self.tf_key is None:
            return None, ""
        if self.tf_key < (2, 16) and major(stack.keras_version) in (2, 3):
            return major(stack.keras_version), "the image's keras package"  # keras *is* tf.keras there
        if release is not None and release.keras_major in (2, 3):
            return release.keras_major, f"TensorFlow {release.series}'s wheel"
        # TensorFlow 2.16 made Keras 3 the tf.keras of a plain install (release notes of 2.16.1).
        return (3 if self.tf_key >= (2, 16) else 2), "the release number"

    def _effective_loader(self) -> Optional[str]:
        if self.serving_only:
            return L.SERVING
        requested = L.canonical(self.requested_loader)
        if requested in L.LOADERS:
            return requested
        fmt = self.model.format if self.model else None
        if fmt in KERAS_FILE_FORMATS:
            return L.KERAS
        if fmt == "saved_model":
            return L.TF2
        return None

    # --- helpers over the model ---

    @property
    def has_model_facts(self) -> bool:
        m = self.model
        return m is not None and bool(m.format or m.tensorflow_version or m.ops or m.keras_version)

    @property
    def loads_saved_model(self) -> bool:
        return self.loader in L.SAVED_MODEL_LOADERS

    @property
    def loads_with_keras(self) -> bool:
        return self.loader in L.KERAS_LOADERS

    @property
    def loader_call(self) -> str:
        return L.CALLS.get(self.loader or "", "the loader")

    def producer_newer(self) -> Optional[bool]:
        """Whether the model's producer release is newer than the runtime's (None: unknown)."""
        m, release = self.model, self.release
        produced = version_key(m.tensorflow_version) if m else None
        if produced and self.tf_key:
            # Patch releases of a series register the same ops: only the series can be newer.
            return produced[:2] > self.tf_key[:2]
        if m and m.graph_producer is not None and release is not None and release.graph_def_version is not None:
            return m.graph_producer > release.graph_def_version
        return None
