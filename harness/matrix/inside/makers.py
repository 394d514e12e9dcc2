"""Runs INSIDE a TensorFlow venv: writes one artifact of the corpus (CPython 3.7 and later).

    make({"recipe": "module_variables", "out": DIR}) -> {"ok": True, "artifact": "saved_model", ...}

Each recipe writes into DIR with this release's own API and returns what it wrote; a recipe this
release cannot make raises NotMade (or whatever TF raised), which the caller records as
"not made, because ...". The recipes are described in harness/matrix/recipes.py.
"""

import os
import shutil
import sys


class NotMade(Exception):
    """This release has no way to write this recipe (a missing API, op or format)."""


def _tf():
    import tensorflow as tf

    return tf


def _tf1():
    return _tf().__version__.startswith("1.")


def _v2(tf):
    """TF 2 behaviour for the tf.Module recipes; TF 1.15 has it behind a switch."""
    if _tf1():
        tf.compat.v1.enable_v2_behavior()
    return tf.compat.v2 if _tf1() else tf


# ---------------------------------------------------------------- tf.Module SavedModels


def _dense_module(tf, extra=None):
    class Dense(tf.Module):
        def __init__(self):
            super(Dense, self).__init__()
            self.w = tf.Variable(tf.ones([4, 3]) * 0.5, name="w")
            self.b = tf.Variable(tf.zeros([3]), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            y = {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}
            if extra is not None:
                y.update(extra(tf, x))
            return y

    return Dense()


def module_plain(out):
    tf = _v2(_tf())

    class Plain(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * 2.0 + 1.0}

    module = Plain()
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    return {"artifact": "saved_model", "method": "tf.saved_model.save (no variables)"}


def module_variables(out):
    tf = _v2(_tf())
    module = _dense_module(tf)
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    return {"artifact": "saved_model", "method": "tf.saved_model.save"}


def module_signatures(out):
    tf = _v2(_tf())
    module = _dense_module(tf)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def scores(x):
        return {"scores": tf.nn.softmax(tf.matmul(x, module.w))}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="n"), tf.TensorSpec([], tf.string, name="s")])
    def describe(n, s):
        return {"n": n + 1, "s": tf.strings.join([s, "!"])}

    module.scores, module.describe = scores, describe
    signatures = {"serving_default": module.serve, "scores": scores, "describe": describe}
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures=signatures)
    return {"artifact": "saved_model", "method": "tf.saved_model.save with 3 signatures (float, int64, string)"}


def module_no_signature(out):
    tf = _v2(_tf())

    class NoSignature(tf.Module):
        def __init__(self):
            super(NoSignature, self).__init__()
            self.w = tf.Variable(tf.ones([4]), name="w")

        @tf.function
        def apply(self, x):
            return x * self.w

    module = NoSignature()
    module.apply(tf.zeros([2, 4]))  # traced once: a concrete function, but no input_signature
    tf.saved_model.save(module, os.path.join(out, "saved_model"))
    return {"artifact": "saved_model", "method": "tf.saved_model.save, a traced tf.function, no signatures"}


def module_hash_table(out):
    tf = _v2(_tf())
    vocab = os.path.join(out, "vocab.txt")
    with open(vocab, "w") as f:
        f.write("apple\nbanana\ncherry\n")

    class Lookup(tf.Module):
        def __init__(self):
            super(Lookup, self).__init__()
            initializer = tf.lookup.TextFileInitializer(
                vocab, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER
            )
            self.table = tf.lookup.StaticHashTable(initializer, default_value=-1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def serve(self, words):
            return {"ids": self.table.lookup(words)}

    module = Lookup()
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    os.remove(vocab)  # the SavedModel has its own copy under assets/
    return {"artifact": "saved_model", "method": "tf.saved_model.save, StaticHashTable from a vocabulary asset"}


def module_new_op(out):
    """A signature running DatasetFingerprint (registered from 2.20; older releases cannot make it)."""
    tf = _v2(_tf())
    op = getattr(tf.raw_ops, "DatasetFingerprint", None) if hasattr(tf, "raw_ops") else None
    if op is None:
        raise NotMade("this release does not register DatasetFingerprint")

    def extra(tf, x):
        dataset = tf.data.Dataset.range(3)
        return {"fingerprint": tf.cast(op(input_dataset=dataset._variant_tensor), tf.int64)}

    module = _dense_module(tf, extra)
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    return {"artifact": "saved_model", "method": "tf.saved_model.save, serving_default runs DatasetFingerprint"}


def module_new_attr(out):
    """GatherNd with bad_indices_policy='IGNORE' (the attr appeared in 2.17/2.18's OpDef)."""
    tf = _v2(_tf())
    if not hasattr(tf, "raw_ops"):
        raise NotMade("this release has no tf.raw_ops")

    def extra(tf, x):
        return {"picked": tf.raw_ops.GatherNd(params=x, indices=[[0, 1]], bad_indices_policy="IGNORE")}

    module = _dense_module(tf, extra)
    try:
        tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    except TypeError as exc:  # raw_ops reject an attr their OpDef lacks
        raise NotMade("GatherNd has no bad_indices_policy attr here: %s" % exc)
    return {"artifact": "saved_model", "method": "tf.saved_model.save, GatherNd(bad_indices_policy='IGNORE')"}


def module_device_pinned(out):
    tf = _v2(_tf())

    class Pinned(tf.Module):
        def __init__(self):
            super(Pinned, self).__init__()
            with tf.device("/device:CPU:0"):
                self.w = tf.Variable(tf.ones([4, 3]), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            with tf.device("/device:GPU:0"):
                y = tf.matmul(x, self.w)
            return {"y": y}

    module = Pinned()
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    return {"artifact": "saved_model", "method": "tf.saved_model.save, MatMul under tf.device('/device:GPU:0')"}


# ---------------------------------------------------------------- TF1-style graphs (tf.compat.v1)


def _v1_graph(tf, resource=False, device=None):
    """A graph of y = relu(x @ w + b) with ref (VariableV2) or resource variables."""
    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.Variable(tf.ones([4, 3]) * 0.5, name="w", use_resource=resource)
    b = v1.Variable(tf.zeros([3]), name="b", use_resource=resource)
    if device:
        with tf.device(device):
            y = tf.nn.relu(tf.matmul(x, w) + b, name="y")
    else:
        y = tf.nn.relu(tf.matmul(x, w) + b, name="y")
    return x, y, w


def _signature(tf, inputs, outputs):
    v1 = tf.compat.v1
    return v1.saved_model.signature_def_utils.predict_signature_def(inputs=inputs, outputs=outputs)


def _builder_save(tf, out, build, tagsets, clear_devices=True, assets=None, main_op=None):
    """One SavedModelBuilder; `tagsets` is a list of (tags, signature) metagraphs."""
    v1 = tf.compat.v1
    path = os.path.join(out, "saved_model")
    graph = tf.Graph()
    with graph.as_default():
        parts = build()
        with v1.Session(graph=graph, config=v1.ConfigProto(allow_soft_placement=True)) as sess:
            sess.run(v1.global_variables_initializer())
            if main_op is not None:
                main_op_tensor = main_op(parts)
                sess.run(main_op_tensor)
            else:
                main_op_tensor = None
            builder = v1.saved_model.builder.SavedModelBuilder(path)
            for i, (tags, signature) in enumerate(tagsets):
                kwargs = {"signature_def_map": {"serving_default": signature(parts)} if signature else {}}
                if assets is not None:
                    kwargs["assets_collection"] = v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS)
                if main_op_tensor is not None:
                    kwargs["main_op"] = main_op_tensor
                kwargs["clear_devices"] = clear_devices
                if i == 0:
                    builder.add_meta_graph_and_variables(sess, tags, **kwargs)
                else:
                    builder.add_meta_graph(tags, **kwargs)
            builder.save()
    return "saved_model"


def v1_simple_save(out):
    tf = _tf()
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x, y, _ = _v1_graph(tf)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            v1.saved_model.simple_save(sess, os.path.join(out, "saved_model"), inputs={"x": x}, outputs={"y": y})
    return {"artifact": "saved_model", "method": "tf.compat.v1.saved_model.simple_save, VariableV2 ref variables"}


def v1_resource_variables(out):
    tf = _tf()
    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(tf, out, lambda: _v1_graph(tf, resource=True), [(["serve"], sig)])
    return {"artifact": artifact, "method": "SavedModelBuilder, resource variables, tags [serve]"}


def v1_serve_and_train(out):
    tf = _tf()
    v1 = tf.compat.v1

    def build():
        x, y, w = _v1_graph(tf)
        loss = tf.reduce_mean(tf.square(y))
        train = v1.train.GradientDescentOptimizer(0.1).minimize(loss, name="train_step")
        return x, y, train

    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(tf, out, build, [(["serve"], sig), (["train"], None)])
    return {"artifact": artifact, "method": "SavedModelBuilder, metagraphs [serve] and [train] (with a train op)"}


def v1_serve_gpu_only(out):
    tf = _tf()
    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(tf, out, lambda: _v1_graph(tf), [(["serve", "gpu"], sig)])
    return {"artifact": artifact, "method": "SavedModelBuilder, one metagraph tagged [serve, gpu] (no [serve])"}


def v1_serve_and_serve_gpu(out):
    tf = _tf()
    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(tf, out, lambda: _v1_graph(tf), [(["serve"], sig), (["serve", "gpu"], sig)])
    return {"artifact": artifact, "method": "SavedModelBuilder, metagraphs [serve] and [serve, gpu]"}


def v1_device_pinned(out):
    tf = _tf()
    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(
        tf, out, lambda: _v1_graph(tf, device="/device:GPU:0"), [(["serve"], sig)], clear_devices=False
    )
    return {"artifact": artifact,
            "method": "SavedModelBuilder, MatMul/Add/Relu pinned to /device:GPU:0, clear_devices=False"}


def v1_queue(out):
    tf = _tf()
    v1 = tf.compat.v1

    def build():
        x, y, _ = _v1_graph(tf)
        queue = v1.FIFOQueue(8, [tf.float32], shapes=[[4]], name="input_queue")
        queue.enqueue_many([tf.zeros([2, 4])], name="enqueue")
        queue.dequeue(name="dequeue")
        v1.RandomShuffleQueue(8, 0, [tf.float32], shapes=[[4]], name="shuffle_queue")
        return x, y

    sig = lambda p: _signature(tf, {"x": p[0]}, {"y": p[1]})  # noqa: E731
    artifact = _builder_save(tf, out, build, [(["serve"], sig)])
    return {"artifact": artifact, "method": "SavedModelBuilder, a graph with FIFOQueueV2/RandomShuffleQueueV2 (not on the serving path)"}


def v1_hash_table_asset(out):
    tf = _tf()
    v1 = tf.compat.v1
    vocab = os.path.join(out, "vocab.txt")
    with open(vocab, "w") as f:
        f.write("apple\nbanana\ncherry\n")

    def build():
        words = v1.placeholder(tf.string, [None], name="words")
        table = v1.lookup.StaticHashTable(
            v1.lookup.TextFileInitializer(
                vocab, tf.string, v1.lookup.TextFileIndex.WHOLE_LINE, tf.int64, v1.lookup.TextFileIndex.LINE_NUMBER
            ),
            default_value=-1,
        )
        ids = table.lookup(words)
        return words, ids

    sig = lambda p: _signature(tf, {"words": p[0]}, {"ids": p[1]})  # noqa: E731
    artifact = _builder_save(
        tf, out, build, [(["serve"], sig)], assets=True, main_op=lambda p: v1.tables_initializer(name="init_tables")
    )
    os.remove(vocab)
    return {"artifact": artifact, "method": "SavedModelBuilder, HashTableV2 from a vocabulary asset, main_op=tables_initializer"}


def v1_estimator(out):
    tf = _tf()
    estimator = getattr(tf, "estimator", None)
    try:
        Estimator = estimator.Estimator
    except Exception:
        raise NotMade("this release has no tf.estimator")
    v1 = tf.compat.v1

    def model_fn(features, labels, mode):
        y = v1.layers.dense(features["x"], 1, name="out") if hasattr(v1, "layers") else None
        if y is None:
            w = v1.get_variable("w", [4, 1])
            y = tf.matmul(features["x"], w)
        predictions = {"y": y}
        if mode == estimator.ModeKeys.PREDICT:
            return estimator.EstimatorSpec(mode, predictions=predictions,
                                           export_outputs={"serving_default": estimator.export.PredictOutput(predictions)})
        loss = tf.reduce_mean(tf.square(y - labels))
        train = v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=v1.train.get_global_step())
        return estimator.EstimatorSpec(mode, loss=loss, train_op=train)

    def input_fn():
        data = tf.data.Dataset.from_tensors(({"x": tf.zeros([2, 4])}, tf.zeros([2, 1])))
        return data.repeat(2)

    work = os.path.join(out, ".estimator")
    est = Estimator(model_fn, model_dir=os.path.join(work, "model"))
    est.train(input_fn, steps=1)
    def receiver():
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        return estimator.export.ServingInputReceiver({"x": x}, {"x": x})

    export = getattr(est, "export_saved_model", None) or est.export_savedmodel
    exported = export(os.path.join(work, "export"), receiver)
    if isinstance(exported, bytes):
        exported = exported.decode()
    shutil.move(exported, os.path.join(out, "saved_model"))
    shutil.rmtree(work)
    return {"artifact": "saved_model", "method": "tf.estimator.Estimator (custom model_fn) export_saved_model"}


# ---------------------------------------------------------------- Keras models


def keras_package(kind):
    """The Keras that `kind` ("tf.keras" or "tf_keras") names, and its version."""
    if kind == "tf_keras":
        import tf_keras as keras

        return keras, "tf_keras", keras.__version__
    tf = _tf()
    keras = tf.keras
    package = keras.Model.__module__.split(".")[0]
    version = getattr(sys.modules.get(package), "__version__", None)
    if package == "tensorflow":
        version = getattr(keras, "__version__", None)
    return keras, package, version


def _keras_arch(keras, arch):
    layers = keras.layers
    if arch == "sequential":
        return keras.Sequential([layers.Dense(8, activation="relu", input_shape=(4,), name="hidden"),
                                 layers.Dense(2, name="y")], name="tiny_sequential")
    if arch == "registered":
        import matrix_layers

        inputs = keras.Input(shape=(4,), name="x")
        hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
        scaled = matrix_layers.layer_class(keras)(factor=0.5, name="scale")(hidden)
        return keras.Model(inputs, layers.Dense(2, name="y")(scaled), name="tiny_registered")
    if arch == "functional":
        inputs = keras.Input(shape=(4,), name="x")
        hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
        return keras.Model(inputs, layers.Dense(2, name="y")(hidden), name="tiny_functional")

    class TinySubclassed(keras.Model):
        def __init__(self, **kwargs):
            super(TinySubclassed, self).__init__(**kwargs)
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    model = TinySubclassed(name="tiny_subclassed")
    model(__import__("numpy").zeros((1, 4), "float32"))  # built, so it has weights to save
    return model


def keras_model(kind, arch, compiled):
    import numpy as np

    keras, package, version = keras_package(kind)
    model = _keras_arch(keras, arch)
    if compiled:
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        model.fit(np.zeros((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, batch_size=4, verbose=0)
    return model, {"keras_package": package, "keras_version": version, "arch": arch, "compiled": compiled}


def keras_save(job, kind):
    arch, compiled, fmt = job["arch"], job["compiled"], job["format"]
    out = job["out"]
    model, record = keras_model(kind, arch, compiled)
    major = str(record["keras_version"] or "0").split(".")[0]
    if fmt == "h5":
        path = os.path.join(out, "model.h5")
        model.save(path) if major == "3" else model.save(path, save_format="h5")
        record.update(artifact="model.h5", method="model.save('model.h5')")
    elif fmt == "keras":
        path = os.path.join(out, "model.keras")
        model.save(path)
        if os.path.isdir(path):
            raise NotMade("this Keras writes a SavedModel directory for a .keras path (no .keras format yet)")
        record.update(artifact="model.keras", method="model.save('model.keras')")
    elif fmt == "tf":
        if major == "3":
            raise NotMade("Keras 3 has no save_format='tf'")
        model.save(os.path.join(out, "saved_model"), save_format="tf")
        record.update(artifact="saved_model", method="model.save(dir, save_format='tf')")
    elif fmt == "export":
        if not hasattr(model, "export"):
            raise NotMade("this Keras has no Model.export")
        model.export(os.path.join(out, "saved_model"))
        record.update(artifact="saved_model", method="model.export(dir)")
    else:
        raise ValueError("unknown Keras format %r" % fmt)
    return record


# ---------------------------------------------------------------- custom-op libraries


def text_module(out):
    tf = _v2(_tf())
    import tensorflow_text as text

    class Tokenize(tf.Module):
        def __init__(self):
            super(Tokenize, self).__init__()
            self.tokenizer = text.WhitespaceTokenizer()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, sentences):
            tokens = self.tokenizer.tokenize(sentences)
            return {"row_lengths": tokens.row_lengths(), "tokens": tokens.flat_values}

    module = Tokenize()
    tf.saved_model.save(module, os.path.join(out, "saved_model"), signatures={"serving_default": module.serve})
    return {"artifact": "saved_model", "method": "tf.saved_model.save, tensorflow_text.WhitespaceTokenizer",
            "library": "tensorflow-text", "library_version": getattr(text, "__version__", None)}


def tfdf_model(out):
    import numpy as np
    import tensorflow_decision_forests as tfdf

    model = tfdf.keras.RandomForestModel(num_trees=3, verbose=0)
    x = np.random.RandomState(0).rand(64, 4).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    model.fit(x, y, verbose=0)
    model.save(os.path.join(out, "saved_model"))
    return {"artifact": "saved_model", "method": "tensorflow_decision_forests RandomForestModel.save(dir)",
            "library": "tensorflow-decision-forests", "library_version": getattr(tfdf, "__version__", None)}


MODULE_RECIPES = {
    f.__name__: f
    for f in (
        module_plain, module_variables, module_signatures, module_no_signature, module_hash_table,
        module_new_op, module_new_attr, module_device_pinned,
        v1_simple_save, v1_resource_variables, v1_serve_and_train, v1_serve_gpu_only, v1_serve_and_serve_gpu,
        v1_device_pinned, v1_queue, v1_hash_table_asset, v1_estimator, text_module, tfdf_model,
    )
}


def make(job):
    """Write job["recipe"] into job["out"]; the record says what was written."""
    recipe = job["recipe"]
    for name in job.get("imports") or ():
        __import__(name)
    try:
        if job.get("maker") in ("keras", "tf_keras"):
            record = keras_save(job, "tf_keras" if job["maker"] == "tf_keras" else "tf.keras")
        else:
            record = MODULE_RECIPES[job["maker"]](job["out"])
    except NotMade as exc:
        return {"ok": False, "phase": "make", "not_made": str(exc)}
    tf = _tf()
    record.update(
        ok=True,
        phase="make",
        tf_version=tf.version.VERSION if hasattr(tf, "version") else tf.__version__,
        tf_git_version=getattr(getattr(tf, "version", None), "GIT_VERSION", None),
        python="%d.%d" % sys.version_info[:2],
    )
    if "keras_version" not in record and job.get("maker") not in ("keras", "tf_keras"):
        record["keras_version"] = None
    return record
