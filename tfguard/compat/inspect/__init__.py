"""Read TensorFlow and Keras models without importing TensorFlow.

    facts = inspect_model("models/resnet/1")     # a SavedModel directory
    facts = inspect_model("model.keras")         # a Keras zip (Keras 2.12+ and Keras 3)
    facts = inspect_model("model.h5")            # a Keras HDF5 file

Anything that is not a readable model (missing, not a model, truncated, hostile) raises
InspectError with a message naming the file and the problem; time and memory stay bounded
(see Limits).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard.compat.facts import ModelFacts
from tfguard.errors import InspectError
from tfguard.compat.inspect.files import directory_digest, directory_files, file_digest, plain_path, read_head, stat_path
from tfguard.compat.inspect.limits import Limits

__all__ = ["InspectError", "Limits", "inspect_model"]

only_own_messages_here = False  # see only_own_messages
ZIP_SIGNATURE = b"PK\x03\x04"
EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"


def only_own_messages() -> None:
    """Declare that this process makes no protobuf message classes but inspection's own (`tfguard
    inspect` and `tfguard check` do: they parse one model and exit), before any is made.

    The first message class a process makes has protobuf import its well-known types (Any,
    Timestamp, ... with `datetime`, `calendar` and `typing`: some 10 ms of a 90 ms `tfguard check`)
    and keep their table for good. Inspection's schema has none of those types, so in such a process
    protobuf is shown an empty table instead; a process that uses well-known types (TensorFlow's
    own protos, say) must never call this."""
    global only_own_messages_here
    only_own_messages_here = True


def inspect_model(
    path: "os.PathLike[str] | str", limits: Optional[Limits] = None, digest: bool = True
) -> ModelFacts:
    """The facts of the model at `path`; `digest=False` skips hashing the model files."""
    # each format's reader is imported on its own branch: a .keras file needs no protobuf, a
    # SavedModel no zipfile or subprocess
    from tfguard.compat.inspect.savedmodel import SAVED_MODEL_PB, inspect_saved_model, is_saved_model_dir

    limits = limits or Limits.from_env()
    path = plain_path(path)
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        if not is_saved_model_dir(path):
            raise InspectError(path, _not_a_model_directory(path))
        files = directory_files(path, limits) if digest else []
        with _known_format("saved_model"):
            facts = inspect_saved_model(path, limits)
        facts.digest = directory_digest(files) if digest else None
        return facts
    if not stat.S_ISREG(st.st_mode):
        raise InspectError(path, "not a regular file or directory (a device, pipe or socket)")
    if os.path.basename(path) == SAVED_MODEL_PB:
        return inspect_model(os.path.dirname(path) or ".", limits, digest)
    head = read_head(path, 4)
    if head in (ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE):
        from tfguard.compat.inspect.keras_zip import inspect_keras_zip

        with _known_format("keras_v3"):
            facts = inspect_keras_zip(path, limits)
    else:
        from tfguard.compat.inspect.h5 import inspect_h5, is_hdf5

        if is_hdf5(path):
            with _known_format("h5"):
                facts = inspect_h5(path, limits)
        elif path.endswith(".h5"):
            raise InspectError(path, "not an HDF5 file (no HDF5 signature)")
        elif path.endswith(".keras"):
            raise InspectError(path, "not a zip archive (a .keras file is one)")
        else:
            raise InspectError(
                path, "not a model: expected a SavedModel directory, a .keras zip or a Keras .h5 file"
            )
    facts.digest = file_digest(path) if digest else None
    return facts


class _known_format:  # noqa: N801 - used as a `with` statement, like contextlib's helpers
    """An InspectError raised while reading a file of format `fmt` says which format it was.
    (A class, not contextlib.contextmanager: contextlib is not otherwise imported by `tfguard check`.)"""

    __slots__ = ("fmt",)

    def __init__(self, fmt: str):
        self.fmt = fmt

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, InspectError):
            error.format = error.format or self.fmt
        return False


def _not_a_model_directory(path: str) -> str:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        names = []
    hints = [n for n in names if n.endswith((".keras", ".h5"))]
    if hints:
        return f"not a SavedModel (no saved_model.pb); did you mean {os.path.join(path, hints[0])}?"
    subdirs = [n for n in names if os.path.exists(os.path.join(path, n, "saved_model.pb"))]
    if subdirs:
        return f"not a SavedModel (no saved_model.pb); did you mean {os.path.join(path, subdirs[-1])} (a version directory)?"
    return "not a SavedModel directory: no saved_model.pb or saved_model.pbtxt"
