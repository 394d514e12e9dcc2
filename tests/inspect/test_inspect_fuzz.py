"""The SavedModel reader on random and mutated bytes: it succeeds or raises InspectError, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_synthetic import keras_metadata_bytes, saved_model_message, write_saved_model

from tfguard.compat.inspect import InspectError, inspect_model
from tfguard.compat.inspect.savedmodel import facts_from_saved_model, keras_metadata, parse_saved_model

VALID = saved_model_message(
    nodes=[("x", "Placeholder", ["dtype", "shape"]), ("c", "StatefulPartitionedCall", ["f"])],
    functions={"__inference_f_1": [("m", "MatMul", ["T"]), ("r", "Relu", ["T"])]},
    bad_consumers=[3],
).SerializeToString()


def read(data: bytes) -> None:
    try:
        facts = facts_from_saved_model(parse_saved_model(data))
    except InspectError:
        return
    assert facts.ops == sorted(set(facts.ops))


@st.composite
def mutated(draw):
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 12))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    read(data)


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_mutated_saved_models(data):
    read(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_random_keras_metadata(data):
    try:
        keras_metadata(data)
    except InspectError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.binary(max_size=64))
def test_whole_directory_reader(saved_model_pb, metadata_suffix):
    with tempfile.TemporaryDirectory() as tmp:
        model = write_saved_model(Path(tmp) / "m", keras_metadata=keras_metadata_bytes()[:20] + metadata_suffix)
        (model / "saved_model.pb").write_bytes(saved_model_pb)
        try:
            inspect_model(model)
        except InspectError:
            pass


PBTXT = b"""saved_model_schema_version: 1
meta_graphs {
  meta_info_def { tags: "serve" tensorflow_version: "2.12.0" }
  graph_def {
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    library { function { signature { name: "f" } node_def { op: "Relu" attr { key: "T" value { list { i: [1, 2] } } } } } }
    versions { producer: 1395 min_consumer: 12 bad_consumers: 3 }
  }
  signature_def { key: "serving_default" value { method_name: "predict" } }
}
"""


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_pbtxt(data):
    from tfguard.compat.inspect.savedmodel import parse_saved_model_text

    text = bytearray(PBTXT)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(text) - 1))
        text[at : at + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=4) | st.sampled_from(
            [b"{", b"}", b":", b'"', b"[", b"]", b"99999999999999999999999", b"-", b"nan", b"\\x"]))
    try:
        facts_from_saved_model(parse_saved_model_text(bytes(text)))
    except InspectError:
        pass
