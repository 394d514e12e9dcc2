"""Runs INSIDE a TensorFlow venv: a custom Keras layer as a user's own package ships one.

`MatrixScale` is registered with register_keras_serializable (package "Matrix") when this module is
imported: in tf.keras, and in tf_keras when that is already imported (its loaders and makers import
it first). A server that imports this module before load_model can rebuild the layer; one that
does not cannot. The matrix loads the recipes that use it both ways.
"""

import sys

import tensorflow as tf


def _register(keras):
    saving = getattr(keras, "saving", None)
    register = getattr(saving, "register_keras_serializable", None) or keras.utils.register_keras_serializable

    @register(package="Matrix")
    class MatrixScale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super(MatrixScale, self).__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            config = super(MatrixScale, self).get_config()
            config["factor"] = self.factor
            return config

    return MatrixScale


MatrixScale = _register(tf.keras)
if "tf_keras" in sys.modules:
    TfKerasMatrixScale = _register(sys.modules["tf_keras"])


def layer_class(keras):
    """The registered class for `keras` (tf.keras or the tf_keras package)."""
    if getattr(keras, "__name__", "").startswith("tf_keras"):
        return TfKerasMatrixScale
    return MatrixScale
