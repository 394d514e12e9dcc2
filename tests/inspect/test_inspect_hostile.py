"""Hostile and broken inputs: each gets an InspectError naming the file and the problem.

Never a traceback, a hang or unbounded memory: sizes are checked before reading, reads are
capped, and nothing blocks on a pipe or device.
"""

from __future__ import annotations

import os
import zipfile

import pytest
from inspect_synthetic import saved_model_message, write_h5, write_keras_zip, write_saved_model

from tfguard.compat.inspect import InspectError, Limits, inspect_model


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def saved_model_with_pb(tmp_path, data: bytes):
    model = write_saved_model(tmp_path / "m")
    (model / "saved_model.pb").write_bytes(data)
    return model


def expect_error(path, pattern: str, limits: Limits | None = None) -> InspectError:
    with pytest.raises(InspectError, match=pattern) as error:
        inspect_model(path, limits=limits)
    return error.value


# --- missing, wrong kind, not a model ---


def test_missing_path(tmp_path):
    expect_error(tmp_path / "nope", r"nope: no such file or directory")


def test_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    expect_error(tmp_path, r"not a SavedModel directory: no saved_model.pb")


def test_directory_holding_a_version_directory_points_at_it(tmp_path):
    write_saved_model(tmp_path / "1")
    expect_error(tmp_path, r"did you mean .*/1 \(a version directory\)")


def test_file_that_is_not_a_model(tmp_path):
    (tmp_path / "model.txt").write_text("just text")
    expect_error(tmp_path / "model.txt", r"model.txt: not a model: expected a SavedModel directory")


def test_empty_saved_model_pb(tmp_path):
    expect_error(saved_model_with_pb(tmp_path, b""), r"saved_model.pb: not a SavedModel: it holds no MetaGraphDef")


def test_saved_model_pb_that_is_a_directory(tmp_path):
    model = tmp_path / "m"
    (model / "saved_model.pb").mkdir(parents=True)
    expect_error(model, r"saved_model.pb: is a directory, expected a file")


def test_saved_model_pb_that_is_a_pipe_does_not_hang(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    os.mkfifo(model / "saved_model.pb")
    expect_error(model, r"saved_model.pb: not a regular file")


def test_saved_model_pb_linked_to_a_device_does_not_hang(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    os.symlink("/dev/zero", model / "saved_model.pb")
    expect_error(model, r"saved_model.pb: not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions do not stop root from reading; "
                    "test_unreadable_file_error_is_translated covers the same path")
def test_unreadable_saved_model_pb(tmp_path):
    model = write_saved_model(tmp_path / "m")
    (model / "saved_model.pb").chmod(0)
    expect_error(model, r"saved_model.pb: permission denied")


def test_unreadable_file_error_is_translated(tmp_path, monkeypatch):
    """The same path as above, for runs as root: an EACCES from open() becomes a clear message."""
    import builtins

    model = write_saved_model(tmp_path / "m")
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file).endswith("saved_model.pb"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    expect_error(model, r"saved_model.pb: permission denied")


# --- broken and hostile protobuf ---


def test_truncated_protobuf(tmp_path):
    data = saved_model_message().SerializeToString()
    expect_error(saved_model_with_pb(tmp_path, data[: len(data) // 2]), r"saved_model.pb: not a valid SavedModel protobuf")


def test_absurd_length_prefix(tmp_path):
    # meta_graphs (field 2, length-delimited) claiming 2**62 bytes
    data = b"\x12" + varint(2**62) + b"x" * 16
    expect_error(saved_model_with_pb(tmp_path, data), r"saved_model.pb: not a valid SavedModel protobuf")


def test_deeply_nested_groups(tmp_path):
    # 100 000 nested start-group tags of an unknown field (99): protobuf's recursion limit stops it
    data = varint(99 << 3 | 3) * 100_000
    expect_error(saved_model_with_pb(tmp_path, data), r"saved_model.pb: not a valid SavedModel protobuf")


def test_deeply_nested_messages(tmp_path):
    # an unknown length-delimited field nesting itself 10 000 levels deep
    data = b""
    for _ in range(10_000):
        data = varint(99 << 3 | 2) + varint(len(data)) + data
    model = saved_model_with_pb(tmp_path, saved_model_message().SerializeToString() + data)
    # unknown length-delimited fields are skipped, not parsed: this one is harmless
    assert inspect_model(model).ops


def test_invalid_utf8_in_an_op_name(tmp_path):
    data = saved_model_message(nodes=[("x", "Relu", [])]).SerializeToString().replace(b"Relu", b"R\xffl\xfe")
    expect_error(saved_model_with_pb(tmp_path, data), r"saved_model.pb: not a valid SavedModel protobuf")


def test_huge_saved_model_pb_is_refused_before_reading(tmp_path):
    model = write_saved_model(tmp_path / "m")
    with open(model / "saved_model.pb", "r+b") as f:
        f.truncate(3 << 29)  # sparse: 1.5 GiB declared, nothing written
    expect_error(model, r"saved_model.pb: 1.5 GiB, over the 1.0 GiB limit \(TFGUARD_INSPECT_SAVED_MODEL_BYTES raises it")


def test_a_saved_model_pb_past_protobufs_2_gib_is_unloadable_whatever_the_limit(tmp_path):
    model = write_saved_model(tmp_path / "m")
    with open(model / "saved_model.pb", "r+b") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB declared, nothing written
    with pytest.raises(InspectError, match=r"3.0 GiB: protobuf \(and so TensorFlow\) parses no message of 2 GiB") as raised:
        inspect_model(model, limits=Limits(saved_model_bytes=4 << 30))
    assert raised.value.unloadable


def test_nesting_past_protobufs_recursion_limit_is_unloadable_as_in_tensorflow(tmp_path):
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2]) + _length(len(payload)) + payload

    def saved_model_pb(depth: int) -> bytes:
        value = b""  # AttrValue{func: NameAttrList{attr: {"a": AttrValue{func: ...}}}}
        for _ in range(depth):
            value = field(10, field(2, field(1, b"a") + field(2, value)))
        node = field(1, b"x") + field(2, b"Relu") + field(5, field(1, b"f") + field(2, value))
        meta_graph = field(1, field(4, b"serve")) + field(2, field(1, node))
        return field(2, meta_graph)

    for depth, loads in ((10, True), (120, False)):
        model = saved_model_with_pb(tmp_path / str(depth), saved_model_pb(depth))
        if loads:
            assert inspect_model(model).ops == ["Relu"]
        else:
            with pytest.raises(InspectError, match="nested deeper than protobuf's recursion limit") as raised:
                inspect_model(model)
            assert raised.value.unloadable


def _length(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_size_limit_is_configurable(tmp_path):
    model = write_saved_model(tmp_path / "m")
    expect_error(model, r"saved_model.pb: \d+ bytes, over the 100 bytes limit", limits=Limits(saved_model_bytes=100))


def test_size_limit_from_the_environment(tmp_path, monkeypatch):
    model = write_saved_model(tmp_path / "m")
    monkeypatch.setenv("TFGUARD_INSPECT_SAVED_MODEL_BYTES", "100")
    with pytest.raises(InspectError, match=r"saved_model.pb: \d+ bytes, over the 100 bytes limit"):
        inspect_model(model)


def test_broken_keras_metadata(tmp_path):
    model = write_saved_model(tmp_path / "m", keras_metadata=b"\x0a\xff\xff\xff\x0f")
    expect_error(model, r"keras_metadata.pb: not a valid Keras metadata protobuf")


def test_broken_pbtxt(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "saved_model.pbtxt").write_text("meta_graphs { graph_def { node { op: ")
    expect_error(model, r"saved_model.pbtxt: not a valid SavedModel in text format")


def test_deeply_nested_pbtxt(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "saved_model.pbtxt").write_text("unknown_field { " * 5000 + "}" * 5000)
    expect_error(model, r"saved_model.pbtxt: not a valid SavedModel in text format")


# --- file system traps ---


def test_symlink_loop_inside_a_saved_model(tmp_path):
    model = write_saved_model(tmp_path / "m")
    os.symlink("..", model / "variables" / "up")
    expect_error(model, r"symlink loop")


def test_model_path_that_is_a_symlink_loop(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    expect_error(tmp_path / "a", r"a: symlink loop")


def test_saved_model_pb_that_is_a_looping_link(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    os.symlink(model / "saved_model.pb", model / "saved_model.pb")
    expect_error(model, r"m/saved_model.pb: symlink loop")


def test_too_many_files(tmp_path):
    model = write_saved_model(tmp_path / "m")
    expect_error(model, r"more than 2 files", limits=Limits(model_files=2))


# --- zip bombs and broken zips ---


def test_zip_member_declaring_more_than_the_limit(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (70 << 20))  # 70 MiB of spaces, ~70 KiB compressed
    assert path.stat().st_size < 1 << 20
    expect_error(path, r"model.keras \(config.json\): declares 70.0 MiB, over the 64.0 MiB limit")


def test_zip_member_with_a_bomb_ratio(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b"{" + b" " * (20 << 20) + b"}")
    expect_error(path, r"compression ratio \d+:1 looks like a zip bomb")


def test_zip_member_lying_about_its_size(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b'{"class_name": "Sequential", "padding": "' + b"x" * 4096 + b'"}')
        archive.filelist[0].file_size = 10  # the central directory now understates it
    expect_error(path, r"config.json\): cannot be extracted")


def test_truncated_zip(tmp_path):
    path = write_keras_zip(tmp_path / "model.keras")
    path.write_bytes(path.read_bytes()[:40])
    expect_error(path, r"model.keras: not a valid zip archive")


def test_keras_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("definitely not a zip")
    expect_error(path, r"model.keras: not a zip archive")


# --- broken HDF5 ---


def test_h5_that_is_not_hdf5(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"GIF89a" + b"\0" * 100)
    expect_error(path, r"model.h5: not an HDF5 file")


def test_truncated_h5(tmp_path):
    path = write_h5(tmp_path / "model.h5")
    path.write_bytes(path.read_bytes()[:600])
    expect_error(path, r"model.h5: unreadable HDF5 file")


def test_hdf5_library_crash_is_an_error_not_a_crash(tmp_path, monkeypatch):
    """Fuzzing Keras-written .h5 files crashes libhdf5 (SIGSEGV) now and then: it reads in a child."""
    import sys

    from tfguard.compat.inspect import h5

    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    monkeypatch.setattr(h5, "CHILD", [sys.executable, "-c", crash])
    expect_error(write_h5(tmp_path / "model.h5"), r"model.h5: corrupt HDF5 file: the HDF5 library crashed reading it \(SIGSEGV\)")


def test_hdf5_library_hang_is_cut_short(tmp_path, monkeypatch):
    import sys

    from tfguard.compat.inspect import h5

    monkeypatch.setattr(h5, "CHILD", [sys.executable, "-c", "import time; time.sleep(60)"])
    expect_error(write_h5(tmp_path / "model.h5"), r"took over 1 s: corrupt or hostile", limits=Limits(h5_seconds=1))


def test_h5_attribute_over_the_limit(tmp_path):
    import numpy as np

    # Keras writes its attributes as fixed-length byte strings, whose size HDF5 knows up front
    path = write_h5(tmp_path / "model.h5", {"keras_version": np.bytes_(b"2.15.0" + b" " * 10_000), "model_config": "{}"})
    expect_error(path, r"attribute keras_version is .* over the", limits=Limits(h5_attribute_bytes=1000))


def test_errors_print_cleanly_from_the_cli(tmp_path, capsys):
    from tfguard.cli import main

    model = saved_model_with_pb(tmp_path, b"\x12" + varint(2**62))
    assert main(["inspect", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tfguard inspect: {model / 'saved_model.pb'}: not a valid SavedModel protobuf")
    assert "Traceback" not in err
