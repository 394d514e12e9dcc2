"""SavedModel facts from synthetic saved_model.pb files built with tfguard's own schema."""

from __future__ import annotations

import os

import pytest
from inspect_synthetic import (
    keras_metadata_bytes,
    saved_model_message,
    write_saved_model,
)

from tfguard.compat.inspect import InspectError, inspect_model
from tfguard.compat.inspect.savedmodel import facts_from_saved_model, parse_saved_model


def test_reads_versions_signatures_and_producer(tmp_path):
    facts = inspect_model(write_saved_model(tmp_path / "m", bad_consumers=[7, 3]))

    assert facts.format == "saved_model"
    assert facts.saved_model_schema_version == 1
    assert facts.tensorflow_version == "2.15.1"
    assert facts.tensorflow_git_version == "v2.15.0-11-g63f5a65c7cd"
    assert (facts.graph_producer, facts.graph_min_consumer) == (1645, 12)
    assert facts.graph_bad_consumers == [3, 7]
    assert facts.signatures == ["serving_default"]  # the builder's init-op key is not a signature
    assert facts.keras_format is None and facts.keras_version is None
    assert facts.path == str(tmp_path / "m")


def test_ops_include_function_library_and_exclude_function_calls(tmp_path):
    saved_model = saved_model_message(
        nodes=[("x", "Placeholder", ["dtype"]), ("call", "StatefulPartitionedCall", ["f", "Tin"])],
        functions={
            "__inference_serve_42": [("mm", "MatMul", ["T", "transpose_a"]), ("inner", "__inference_helper_7", [])],
            "__inference_helper_7": [("fp", "DatasetFingerprint", []), ("r", "Relu", ["T"])],
        },
    )
    facts = inspect_model(write_saved_model(tmp_path / "m", saved_model))

    assert facts.ops == ["DatasetFingerprint", "MatMul", "Placeholder", "Relu", "StatefulPartitionedCall"]
    assert "__inference_helper_7" not in facts.op_attrs


def test_op_attrs_are_the_union_over_nodes(tmp_path):
    saved_model = saved_model_message(
        nodes=[("a", "MatMul", ["T"]), ("b", "MatMul", ["transpose_a", "T"]), ("c", "NoOp", [])],
        functions={"f": [("d", "MatMul", ["grad_b"])]},
    )
    facts = inspect_model(write_saved_model(tmp_path / "m", saved_model))

    assert facts.op_attrs == {"MatMul": ["T", "grad_b", "transpose_a"], "NoOp": []}


def test_serving_meta_graph_is_chosen_among_several(tmp_path):
    training = saved_model_message(nodes=[("t", "ApplyAdam", ["T"])], tags=["train"]).meta_graphs[0]
    saved_model = saved_model_message(nodes=[("s", "Relu", ["T"])], tags=["serve"], extra_meta_graphs=[training])

    assert inspect_model(write_saved_model(tmp_path / "m", saved_model)).ops == ["Relu"]


def test_untagged_meta_graphs_are_all_counted(tmp_path):
    other = saved_model_message(nodes=[("t", "Sigmoid", ["T"])], tags=["gpu"]).meta_graphs[0]
    saved_model = saved_model_message(nodes=[("s", "Relu", ["T"])], tags=["tpu"], extra_meta_graphs=[other])

    assert inspect_model(write_saved_model(tmp_path / "m", saved_model)).ops == ["Relu", "Sigmoid"]


def user_object(identifier: bytes, metadata: bytes = b"") -> bytes:
    """SavedObject{user_object: SavedUserObject{identifier, metadata}}, serialized."""
    inner = b"\x0a" + bytes([len(identifier)]) + identifier
    if metadata:
        inner += b"\x1a" + bytes([len(metadata)]) + metadata
    return b"\x22" + bytes([len(inner)]) + inner


def test_keras_objects_whose_metadata_is_not_in_the_object_graph_are_read_from_its_user_objects(tmp_path):
    saved_model = saved_model_message()
    saved_model.meta_graphs[0].object_graph_def.nodes.extend(
        [user_object(b"_generic_user_object"), user_object(b"_tf_keras_layer"), user_object(b"_tf_keras_layer"),
         user_object(b"_tf_keras_network", b'{"class_name": "Functional"}'), b"\x3a\x00"])  # and a variable
    facts = inspect_model(write_saved_model(tmp_path / "m", saved_model))

    assert facts.keras_objects_without_metadata == ["_tf_keras_layer"]  # the network keeps its metadata (TF <= 2.5)
    assert facts.saved_object_fields == [4, 7]


def test_keras_metadata_that_tf_2_0_to_2_4_kept_in_the_object_graph_is_read_as_keras_metadata(tmp_path):
    root = b'{"class_name":"Sequential","keras_version":"2.4.0","build_input_shape":{"class_name":"TensorShape"}}'
    saved_model = saved_model_message()
    saved_model.meta_graphs[0].object_graph_def.nodes.extend(
        [user_object(b"_tf_keras_sequential", root), user_object(b"_tf_keras_layer", b'{"class_name": "Dense"}')])
    facts = inspect_model(write_saved_model(tmp_path / "m", saved_model))

    assert facts.keras_format == "saved_model_keras" and facts.keras_version == "2.4.0"
    assert facts.keras_model_class == "Sequential" and facts.keras_sequential_shape_encoded is True


def test_a_saved_model_without_an_object_graph_has_no_keras_identifiers_read(tmp_path):
    assert inspect_model(write_saved_model(tmp_path / "m")).keras_objects_without_metadata is None


def test_keras_metadata_names_the_keras_version(tmp_path):
    model = write_saved_model(tmp_path / "m", keras_metadata=keras_metadata_bytes("2.13.1", "tensorflow"))
    facts = inspect_model(model)

    assert facts.keras_format == "saved_model_keras"
    assert facts.keras_version == "2.13.1"
    assert facts.keras_backend == "tensorflow"


def test_keras_metadata_without_a_root_object_still_marks_the_format(tmp_path):
    model = write_saved_model(tmp_path / "m", keras_metadata=b"")
    facts = inspect_model(model)

    assert facts.keras_format == "saved_model_keras" and facts.keras_version is None


def test_pbtxt_only_saved_model(tmp_path):
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "saved_model.pbtxt").write_text(
        """
        saved_model_schema_version: 1
        meta_graphs {
          meta_info_def { tags: "serve" tensorflow_version: "2.12.0" tensorflow_git_version: "v2.12.0-rc1-12-g0db597d0d75" }
          graph_def {
            node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
            node { name: "y" op: "Softmax" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
            versions { producer: 1395 min_consumer: 12 }
          }
          saver_def { filename_tensor_name: "save/Const:0" version: V2 }
          signature_def { key: "serving_default" value { method_name: "tensorflow/serving/predict" } }
        }
        """
    )
    facts = inspect_model(directory)

    assert facts.tensorflow_version == "2.12.0"
    assert facts.graph_producer == 1395
    assert facts.ops == ["Placeholder", "Softmax"]
    assert facts.op_attrs == {"Placeholder": ["dtype"], "Softmax": ["T"]}
    assert facts.signatures == ["serving_default"]


def test_saved_model_pb_path_means_its_directory(tmp_path):
    model = write_saved_model(tmp_path / "m")

    assert inspect_model(model / "saved_model.pb").path == str(model)


def test_graph_without_versions_reports_them_unknown():
    saved_model = saved_model_message()
    saved_model.meta_graphs[0].graph_def.ClearField("versions")
    facts = facts_from_saved_model(parse_saved_model(saved_model.SerializeToString()))

    assert facts.graph_producer is None and facts.graph_min_consumer is None


class TestDigest:
    def test_is_stable_and_covers_every_file(self, tmp_path):
        model = write_saved_model(tmp_path / "m")
        first = inspect_model(model).digest
        assert first.startswith("sha256:") and inspect_model(model).digest == first

        (model / "variables" / "variables.data-00000-of-00001").write_bytes(b"\1" * 64)
        assert inspect_model(model).digest != first

    def test_includes_file_names(self, tmp_path):
        model = write_saved_model(tmp_path / "m")
        before = inspect_model(model).digest
        (model / "variables" / "variables.index").rename(model / "variables" / "other.index")

        assert inspect_model(model).digest != before

    def test_does_not_depend_on_where_the_model_lives(self, tmp_path):
        a = write_saved_model(tmp_path / "a")
        b = write_saved_model(tmp_path / "elsewhere" / "b")

        assert inspect_model(a).digest == inspect_model(b).digest

    def test_follows_symlinked_files(self, tmp_path):
        real = write_saved_model(tmp_path / "real")
        linked = tmp_path / "linked"
        linked.mkdir()
        for name in ("saved_model.pb", "variables"):
            os.symlink(real / name, linked / name)

        assert inspect_model(linked).digest == inspect_model(real).digest

    def test_can_be_skipped(self, tmp_path):
        assert inspect_model(write_saved_model(tmp_path / "m"), digest=False).digest is None


def test_error_names_the_file(tmp_path):
    model = write_saved_model(tmp_path / "m")
    (model / "saved_model.pb").write_bytes(b"\x12\x05abc")

    with pytest.raises(InspectError) as error:
        inspect_model(model)
    assert error.value.path == str(model / "saved_model.pb")
    assert str(error.value).startswith(str(model / "saved_model.pb") + ": not a valid SavedModel protobuf")


def test_digest_is_the_one_the_probe_computes(tmp_path):
    from tfguard.probes.probe import model_digest

    model = write_saved_model(tmp_path / "m", keras_metadata=keras_metadata_bytes())
    (model / "assets").mkdir()
    (model / "assets" / "vocab.txt").write_text("a\nb\n")

    assert inspect_model(model).digest == model_digest(str(model))


@pytest.mark.parametrize("variables_bytes", [64, 3 << 20])  # hashed by the interpreter's SHA-256, then OpenSSL's
def test_digest_is_the_one_the_probe_computes_whichever_sha256_hashes_it(tmp_path, variables_bytes):
    from tfguard.probes.probe import model_digest

    model = write_saved_model(tmp_path / "m")
    (model / "variables" / "variables.data-00000-of-00001").write_bytes(os.urandom(variables_bytes))

    assert inspect_model(model).digest == model_digest(str(model))


def test_the_serialized_schemas_are_the_ones_schema_source_builds():
    from pathlib import Path

    from tfguard.compat.inspect import schema_source

    generated = Path(schema_source.__file__).with_name("schema_descriptors.py").read_text()
    assert generated == schema_source.generated_module(), "run python -m tfguard.compat.inspect.schema_source"
