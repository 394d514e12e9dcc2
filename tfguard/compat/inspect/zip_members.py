"""The few members inspection reads from a `.keras` zip, without the `zipfile` module.

`zipfile` imports pathlib, shutil, threading and importlib on the way (some 6 ms, a tenth of a
`tfguard check` on a .keras file) to read two small JSON members. This reader handles the layout
Keras writes, and nothing else: one disk, no ZIP64, no data before the archive, members stored or
deflated, not encrypted. Whatever it does not recognise, including anything malformed, makes it
answer None, and the caller reads the archive with `zipfile` instead, which says what is wrong in
its own words; so the two can only differ in speed.
"""

from __future__ import annotations

import struct
import zlib

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import BinaryIO, Optional

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # local file header
_LOCAL_SIGNATURE = b"PK\x03\x04"
_MAX_COMMENT = (1 << 16) - 1
_MAX_EXTRACT_VERSION = 63  # zipfile's: it refuses members that need a later one
_ZIP64_EXTRA = 0x0001
_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _COMPRESSED_PATCH, _STRONG_ENCRYPTION, _UTF8 = 0x1, 0x20, 0x40, 0x800


class Member:
    """One member of the central directory: its name, sizes and where its local header is."""

    __slots__ = ("filename", "raw_name", "flags", "method", "crc", "compress_size", "file_size", "header_offset",
                 "end_offset")

    def __init__(self, filename: str, raw_name: bytes, flags: int, method: int, crc: int, compress_size: int,
                 file_size: int, header_offset: int):
        self.filename = filename
        self.raw_name = raw_name
        self.flags = flags
        self.method = method
        self.crc = crc
        self.compress_size = compress_size
        self.file_size = file_size
        self.header_offset = header_offset
        self.end_offset = 0  # where the next member (or the central directory) starts


def members(f: BinaryIO, size: int, max_members: int) -> Optional[list[Member]]:
    """The central directory of the archive `f` (`size` bytes), in order; None for a layout this
    reader leaves to zipfile, or more than `max_members` members (zipfile's path reports that)."""
    tail_size = min(size, _END.size + _MAX_COMMENT)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return None
    _, disk, cd_disk, on_disk, count, cd_size, cd_offset, comment_length = _END.unpack_from(tail, at)
    end_offset = size - tail_size + at
    if (disk or cd_disk or on_disk != count or count > max_members or at + _END.size + comment_length != len(tail)
            or cd_offset + cd_size != end_offset  # data before the archive, or a ZIP64 record between
            or (at >= 20 and tail[at - 20:at - 16] == _ZIP64_LOCATOR_SIGNATURE)):
        return None
    f.seek(cd_offset)
    directory = f.read(cd_size)
    if len(directory) != cd_size:
        return None
    found, pos = [], 0
    for _ in range(count):
        if pos + _CENTRAL.size > cd_size:
            return None
        fields = _CENTRAL.unpack_from(directory, pos)
        if fields[0] != _CENTRAL_SIGNATURE:
            return None
        extract_version, flags, method, crc, compress_size, file_size = (
            fields[3], fields[5], fields[6], fields[9], fields[10], fields[11])
        name_length, extra_length, comment_length, disk_start, header_offset = (
            fields[12], fields[13], fields[14], fields[15], fields[18])
        if extract_version > _MAX_EXTRACT_VERSION or disk_start or header_offset >= cd_offset:
            return None
        start = pos + _CENTRAL.size
        raw = directory[start:start + name_length]
        if not _plain_extra(directory[start + name_length:start + name_length + extra_length]):
            return None
        try:
            name = raw.decode("utf-8" if flags & _UTF8 else "cp437")
        except UnicodeDecodeError:
            return None
        found.append(Member(name.split("\0", 1)[0], raw, flags, method, crc, compress_size, file_size, header_offset))
        pos = start + name_length + extra_length + comment_length
    if pos != cd_size:
        return None
    starts = sorted({m.header_offset for m in found})
    next_start = dict(zip(starts, starts[1:] + [cd_offset]))
    for m in found:  # as zipfile (3.12 on) bounds each member, against overlapping ones (a zip bomb's trick)
        m.end_offset = next_start[m.header_offset]
    return found


def _plain_extra(extra: bytes) -> bool:
    """Whether an extra field parses as zipfile parses it and holds no ZIP64 sizes."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if length + 4 > len(extra) or kind == _ZIP64_EXTRA:
            return False
        extra = extra[length + 4:]
    return True


def read(f: BinaryIO, member: Member, limit: int) -> Optional[bytes]:
    """The bytes of `member` (at most `limit`), checked against its CRC; None where zipfile should
    read it (encrypted, another compression method, a local header that disagrees, a bad CRC)."""
    if (member.flags & (_ENCRYPTED | _COMPRESSED_PATCH | _STRONG_ENCRYPTION) or member.method not in (_STORED, _DEFLATED)
            or member.file_size > limit or member.compress_size > limit):  # read whole: at most `limit` bytes
        return None
    f.seek(member.header_offset)
    header = f.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        return None
    fields = _LOCAL.unpack(header)
    name_length, extra_length = fields[10], fields[11]
    if fields[0] != _LOCAL_SIGNATURE or fields[3] != member.flags or f.read(name_length) != member.raw_name:
        return None
    data_offset = member.header_offset + _LOCAL.size + name_length + extra_length
    if data_offset + member.compress_size > member.end_offset:
        return None
    f.seek(data_offset)
    packed = f.read(member.compress_size)
    if len(packed) != member.compress_size:
        return None
    if member.method == _STORED:
        data = packed
    else:
        inflate = zlib.decompressobj(-15)
        try:
            data = inflate.decompress(packed, member.file_size + 1)
        except zlib.error:
            return None
        if not inflate.eof:
            return None
    if len(data) != member.file_size or zlib.crc32(data) != member.crc:
        return None
    return data

