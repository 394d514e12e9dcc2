"""The loaders tfguard judges a model for: what each one is, and the names users give them.

The same model loads under one loader and fails under another, so the loader is an input of every
verdict (`--loader`, `tfguard.io/model-loader`) and every verdict says which loader it judged.
docs/loaders.md writes down the steps each one really takes.

| name                 | what the server calls                                                   |
|----------------------|--------------------------------------------------------------------------|
| `tf2`                | `tf.saved_model.load(path)` (TF1 graphs go through the v1-in-v2 path)     |
| `serving`            | TF Serving's C++ `LoadSavedModel`: exact tag-set match, graph in a Session |
| `keras`              | `tf.keras.models.load_model(path)` (compile=True, the default)           |
| `keras_nocompile`    | the same with `compile=False`                                            |
| `tf_keras`           | `tf_keras.models.load_model(path)` (the Keras 2 package, TF 2.16+)        |
| `tf_keras_nocompile` | the same with `compile=False`                                            |

`auto` picks from the model's format and the image: TF Serving images (no Python) load with
`serving`, .keras/.h5 files with `keras`, SavedModels with `tf2`. `saved_model` is the old name of
`tf2` and keeps working.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

TF2 = "tf2"
SERVING = "serving"
KERAS = "keras"
KERAS_NOCOMPILE = "keras_nocompile"
TF_KERAS = "tf_keras"
TF_KERAS_NOCOMPILE = "tf_keras_nocompile"

LOADERS = (TF2, SERVING, KERAS, KERAS_NOCOMPILE, TF_KERAS, TF_KERAS_NOCOMPILE)
CHOICES = ("auto", *LOADERS, "saved_model")  # what --loader and tfguard.io/model-loader accept
ALIASES = {"saved_model": TF2}

SAVED_MODEL_LOADERS = (TF2, SERVING)  # read SavedModel directories and nothing else
KERAS_LOADERS = (KERAS, KERAS_NOCOMPILE, TF_KERAS, TF_KERAS_NOCOMPILE)
COMPILING = (KERAS, TF_KERAS)  # rebuild the training config (optimizer, loss, metrics) too
LEGACY_KERAS = (TF_KERAS, TF_KERAS_NOCOMPILE)  # the tf-keras package: Keras 2 whatever tf.keras is

CALLS = {
    TF2: "tf.saved_model.load",
    SERVING: "TF Serving's SavedModel loader",
    KERAS: "tf.keras.models.load_model",
    KERAS_NOCOMPILE: "tf.keras.models.load_model(compile=False)",
    TF_KERAS: "tf_keras.models.load_model",
    TF_KERAS_NOCOMPILE: "tf_keras.models.load_model(compile=False)",
}


def canonical(name: str) -> Optional[str]:
    """The loader's name (aliases resolved), "auto", or None when it names no loader."""
    name = (name or "").strip()
    name = ALIASES.get(name, name)
    return name if name == "auto" or name in LOADERS else None
