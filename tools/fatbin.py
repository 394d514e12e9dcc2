"""Read the CUDA code a shared object carries: the `.nv_fatbin` section of an ELF file.

A fat binary is a run of containers (a 16-byte header: magic 0xBA55ED50, version 1, header size,
size of what follows), each holding entries: a header naming the kind (1: PTX, 2: SASS in a cubin
ELF), the architecture (80 for sm_80 / compute_80) and, for PTX, the PTX ISA version; then the
payload, possibly compressed. Only the entry headers are read: nothing is decompressed.

    python tools/fatbin.py libtensorflow_cc.so.2      # {"sass": ["sm_50", ...], "ptx": [...], ...}
"""

from __future__ import annotations

import json
import mmap
import struct
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

FATBIN_MAGIC = 0xBA55ED50
KIND_PTX, KIND_ELF = 1, 2


@dataclass(frozen=True)
class Entry:
    kind: int  # KIND_PTX or KIND_ELF
    arch: int  # 80 for sm_80 / compute_80
    version: tuple[int, int]  # PTX ISA version of a PTX entry; the cubin ABI version of an ELF one
    compressed: bool


def section(path: Path, name: str = ".nv_fatbin") -> tuple[int, int] | None:
    """(offset, size) of the named section of a 64-bit little-endian ELF file, or None."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        shoff, = struct.unpack_from("<Q", head, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        headers = [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]
        names_at, names_size = headers[shstrndx][4], headers[shstrndx][5]
        f.seek(names_at)
        names = f.read(names_size)
        for h in headers:
            end = names.find(b"\0", h[0])
            if names[h[0]:end].decode("latin-1") == name:
                return h[4], h[5]
    return None


def entries(data: bytes | mmap.mmap) -> Iterator[Entry]:
    """Every entry of every container in a `.nv_fatbin` section (containers are 8-byte aligned;
    the bytes between them are padding)."""
    at, end = 0, len(data)
    while at + 16 <= end:
        magic, version, header_size, fat_size = struct.unpack_from("<IHHQ", data, at)
        if magic != FATBIN_MAGIC or version != 1:
            at += 8
            continue
        entry, stop = at + header_size, min(at + header_size + fat_size, end)
        while entry + 64 <= stop:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
            minor, major, arch = struct.unpack_from("<HHI", data, entry + 24)
            flags, = struct.unpack_from("<Q", data, entry + 40)
            if entry_header < 64 or kind not in (KIND_PTX, KIND_ELF):
                break
            # Flag 0x2000 marks the older compression, 0x8000 the newer (zstd).
            yield Entry(kind, arch, (major, minor), bool(flags & 0xA000))
            entry += entry_header + payload
        at = max(stop, at + 16)
        at += -at % 8


def read(path: Path) -> dict:
    """The SASS and PTX targets of one shared object, with the PTX ISA versions and entry counts."""
    where = section(path)
    if where is None:
        return {"sass": [], "ptx": [], "ptx_isa": [], "entries": 0}
    offset, size = where
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as whole:
        found = Counter(entries(whole[offset:offset + size]))
    sass = sorted({e.arch for e in found if e.kind == KIND_ELF})
    ptx = sorted({e.arch for e in found if e.kind == KIND_PTX})
    isa = sorted({e.version for e in found if e.kind == KIND_PTX})
    return {
        "sass": [f"sm_{a}" for a in sass],
        "ptx": [f"compute_{a}" for a in ptx],
        "ptx_isa": [f"{major}.{minor}" for major, minor in isa],
        "entries": sum(found.values()),
        "section_bytes": size,
    }


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, json.dumps(read(Path(name))))
