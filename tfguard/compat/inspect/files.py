"""Reading model files defensively: regular files only, bounded sizes, no symlink loops.

The model digest is defined here, and the probe computes the same one:
- a single file (.keras, .h5): "sha256:" + sha256 of its bytes;
- a directory (SavedModel): sha256 over its regular files sorted by relative POSIX path, each
  contributing `path` UTF-8, a NUL byte, its size as 8 big-endian bytes, then its bytes.
  Symlinks are followed; directories are descended into (a loop is an error).
"""

from __future__ import annotations

import errno
import os
import stat

from tfguard.errors import InspectError
from tfguard.compat.inspect.limits import Limits, human_size

CHUNK = 1 << 20


def plain_path(path: "os.PathLike[str] | str") -> str:
    """`path` as text, spelled as pathlib spells it (no trailing, doubled or `.` parts; `..` kept),
    without importing pathlib: `tfguard check` would spend more on that import than on its rules."""
    text = os.fspath(path)
    root = "//" if text.startswith("//") and not text.startswith("///") else "/" if text.startswith("/") else ""
    return root + "/".join(part for part in text.split("/") if part and part != ".") or "."


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "is a directory, expected a file"
    return exc.strerror or str(exc)


def stat_path(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise InspectError(path, _os_problem(exc)) from None


def regular_file_size(path: str) -> int:
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        raise InspectError(path, "is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise InspectError(path, "not a regular file (a device, pipe or socket)")
    return st.st_size


def read_bounded(path: str, limit: int, limit_name: str) -> bytes:
    """The whole file, refusing one larger than `limit` (checked before and while reading).

    `limit_name` is the Limits field, named in the message so an honest big model can raise it.
    """
    size = regular_file_size(path)
    if size > limit:
        raise InspectError(
            path, f"{human_size(size)}, over the {human_size(limit)} limit "
            f"(TFGUARD_INSPECT_{limit_name.upper()} raises it for an honest model)"
        )
    try:
        with open(path, "rb") as f:
            # read(n) allocates n bytes up front: ask for what stat promised, plus one to see growth
            data = f.read(size + 1)
    except OSError as exc:
        raise InspectError(path, _os_problem(exc)) from None
    if len(data) != size:
        raise InspectError(path, "changed while it was being read")
    return data


def read_head(path: str, n: int) -> bytes:
    regular_file_size(path)
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as exc:
        raise InspectError(path, _os_problem(exc)) from None


def directory_files(root: str, limits: Limits) -> list[tuple[str, str, int]]:
    """(relative POSIX path, path, size) of every regular file under `root`, sorted by path."""
    found: list[tuple[str, str, int]] = []

    def visit(directory: str, prefix: str, ancestors: frozenset[str], depth: int) -> None:
        real = os.path.realpath(directory)
        if real in ancestors:
            raise InspectError(directory, f"symlink loop: leads back to {real}")
        if depth > limits.directory_depth:
            raise InspectError(directory, f"nested more than {limits.directory_depth} directories deep")
        try:
            with os.scandir(directory) as entries:
                names = sorted(e.name for e in entries)
        except OSError as exc:
            raise InspectError(directory, _os_problem(exc)) from None
        for name in names:
            path = os.path.join(directory, name)
            st = stat_path(path)
            if stat.S_ISDIR(st.st_mode):
                visit(path, f"{prefix}{name}/", ancestors | {real}, depth + 1)
            elif stat.S_ISREG(st.st_mode):
                found.append((f"{prefix}{name}", path, st.st_size))
                if len(found) > limits.model_files:
                    raise InspectError(root, f"more than {limits.model_files} files in the model directory")
            else:
                raise InspectError(path, "not a regular file (a device, pipe or socket) inside the model")

    visit(root, "", frozenset(), 0)
    found.sort(key=lambda item: item[0])
    return found


def _hash_file(h, path: str, size: int) -> None:
    read = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                read += len(chunk)
                if read > size:
                    break
                h.update(chunk)
    except OSError as exc:
        raise InspectError(path, _os_problem(exc)) from None
    if read != size:
        raise InspectError(path, "changed while it was being read")


# Below this many bytes the interpreter's own SHA-256 (6 ms a MiB here) is done before OpenSSL's
# (0.7 ms a MiB) has loaded (5 ms): the same digest either way.
_OPENSSL_PAYS_FROM = 512 << 10


def _sha256(size: int):
    if size < _OPENSSL_PAYS_FROM:
        try:
            from _sha2 import sha256  # CPython 3.12 and later
        except ImportError:
            try:
                from _sha256 import sha256
            except ImportError:
                from hashlib import sha256
        return sha256()
    import hashlib  # here, not above: `tfguard check` hashes nothing

    return hashlib.sha256()


def file_digest(path: str) -> str:
    size = regular_file_size(path)
    h = _sha256(size)
    _hash_file(h, path, size)
    return f"sha256:{h.hexdigest()}"


def directory_digest(files: list[tuple[str, str, int]]) -> str:
    h = _sha256(sum(size for _, _, size in files))
    for relative, path, size in files:
        h.update(relative.encode("utf-8", "surrogateescape") + b"\0" + size.to_bytes(8, "big"))
        _hash_file(h, path, size)
    return f"sha256:{h.hexdigest()}"
