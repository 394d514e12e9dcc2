"""Keras `.h5` files: the root attributes Keras writes (keras_version, backend, model_config).

The HDF5 C library can crash (SIGSEGV) or spin on a corrupt file, so the attributes are read by a
child process (`python -m tfguard.compat.inspect.h5 PATH LIMIT`) under a timeout: a broken file
costs an InspectError, never the caller's process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect.keras_config import compile_facts, custom_classes, keras_classes, keras_modules
from tfguard.errors import InspectError
from tfguard.compat.inspect.files import read_head
from tfguard.compat.inspect.limits import Limits, human_size

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The superblock sits at 0 or after a user block of 512, 1024, 2048, ... bytes.
_SUPERBLOCK_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
# The child's command line, before PATH and LIMIT.
CHILD = [sys.executable, "-m", "tfguard.compat.inspect.h5"]


def is_hdf5(path: Path) -> bool:
    head = read_head(path, _SUPERBLOCK_OFFSETS[-1] + len(HDF5_SIGNATURE))
    return any(head[o : o + len(HDF5_SIGNATURE)] == HDF5_SIGNATURE for o in _SUPERBLOCK_OFFSETS)


def read_root_attributes(path: str, attribute_limit: int) -> dict[str, Any]:
    """In the child: {"keras_version", "backend", "model_config", "training_config"} (text or None),
    or {"error": problem}."""
    import h5py

    def text(attrs, name: str) -> Optional[str]:
        if name not in attrs:
            return None
        size = attrs.get_id(name).get_storage_size()
        if size > attribute_limit:
            raise ValueError(f"attribute {name} is {human_size(size)}, over the {human_size(attribute_limit)} limit")
        value = attrs[name]
        if hasattr(value, "tolist"):  # a numpy scalar or array
            value = value.tolist()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value if isinstance(value, str) else None

    try:
        with h5py.File(path, "r") as f:
            return {
                "keras_version": text(f.attrs, "keras_version"),
                "backend": text(f.attrs, "backend"),
                "model_config": text(f.attrs, "model_config"),
                "training_config": text(f.attrs, "training_config"),
            }
    except ValueError as exc:
        if str(exc).startswith("attribute "):
            return {"error": str(exc)}
        return {"error": f"unreadable HDF5 file: {_first_line(exc)}"}
    except Exception as exc:  # noqa: BLE001 - any failure of the HDF5 library is a broken file
        return {"error": f"unreadable HDF5 file: {_first_line(exc)}"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _read_in_child(path: Path, limits: Limits) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    try:
        done = subprocess.run(
            [*CHILD, str(path), str(limits.h5_attribute_bytes)],
            capture_output=True, text=True, timeout=limits.h5_seconds, env=env,
        )
    except subprocess.TimeoutExpired:
        raise InspectError(path, f"reading the HDF5 file took over {limits.h5_seconds} s: corrupt or hostile") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise InspectError(path, f"corrupt HDF5 file: the HDF5 library crashed reading it ({name})")
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise InspectError(path, f"reading the HDF5 file failed: {tail}") from None
    if "error" in result:
        raise InspectError(path, result["error"])
    return result


def _json_attribute(path: Path, name: str, text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise InspectError(path, f"the {name} attribute is not valid JSON") from None


def inspect_h5(path: Path, limits: Limits) -> ModelFacts:
    if not is_hdf5(path):
        raise InspectError(path, "not an HDF5 file (no HDF5 signature)")
    attributes = _read_in_child(path, limits)
    model = _json_attribute(path, "model_config", attributes.get("model_config"))
    training = _json_attribute(path, "training_config", attributes.get("training_config"))
    return ModelFacts(
        path=str(path),
        format="h5",
        keras_version=attributes.get("keras_version"),
        keras_format="h5",
        keras_backend=attributes.get("backend"),
        weights_only=model is None,
        keras_modules=keras_modules(model) if isinstance(model, dict) else None,
        keras_classes=keras_classes(model) if model is not None else {},
        keras_custom_classes=custom_classes(model) if model is not None else None,
        keras_compile=compile_facts(training),
    )


if __name__ == "__main__":
    print(json.dumps(read_root_attributes(sys.argv[1], int(sys.argv[2]))))
