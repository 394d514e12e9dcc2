"""What each loader accepts at all, whatever the release: the first step of every loader."""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat.judgement import KERAS_FILE_FORMATS, Judgement


def loader_accepts_format(j: Judgement) -> None:
    fmt = j.model.format
    if j.serving_only and L.canonical(j.requested_loader) in L.KERAS_LOADERS:
        j.add(
            "KERAS_LOADER_NOT_IN_IMAGE", "error",
            f"the {j.model_label} is to be loaded with {L.CALLS[L.canonical(j.requested_loader)]}, but "
            f"{j.runtime_label} is a model server without Python: it loads SavedModels only",
        )
        return
    if fmt in KERAS_FILE_FORMATS and j.loads_saved_model:
        kind = ".keras file" if fmt == "keras_v3" else ".h5 file"
        if j.loader == L.SERVING:
            j.add(
                "KERAS_FILE_NOT_SERVABLE", "error",
                f"the {j.model_label} is a {kind}; {j.runtime_label} loads with TensorFlow Serving's loader, "
                "which serves SavedModel directories only",
                format=fmt,
            )
        else:
            j.add(
                "SAVED_MODEL_LOADER_ON_KERAS_FILE", "error",
                f"the {j.model_label} is a {kind}: tf.saved_model.load in {j.runtime_label} reads SavedModel directories only",
                format=fmt,
            )
