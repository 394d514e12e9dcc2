"""The probe's stdlib protobuf reader: right on well-formed bytes, bounded and safe on hostile ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfguard.probes.probe import WireError, read_keras_metadata_pb, read_saved_model_pb


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def node(op: str, *attrs: str) -> bytes:
    return field(1, "n") + field(2, op) + b"".join(field(5, field(1, a) + field(2, b"\x08\x01")) for a in attrs)


def saved_model(*, nodes=(), functions=(), producer=1700, min_consumer=12, bad=(), tf="2.15.1", sigs=()) -> bytes:
    library = b"".join(
        field(1, field(1, field(1, name)) + b"".join(field(3, node(op)) for op in ops)) for name, ops in functions
    )
    versions = field(1, producer) + field(2, min_consumer) + b"".join(field(3, b) for b in bad)
    graph = b"".join(field(1, n) for n in nodes) + field(2, library) + field(4, versions)
    meta_info = field(1, "v1") + field(4, "serve") + field(5, tf) + field(6, "v" + tf + "-gabc")
    signature_defs = b"".join(field(5, field(1, s) + field(2, b"")) for s in sigs)
    meta_graph = field(1, meta_info) + field(2, graph) + signature_defs
    return field(1, 1) + field(2, meta_graph)


def test_reads_versions_ops_attrs_and_signatures():
    data = saved_model(
        nodes=[node("Placeholder", "dtype", "shape"), node("StatefulPartitionedCall", "f"), node("MatMul", "T")],
        functions=[("__inference_serve_12", ["MatMul", "Relu"]), ("__inference_inner_7", ["AddV2"])],
        bad=(3, 5), sigs=("serving_default", "__saved_model_init_op"),
    )
    facts = read_saved_model_pb(data)
    assert facts["saved_model_schema_version"] == 1
    assert facts["tensorflow_version"] == "2.15.1"
    assert facts["tensorflow_git_version"] == "v2.15.1-gabc"
    assert (facts["graph_producer"], facts["graph_min_consumer"], facts["graph_bad_consumers"]) == (1700, 12, [3, 5])
    assert facts["ops"] == ["AddV2", "MatMul", "Placeholder", "Relu", "StatefulPartitionedCall"]
    assert facts["op_attrs"]["Placeholder"] == ["dtype", "shape"]
    assert facts["signatures"] == ["serving_default"]


def test_a_node_calling_a_library_function_is_not_an_op():
    data = saved_model(nodes=[node("__inference_f_1")], functions=[("__inference_f_1", ["Relu"])])
    assert read_saved_model_pb(data)["ops"] == ["Relu"]


def test_packed_bad_consumers():
    versions = field(1, 10) + field(3, varint(4) + varint(300))
    data = field(2, field(2, field(4, versions)))
    assert read_saved_model_pb(data)["graph_bad_consumers"] == [4, 300]


def test_empty_bytes_are_an_empty_model():
    facts = read_saved_model_pb(b"")
    assert facts["ops"] == [] and "tensorflow_version" not in facts


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"\x80\x80\x80", "truncated varint"),
        (b"\xff" * 11, "longer than 10 bytes"),
        (field(2, b"x")[:-1], "runs past the end"),
        (varint(2 << 3 | 2) + varint(1 << 40), "runs past the end"),  # a length far beyond the buffer
        (b"\x00\x01", "field number 0"),
        (varint(2 << 3 | 3), "wire type 3"),  # groups are not used by TF's protos
        (varint(2 << 3 | 7), "wire type 7"),
    ],
)
def test_hostile_bytes_raise_wire_error(data, problem):
    with pytest.raises(WireError, match=problem):
        read_saved_model_pb(data)


def test_a_field_flood_is_cut_off_by_the_budget():
    flood = field(1, 1) * 10_000
    with pytest.raises(WireError, match="too many fields"):
        read_saved_model_pb(flood, max_fields=1_000)


def test_nested_length_that_escapes_its_parent_is_rejected():
    inner = varint(1 << 3 | 2) + varint(50) + b"abc"  # claims 50 bytes, its parent holds 5
    data = field(2, inner) + b"\x00" * 60
    with pytest.raises(WireError):
        read_saved_model_pb(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_crash_or_hang(data):
    try:
        facts = read_saved_model_pb(data, max_fields=10_000)
    except WireError:
        return
    assert isinstance(facts["ops"], list)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=400))
def test_corrupting_a_real_shape_never_crashes(junk, at):
    good = saved_model(nodes=[node("MatMul", "T")], functions=[("f", ["Relu"])])
    at = min(at, len(good))
    try:
        read_saved_model_pb(good[:at] + junk + good[at:], max_fields=10_000)
    except WireError:
        pass


def test_keras_metadata_reads_the_root_objects_json():
    root = field(2, 0) + field(3, "root") + field(4, "_tf_keras_network") + field(
        5, '{"keras_version": "2.15.0", "backend": "tensorflow", "name": "m"}')
    other = field(2, 1) + field(3, "root.layer-0") + field(5, '{"keras_version": "9"}')
    assert read_keras_metadata_pb(field(1, other) + field(1, root)) == {
        "keras_version": "2.15.0", "keras_backend": "tensorflow"}


def test_keras_metadata_with_bad_json_gives_nothing():
    assert read_keras_metadata_pb(field(1, field(3, "root") + field(5, "{not json"))) == {}
