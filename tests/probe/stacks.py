"""The real broken TensorFlow stacks the probe tests run against.

Each is its own cached venv (harness.tfenvs.venv, keyed by recipe); the ones that need
a file removed or corrupted are built under a distinct name and mutated once, guarded by a
marker file, so the shared healthy venvs are never touched.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from harness.tfenvs import BROKEN_STACKS, OLD_TF, tf_python, venv

TF_OLD = f"tensorflow-cpu=={OLD_TF}"


def healthy_old() -> Path:
    return tf_python(OLD_TF)


def numpy2_under_old_tf() -> Path:
    """TF 2.15 was compiled against NumPy 1.x; NumPy 2 breaks its import."""
    return venv("tf215-numpy2", [TF_OLD], overrides=list(BROKEN_STACKS["tf2.15-numpy2"][1]))


def keras3_over_old_tf() -> Path:
    """Keras 3 installed over TF 2.15, whose tf.keras expects Keras 2."""
    return venv("tf215-keras3", [TF_OLD], overrides=list(BROKEN_STACKS["tf2.15-keras3"][1]))


def no_tensorflow() -> Path:
    return venv("no-tensorflow", ["packaging"])


def _site_packages(python: Path) -> Path:
    return Path(glob.glob(str(python.parent.parent / "lib" / "python3.*" / "site-packages"))[0])


def _mutate_once(python: Path, mutation: str, apply) -> Path:
    marker = python.parent.parent / f".tfguard-mutated-{mutation}"
    if not marker.exists():
        apply(_site_packages(python))
        marker.write_text(mutation + "\n")
    return python


def missing_framework_library() -> Path:
    """libtensorflow_framework.so.2 deleted: the import fails with `cannot open shared object file`."""
    python = venv("tf215-no-framework-so", [TF_OLD])

    def remove(site: Path) -> None:
        for lib in (site / "tensorflow").glob("libtensorflow_framework.so*"):
            lib.unlink()

    return _mutate_once(python, "no-framework-so", remove)


def corrupt_core_library() -> Path:
    """The executable code of _pywrap_tensorflow_internal.so zeroed: the import dies of a signal."""
    python = venv("tf215-corrupt-pywrap", [TF_OLD])

    def corrupt(site: Path) -> None:
        lib = site / "tensorflow" / "python" / "_pywrap_tensorflow_internal.so"
        _own_copy(lib)
        offset, size = _text_section(lib)
        with open(lib, "r+b") as f:
            f.seek(offset)
            f.write(b"\x00" * size)

    return _mutate_once(python, "corrupt-pywrap", corrupt)


def _own_copy(path: Path) -> None:
    """Give `path` its own inode before it is written in place.

    uv hardlinks installed files from its cache into every venv: writing through the link would
    corrupt the cache and every healthy TF venv along with this one.
    """
    if path.stat().st_nlink > 1:
        copy = path.with_name(path.name + ".tfguard-copy")
        shutil.copyfile(path, copy)
        os.replace(copy, path)
    assert path.stat().st_nlink == 1, f"{path} is still shared with another venv"


def _text_section(path: Path) -> tuple[int, int]:
    """File offset and size of the ELF .text section (64-bit little-endian)."""
    import struct

    with open(path, "rb") as f:
        data = f.read(64)
        (shoff,) = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sections = [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]
        strtab = sections[shstrndx]
        f.seek(strtab[4])
        names = f.read(strtab[5])
    for name_off, _type, _flags, _addr, offset, size, *_ in sections:
        name = names[name_off:names.index(b"\x00", name_off)]
        if name == b".text":
            return offset, size
    raise ValueError(f"{path}: no .text section")


ALL = {
    "healthy_old": healthy_old,
    "numpy2": numpy2_under_old_tf,
    "keras3": keras3_over_old_tf,
    "no_tf": no_tensorflow,
    "missing_lib": missing_framework_library,
    "corrupt": corrupt_core_library,
}

if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or ALL:
        print(name, ALL[name](), flush=True)
    os._exit(0)
