"""The model's files as every loader reads them first: a parse TensorFlow refuses, a broken
checkpoint, assets that are not there. Measured: these fail in every release (the matrix's hostile
artifacts: truncated or garbage saved_model.pb, nesting past protobuf's limit, missing
variables.index, a missing or truncated shard)."""

from __future__ import annotations

from tfguard.compat.inspect.variables import BROKEN
from tfguard.compat.judgement import Judgement

_VARIABLES = {
    "missing_directory": "has no variables/ directory, but its graph holds variables",
    "missing_index": "has no variables/variables.index, but its graph holds variables",
    "missing_shard": "lacks a data shard that variables.index names",
    "truncated_shard": "has a variables data shard shorter than variables.index says (a truncated copy)",
    "unreadable_index": "has a variables.index that is not a readable TensorBundle index",
}


def readable(j: Judgement) -> bool:
    """False (and a finding) when no TensorFlow can read the model at all."""
    m = j.model
    if m.unloadable:
        j.add(
            "MODEL_UNLOADABLE", "error",
            f"TensorFlow cannot read the {j.model_label}: {m.unloadable}",
            problem=m.unloadable,
        )
        if j.loads_with_keras and j.keras_major == 3 and m.format == "saved_model":
            j.add(  # what Keras 3 says first: it does not open a SavedModel at all
                "KERAS3_CANNOT_LOAD_SAVEDMODEL", "error",
                f"the {j.model_label} is a SavedModel: Keras 3 load_model in {j.runtime_label} reads only .keras and .h5 files",
                keras_major=3,
            )
        return False
    return True


def checkpoint(j: Judgement) -> None:
    """The variables every SavedModel loader restores (Keras 2 reading a SavedModel restores them too)."""
    m = j.model
    if m.format != "saved_model" or m.variables not in BROKEN:
        return
    if not (j.loads_saved_model or (j.loads_with_keras and j.keras_major == 2)):
        return
    j.add(
        "VARIABLES_BROKEN", "error",
        f"the {j.model_label} {_VARIABLES.get(m.variables, m.variables)}: restoring its variables fails in every release",
        variables=m.variables,
    )


def assets(j: Judgement) -> None:
    m = j.model
    if m.format == "saved_model" and m.missing_assets and (j.loads_saved_model or j.loads_with_keras):
        j.add(
            "ASSETS_MISSING", "warning",
            f"the {j.model_label} names asset files that are not in its assets/ directory "
            f"({', '.join(m.missing_assets[:10])}): a table or initializer that reads one fails at load time",
            assets=m.missing_assets,
        )
