"""Which MetaGraph a SavedModel loader takes, and where its nodes are placed.

- `tf2` (and Keras 2 reading a SavedModel, which goes through it) is called with `tags=None`: it
  takes the only MetaGraph, and refuses a SavedModel with several ("requires a 'tags=' argument").
- `serving` takes the MetaGraph whose tag set is exactly {serve} and imports it into a Session whose
  config sets no soft placement: a node pinned to a device the process does not have fails.
Measured in the matrix: v1_serve_and_train (serve + train MetaGraphs) fails under tf2 and keras in
every release and loads under serving; v1_device_pinned fails under serving without a GPU.
"""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat.judgement import Judgement

SERVE = ["serve"]


def metagraph(j: Judgement) -> None:
    m = j.model
    if m.format != "saved_model" or not m.meta_graph_tags:
        return
    tag_sets = [", ".join(tags) or "(no tags)" for tags in m.meta_graph_tags]
    through_tf2 = j.loader == L.TF2 or (j.loads_with_keras and j.keras_major == 2)
    if through_tf2 and len(m.meta_graph_tags) > 1:
        j.add(
            "SAVED_MODEL_SEVERAL_METAGRAPHS", "error",
            f"the {j.model_label} holds {len(m.meta_graph_tags)} MetaGraphs ({'; '.join(tag_sets)}) and "
            f"{j.loader_call} in {j.runtime_label} is called without tags: it refuses to choose",
            tag_sets=m.meta_graph_tags,
        )
    if j.loader == L.SERVING and SERVE not in [sorted(tags) for tags in m.meta_graph_tags]:
        j.add(
            "SAVED_MODEL_NO_SERVE_TAG_SET", "error",
            f"the {j.model_label} has no MetaGraph whose tag set is exactly 'serve' (it has: {'; '.join(tag_sets)}): "
            f"TensorFlow Serving in {j.runtime_label} finds nothing to load",
            tag_sets=m.meta_graph_tags,
        )


# Measured (matrix: v1_device_pinned): tf.saved_model.load of a TF1 graph whose nodes are pinned to
# a GPU the process lacks fails when a signature runs in 1.15 and 2.0 ("Unable to find any devices
# for spec /device:GPU:0"), and loads from 2.1 on (soft placement).
TF2_SOFT_PLACEMENT_FROM = (2, 1)


def placement(j: Judgement) -> None:
    m = j.model
    if not m.pinned_devices or not (j.loader == L.SERVING or (j.loader == L.TF2 and m.object_graph is False)):
        return
    gpu_here = j.gpu == "required" and j.stack.cuda_build is not False
    main_graph = m.pinned_devices if m.main_graph_pinned_devices is None else m.main_graph_pinned_devices
    missing = [d for d in main_graph if not (d == "GPU" and gpu_here)]
    in_functions = [d for d in m.pinned_devices if d not in main_graph and not (d == "GPU" and gpu_here)]
    if missing and j.loader == L.SERVING:
        j.add(
            "NODES_PINNED_TO_MISSING_DEVICE", "error",
            f"nodes of the {j.model_label} are pinned to {', '.join(missing)} devices, which {j.runtime_label} does not "
            "give this Pod; TensorFlow Serving's session allows no soft placement, so the graph import fails",
            devices=missing,
        )
    elif missing and j.tf_key is not None and j.tf_key[:2] < TF2_SOFT_PLACEMENT_FROM:
        j.add(
            "NODES_PINNED_TO_MISSING_DEVICE", "error",
            f"graph nodes of the {j.model_label} are pinned to {', '.join(missing)} devices, which {j.runtime_label} does "
            "not give this Pod; tf.saved_model.load there places a TF1 graph without soft placement, so its signatures "
            "fail when called (soft placement came with 2.1)",
            devices=missing,
        )
    if in_functions and j.loader == L.SERVING:
        # Measured: these load on 1.15-2.1 (a Session places a function body when it runs, not at load);
        # whether their signatures then run is not in the matrix.
        j.add(
            "FUNCTION_NODES_PINNED_TO_MISSING_DEVICE", "warning",
            f"nodes inside the {j.model_label}'s functions are pinned to {', '.join(in_functions)} devices, which "
            f"{j.runtime_label} does not give this Pod: the model loads, but a signature that runs them may fail "
            "without soft placement",
            devices=in_functions,
        )
