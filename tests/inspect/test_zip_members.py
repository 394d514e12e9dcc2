"""zip_members reads what zipfile reads, or leaves the archive to zipfile: never something else."""

from __future__ import annotations

import io
import json
import random
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfguard.compat.inspect import zip_members

CONFIG = json.dumps({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense"}] * 50}}).encode()


def archive(compression=zipfile.ZIP_DEFLATED, comment=b"", prefix=b"", force_zip64=False, names=("config.json",),
            stream=False) -> bytes:
    out = io.BytesIO()
    out.write(prefix)
    target = _Unseekable(out) if stream else out
    with zipfile.ZipFile(target, "w", compression=compression) as z:
        for name in names:
            with z.open(name, "w", force_zip64=force_zip64) as member:
                member.write(CONFIG)
        z.writestr("model.weights.h5", b"\0" * 64)
        z.comment = comment
    return out.getvalue()


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in, so it writes data descriptors after each member."""

    def __init__(self, out):
        self.out = out

    def writable(self):
        return True

    def write(self, data):
        return self.out.write(data)


def direct(data: bytes, name: str = "config.json"):
    """(what zip_members read for `name`, or None if it left the archive to zipfile)."""
    f = io.BytesIO(data)
    found = zip_members.members(f, len(data), 100)
    if found is None:
        return None
    member = {m.filename: m for m in found}.get(name)
    return zip_members.read(f, member, 1 << 20) if member else None


def with_zipfile(data: bytes, name: str = "config.json"):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


@pytest.mark.parametrize("layout", [
    {}, {"compression": zipfile.ZIP_STORED}, {"comment": b"made by hand"}, {"stream": True},
    {"names": ("metadata.json", "config.json", "variables/ünïcode.json")},
    {"force_zip64": True},  # ZIP64 sizes in the local header only: the central directory is plain
    {"prefix": b"#!/bin/sh\nexec something\n"},  # written after a prefix: offsets from the file's start
])
def test_the_layouts_keras_writes_are_read_directly_and_as_zipfile_reads_them(layout):
    data = archive(**layout)
    assert direct(data) == with_zipfile(data) == CONFIG


@pytest.mark.parametrize("layout", [{"compression": zipfile.ZIP_BZIP2}, {"compression": zipfile.ZIP_LZMA}])
def test_other_compression_methods_are_left_to_zipfile(layout):
    data = archive(**layout)
    assert direct(data) is None
    assert with_zipfile(data) == CONFIG


def test_an_archive_after_other_data_is_left_to_zipfile():
    data = b"#!/bin/sh\nexec something\n" + archive()  # offsets from the archive's start, not the file's
    assert direct(data) is None
    assert with_zipfile(data) == CONFIG


def test_an_archive_with_a_zip64_end_record_is_left_to_zipfile(monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # as if it held more than 65,535 members
    data = archive()
    assert b"PK\x06\x06" in data
    assert direct(data) is None
    assert with_zipfile(data) == CONFIG


def test_a_member_whose_bytes_do_not_match_its_crc_is_left_to_zipfile():
    data = bytearray(archive(compression=zipfile.ZIP_STORED))
    at = data.index(CONFIG[:20])
    data[at + 5] ^= 0xFF
    assert direct(bytes(data)) is None
    with pytest.raises(zipfile.BadZipFile):
        with_zipfile(bytes(data))


def test_an_encrypted_member_is_left_to_zipfile():
    data = bytearray(archive(compression=zipfile.ZIP_STORED))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the encrypted bit of the general purpose flags
    assert direct(bytes(data)) is None


def test_more_members_than_the_limit_are_left_to_zipfile():
    data = archive(names=[f"m{i}.json" for i in range(5)] + ["config.json"])
    f = io.BytesIO(data)
    assert zip_members.members(f, len(data), 3) is None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_archive_is_read_as_zipfile_reads_it_or_left_to_zipfile(data):
    original = bytearray(archive(compression=data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))))
    for _ in range(data.draw(st.integers(1, 4))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    damaged = bytes(original)
    try:
        read = direct(damaged)
    except Exception as exc:  # noqa: BLE001 - the reader must not raise on anything
        pytest.fail(f"zip_members raised {exc!r}")
    if read is not None:
        assert read == with_zipfile(damaged)


def test_an_archive_of_many_members_is_read_in_time_linear_in_its_size():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(20_000):
            z.writestr(f"m{i}", b"")
        z.writestr("config.json", CONFIG)
    data = out.getvalue()
    f = io.BytesIO(data)
    found = zip_members.members(f, len(data), 100_000)  # once quadratic: 2 s for these, 46 s for 100,000
    assert len(found) == 20_001
    assert zip_members.read(f, found[-1], 1 << 20) == CONFIG


def test_a_member_whose_compressed_bytes_pass_the_limit_is_left_to_zipfile():
    noise = random.Random(7).randbytes(1000)  # deflate makes it larger
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", noise)
    data = out.getvalue()
    f = io.BytesIO(data)
    member = zip_members.members(f, len(data), 100)[0]
    assert member.file_size == 1000 < member.compress_size
    assert zip_members.read(f, member, member.compress_size) == noise
    assert zip_members.read(f, member, 1000) is None
