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


def placement(j: Judgement) -> None:
    m = j.model
    if j.loader != L.SERVING or not m.pinned_devices:
        return
    gpu_here = j.gpu == "required" and j.stack.cuda_build is not False
    missing = [d for d in m.pinned_devices if not (d == "GPU" and gpu_here)]
    if missing:
        j.add(
            "NODES_PINNED_TO_MISSING_DEVICE", "error",
            f"nodes of the {j.model_label} are pinned to {', '.join(missing)} devices, which {j.runtime_label} does not "
            "give this Pod; TensorFlow Serving's session allows no soft placement, so the graph import fails",
            devices=missing,
        )
