"""`.keras` zip files (Keras 2.12+ "keras_v3" format and Keras 3): metadata.json and config.json."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect.keras_config import compile_facts, custom_classes, keras_classes, keras_modules
from tfguard.errors import InspectError
from tfguard.compat.inspect.limits import Limits, MiB, human_size

CONFIG_JSON = "config.json"
METADATA_JSON = "metadata.json"
# Below this size a high compression ratio is harmless (and common: runs of spaces).
_RATIO_FLOOR = 1 * MiB


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limits: Limits) -> bytes:
    where = f"{path} ({info.filename})"
    if info.file_size > limits.zip_json_bytes:
        raise InspectError(where, f"declares {human_size(info.file_size)}, over the {human_size(limits.zip_json_bytes)} limit")
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
        raise InspectError(
            where, f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 looks like a zip bomb"
        )
    chunks, total = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(1 * MiB):
                total += len(chunk)
                if total > limits.zip_json_bytes:
                    raise InspectError(where, f"expands past the {human_size(limits.zip_json_bytes)} limit")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise InspectError(where, f"cannot be extracted: {exc}") from None
    return b"".join(chunks)


def _json_object(data: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise InspectError(where, "is not valid JSON") from None
    if not isinstance(value, dict):
        raise InspectError(where, "is not a JSON object")
    return value


def inspect_keras_zip(path: Path, limits: Limits) -> ModelFacts:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise InspectError(path, f"not a valid zip archive (a .keras file is one): {exc}") from None
    except OSError as exc:
        raise InspectError(path, exc.strerror or str(exc)) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.zip_members:
            raise InspectError(path, f"holds {len(infos)} members, over the {limits.zip_members} limit")
        members = {info.filename: info for info in infos}
        if CONFIG_JSON not in members:
            raise InspectError(path, f"not a Keras model archive: no {CONFIG_JSON} inside")
        config = _json_object(_read_member(archive, members[CONFIG_JSON], path, limits), f"{path} ({CONFIG_JSON})")
        if not isinstance(config.get("class_name"), str):
            raise InspectError(f"{path} ({CONFIG_JSON})", "names no model class (no class_name)")
        metadata: dict[str, Any] = {}
        if METADATA_JSON in members:
            metadata = _json_object(
                _read_member(archive, members[METADATA_JSON], path, limits), f"{path} ({METADATA_JSON})"
            )
    keras_version = metadata.get("keras_version")
    model = {k: v for k, v in config.items() if k != "compile_config"}  # compiling is a separate step
    return ModelFacts(
        path=str(path),
        format="keras_v3",
        keras_version=keras_version if isinstance(keras_version, str) else None,
        keras_format="keras_v3",
        keras_modules=keras_modules(config),
        keras_classes=keras_classes(model),
        keras_custom_classes=custom_classes(model),
        keras_compile=compile_facts(config.get("compile_config")),
    )
