"""Keras `.h5` files: the root attributes Keras writes (keras_version, backend, model_config)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect.errors import InspectError
from tfguard.compat.inspect.files import read_head
from tfguard.compat.inspect.limits import Limits, human_size

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# The superblock sits at 0 or after a user block of 512, 1024, 2048, ... bytes.
_SUPERBLOCK_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)


def is_hdf5(path: Path) -> bool:
    head = read_head(path, _SUPERBLOCK_OFFSETS[-1] + len(HDF5_SIGNATURE))
    return any(head[o : o + len(HDF5_SIGNATURE)] == HDF5_SIGNATURE for o in _SUPERBLOCK_OFFSETS)


def _text_attribute(attrs: Any, name: str, path: Path, limits: Limits) -> Optional[str]:
    if name not in attrs:
        return None
    size = attrs.get_id(name).get_storage_size()
    if size > limits.h5_attribute_bytes:
        raise InspectError(path, f"attribute {name} is {human_size(size)}, over the {human_size(limits.h5_attribute_bytes)} limit")
    value = attrs[name]
    if hasattr(value, "tolist"):  # a numpy scalar or array
        value = value.tolist()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def inspect_h5(path: Path, limits: Limits) -> ModelFacts:
    if not is_hdf5(path):
        raise InspectError(path, "not an HDF5 file (no HDF5 signature)")
    import h5py  # only here: it pulls in numpy

    try:
        with h5py.File(path, "r") as f:
            keras_version = _text_attribute(f.attrs, "keras_version", path, limits)
            backend = _text_attribute(f.attrs, "backend", path, limits)
            has_config = "model_config" in f.attrs
    except InspectError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise InspectError(path, f"unreadable HDF5 file: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
    return ModelFacts(
        path=str(path),
        format="h5",
        keras_version=keras_version,
        keras_format="h5",
        keras_backend=backend,
        weights_only=not has_config,
    )
