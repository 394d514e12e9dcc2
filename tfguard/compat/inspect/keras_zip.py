"""`.keras` zip files (Keras 2.12+ "keras_v3" format and Keras 3): metadata.json and config.json."""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

from tfguard.compat.facts import ModelFacts
from tfguard.compat.inspect.keras_config import compile_facts, custom_classes, keras_classes, keras_modules
from tfguard.errors import InspectError
from tfguard.compat.inspect import zip_members
from tfguard.compat.inspect.limits import Limits, MiB, human_size

CONFIG_JSON = "config.json"
METADATA_JSON = "metadata.json"
# Below this size a high compression ratio is harmless (and common: runs of spaces).
_RATIO_FLOOR = 1 * MiB


def _size_problem(info, limits: Limits) -> Optional[str]:
    """What is wrong with the sizes a member (a ZipInfo or a zip_members.Member) declares."""
    if info.file_size > limits.zip_json_bytes:
        return f"declares {human_size(info.file_size)}, over the {human_size(limits.zip_json_bytes)} limit"
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
        return f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 looks like a zip bomb"
    return None


def _read_member(archive, info, path: str, limits: Limits) -> bytes:
    import zipfile
    import zlib

    where = f"{path} ({info.filename})"
    problem = _size_problem(info, limits)
    if problem:
        raise InspectError(where, problem)
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


def inspect_keras_zip(path: str, limits: Limits) -> ModelFacts:
    texts = _members_read_directly(path, limits) or _members_read_with_zipfile(path, limits)
    config = _json_object(texts[CONFIG_JSON], f"{path} ({CONFIG_JSON})")
    if not isinstance(config.get("class_name"), str):
        raise InspectError(f"{path} ({CONFIG_JSON})", "names no model class (no class_name)")
    metadata: dict[str, Any] = {}
    if METADATA_JSON in texts:
        metadata = _json_object(texts[METADATA_JSON], f"{path} ({METADATA_JSON})")
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


def _members_read_directly(path: str, limits: Limits) -> Optional[dict[str, bytes]]:
    """config.json and metadata.json by zip_members; None where zipfile should read the archive
    (it then also says what is wrong, if anything is)."""
    try:
        with open(path, "rb") as f:
            found = zip_members.members(f, os.fstat(f.fileno()).st_size, limits.zip_members)
            if found is None:
                return None
            by_name = {m.filename: m for m in found}
            texts = {}
            for name in (CONFIG_JSON, METADATA_JSON):
                member = by_name.get(name)
                if member is None:
                    continue
                data = None if _size_problem(member, limits) else zip_members.read(f, member, limits.zip_json_bytes)
                if data is None:
                    return None
                texts[name] = data
    except OSError:
        return None
    return texts if CONFIG_JSON in texts else None


def _members_read_with_zipfile(path: str, limits: Limits) -> dict[str, bytes]:
    import zipfile
    import zlib

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
        return {name: _read_member(archive, members[name], path, limits)
                for name in (CONFIG_JSON, METADATA_JSON) if name in members}
