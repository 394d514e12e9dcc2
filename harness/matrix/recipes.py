"""What the corpus holds: every recipe, which producer stacks make it, and what it is.

A recipe is made by every producer stack it applies to (`applies`); a producer that lacks the API
records it as not made, with the reason (harness/matrix/inside/makers.py writes them). `rev` is
bumped when a recipe's code changes in a way that changes what it writes: the cached artifacts of
that recipe are made again, and their cells loaded again.

Tiers order the work: tier 1 (CORE) is what every runtime and loader gets first, tier 2 the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Recipe:
    name: str
    family: str  # "module" | "v1" | "keras" | "tf_keras" | "custom_op" | "hostile"
    format: str  # "saved_model" | "h5" | "keras_v3"
    description: str
    maker: str  # the function (or "keras" / "tf_keras") that writes it inside the venv
    stack: str = ""  # the producer stack's extra: "" | "tf_keras" | "text" | "tfdf"
    tier: int = 1
    rev: int = 1
    job: dict = field(default_factory=dict)  # extra job arguments for the maker
    library: str | None = None  # the custom-op library a load may need ("tensorflow_text")
    # Modules a server of this model imports before it loads it (the package of its custom Keras
    # classes): every cell is loaded both with and without them.
    server_imports: tuple[str, ...] = ()
    derived_from: str | None = None  # hostile: the recipe it is cut from (no TF involved)


MODULES = [
    Recipe("module_plain", "module", "saved_model", "tf.Module without variables, serving_default (x*2+1)",
           "module_plain"),
    Recipe("module_variables", "module", "saved_model",
           "tf.Module with two variables, serving_default (MatMul, AddV2, Relu)", "module_variables"),
    Recipe("module_signatures", "module", "saved_model",
           "tf.Module with variables and three signatures (float, int64 and string inputs)", "module_signatures"),
    Recipe("module_no_signature", "module", "saved_model",
           "tf.Module with a variable and a traced tf.function, saved with no signatures", "module_no_signature"),
    Recipe("module_hash_table", "module", "saved_model",
           "tf.Module with a StaticHashTable initialised from a vocabulary asset", "module_hash_table"),
    Recipe("module_new_op", "module", "saved_model",
           "tf.Module whose serving_default runs DatasetFingerprint (registered from 2.20)", "module_new_op"),
    Recipe("module_new_attr", "module", "saved_model",
           "tf.Module whose serving_default runs GatherNd with bad_indices_policy='IGNORE'", "module_new_attr"),
    Recipe("module_device_pinned", "module", "saved_model",
           "tf.Module whose serving_default runs MatMul under tf.device('/device:GPU:0')", "module_device_pinned"),
]

V1 = [
    Recipe("v1_simple_save", "v1", "saved_model",
           "TF1 graph, VariableV2 ref variables, tf.compat.v1.saved_model.simple_save", "v1_simple_save"),
    Recipe("v1_resource_variables", "v1", "saved_model",
           "TF1 graph, resource variables, SavedModelBuilder with tags [serve]", "v1_resource_variables"),
    Recipe("v1_serve_and_train", "v1", "saved_model",
           "TF1 graph, SavedModelBuilder with metagraphs [serve] and [train] (train op)", "v1_serve_and_train"),
    Recipe("v1_serve_gpu_only", "v1", "saved_model",
           "TF1 graph, one metagraph tagged [serve, gpu] and none tagged [serve] alone", "v1_serve_gpu_only"),
    Recipe("v1_serve_and_serve_gpu", "v1", "saved_model",
           "TF1 graph, metagraphs [serve] and [serve, gpu]", "v1_serve_and_serve_gpu"),
    Recipe("v1_device_pinned", "v1", "saved_model",
           "TF1 graph with nodes pinned to /device:GPU:0 (clear_devices=False)", "v1_device_pinned"),
    Recipe("v1_queue", "v1", "saved_model",
           "TF1 graph holding FIFOQueueV2 and RandomShuffleQueueV2 ops beside the serving path", "v1_queue"),
    Recipe("v1_hash_table_asset", "v1", "saved_model",
           "TF1 graph, HashTableV2 from a vocabulary asset, main_op=tables_initializer", "v1_hash_table_asset"),
    Recipe("v1_estimator", "v1", "saved_model",
           "tf.estimator.Estimator (custom model_fn) trained one step, export_saved_model", "v1_estimator"),
]

_KERAS_FORMATS = {"h5": "h5", "keras": "keras_v3", "tf": "saved_model", "export": "saved_model"}
_KERAS_SAVE = {
    "h5": "model.save('model.h5')",
    "keras": "model.save('model.keras')",
    "tf": "model.save(dir, save_format='tf') (Keras 2 SavedModel)",
    "export": "model.export(dir) (a serving SavedModel)",
}


def _keras(package: str) -> list[Recipe]:
    family = "keras" if package == "tf.keras" else "tf_keras"
    prefix = "keras" if package == "tf.keras" else "tfkeras"

    def recipe(arch: str, compiled: bool, fmt: str, what: str, **extra) -> Recipe:
        state = "compiled" if compiled else "raw"
        return Recipe(
            f"{prefix}_{arch}_{state}_{fmt}", family, _KERAS_FORMATS[fmt],
            f"{package} {what}, {'compiled (adam, mse, mae) and fitted one epoch' if compiled else 'not compiled'}, "
            f"{_KERAS_SAVE[fmt]}",
            "keras" if family == "keras" else "tf_keras",
            stack="tf_keras" if family == "tf_keras" else "",
            tier=2,
            job={"arch": arch, "compiled": compiled, "format": fmt},
            **extra,
        )

    recipes = [recipe(arch, compiled, fmt, f"{arch} model")
               for arch in ("functional", "sequential", "subclassed") for compiled in (True, False)
               for fmt in ("h5", "keras", "tf", "export") if not (family == "tf_keras" and fmt == "export")]
    recipes.append(recipe("registered", False, "keras", "Functional model with a custom layer registered with "
                          "register_keras_serializable (harness/matrix/inside/matrix_layers.py)",
                          server_imports=("matrix_layers",)))
    return recipes


CUSTOM_OPS = [
    Recipe("text_module", "custom_op", "saved_model",
           "tf.Module whose serving_default runs tensorflow_text's WhitespaceTokenizer (custom ops)",
           "text_module", stack="text", library="tensorflow_text", job={"imports": ["tensorflow_text"]}),
    Recipe("tfdf_model", "custom_op", "saved_model",
           "a 3-tree tensorflow_decision_forests RandomForestModel, model.save(dir) (its SimpleML* inference ops)",
           "tfdf_model", stack="tfdf", library="tensorflow_decision_forests",
           job={"imports": ["tensorflow_decision_forests"]}),
]

HOSTILE = [
    Recipe("hostile_missing_index", "hostile", "saved_model",
           "module_variables with variables/variables.index removed", "", derived_from="module_variables"),
    Recipe("hostile_truncated_shard", "hostile", "saved_model",
           "module_variables with its variables data shard cut to half its size", "", derived_from="module_variables"),
    Recipe("hostile_no_variables_dir", "hostile", "saved_model",
           "module_variables with the variables/ directory removed", "", derived_from="module_variables"),
    Recipe("hostile_deep_nesting", "hostile", "saved_model",
           "module_variables whose graph gains a node with AttrValue/NameAttrList nested 200 deep "
           "(protobuf's default recursion limit is 100)", "", derived_from="module_variables"),
    Recipe("hostile_oversize_pb", "hostile", "saved_model",
           "module_variables whose saved_model.pb carries an unknown field past 2 GiB (a sparse file)", "",
           derived_from="module_variables", tier=2),
    Recipe("hostile_truncated_pb", "hostile", "saved_model",
           "module_variables with saved_model.pb cut to 60% of its length", "", derived_from="module_variables"),
    Recipe("hostile_garbage_pb", "hostile", "saved_model",
           "module_variables with saved_model.pb replaced by 4 KiB of seeded random bytes", "",
           derived_from="module_variables"),
    Recipe("hostile_truncated_keras", "hostile", "keras_v3",
           "keras_functional_raw_keras cut to half its length", "", derived_from="keras_functional_raw_keras"),
    Recipe("hostile_truncated_h5", "hostile", "h5",
           "keras_functional_raw_h5 cut to half its length", "", derived_from="keras_functional_raw_h5"),
]

# The core: one artifact of each kind a deployment meets most, made by every producer.
CORE = (
    "module_variables", "module_hash_table", "module_new_op", "v1_simple_save",
    "v1_serve_and_train", "keras_functional_compiled_h5", "keras_functional_compiled_keras",
    "keras_functional_compiled_tf", "keras_functional_compiled_export", "tfkeras_functional_compiled_h5",
    "tfkeras_functional_compiled_keras", "text_module",
    "hostile_missing_index", "hostile_truncated_shard", "hostile_deep_nesting", "hostile_truncated_pb",
    "hostile_garbage_pb",
)
# The producers whose core artifacts every runtime and loader gets first: one per era (TF1 graphs
# and Keras 2.2; the last Keras 2 tf.keras; Keras 3), and a nightly.
CORE_PRODUCERS = ("1.15.5", "2.15.1", "2.20.0", "nightly-2.23.0.dev20261026")
PRIORITIES = (1, 2, 3)


def priority(recipe: str, producer: str) -> int:
    """1: a core recipe of a core producer; 2: a core recipe of any producer; 3: the rest."""
    if recipe not in CORE:
        return 3
    if producer.split("+")[0] in CORE_PRODUCERS:
        return 1 if not recipe.startswith("hostile_") or producer == "2.15.1" else 2
    return 2
RECIPES: dict[str, Recipe] = {
    r.name: replace(r, tier=1 if r.name in CORE else 2)
    for r in (*MODULES, *V1, *_keras("tf.keras"), *_keras("tf_keras"), *CUSTOM_OPS, *HOSTILE)
}
# Hostile artifacts are cut from the artifacts of these producers only.
HOSTILE_PRODUCERS = ("1.15.5", "2.15.1", "2.20.0")
