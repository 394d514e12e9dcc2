"""What Keras `load_model` deserializes from a saved config: the objects (module, class, config keys)
and the training config (optimizer, loss, metrics) it rebuilds when it compiles.

The same shapes come from a `.keras` zip's config.json, an `.h5` file's model_config and
training_config attributes, and keras_metadata.pb in a Keras 2 SavedModel. Walks are iterative: a
hostile config may nest deeper than Python's recursion limit.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

_MAX_OBJECTS = 200_000


def _walk(config: Any):
    stack: list[Any] = [config]
    seen = 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > _MAX_OBJECTS:
            return
        if isinstance(value, dict):
            yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def keras_modules(config: dict[str, Any]) -> list[str]:
    """The Python modules a Keras config deserializes its objects from (sorted, unique).

    Keras 2.13-2.15 record Functional models under `keras.src.engine.functional`, a module
    Keras 3 does not have: that alone makes such a file unloadable under Keras 3.
    """
    modules: set[str] = set()
    for value in _walk(config):
        module = value.get("module")
        if isinstance(module, str) and "class_name" in value:
            modules.add(module)
    return sorted(modules)


def class_key(obj: dict[str, Any]) -> Optional[str]:
    """"keras.layers:Dense" for a serialized object, "Dense" where the file records no module."""
    name = obj.get("class_name")
    if not isinstance(name, str) or not name:
        return None
    module = obj.get("module")
    return f"{module}:{name}" if isinstance(module, str) and module else name


def keras_classes(config: Any) -> dict[str, list[str]]:
    """{class key: the config keys its serialized objects carry}, over every object in `config`."""
    classes: dict[str, set[str]] = {}
    for value in _walk(config):
        key = class_key(value)
        if key is None:
            continue
        keys = classes.setdefault(key, set())
        inner = value.get("config")
        if isinstance(inner, dict):
            keys.update(k for k in inner if isinstance(k, str))
    return {key: sorted(keys) for key, keys in sorted(classes.items())}


KERAS_PACKAGES = ("keras", "tf_keras")
_BUILT_IN_MODELS = ("Sequential", "Functional", "Model")


def custom_classes(config: Any) -> dict[str, Optional[str]]:
    """{class key: its `registered_name`} for the objects a config rebuilds from modules outside Keras.

    Keras writes "package>Name" for a class registered with register_keras_serializable, the bare
    class name for one that was not, and looks the name up in its registry when it loads. A legacy
    config (.h5 before Keras 2.13) records no module: there the class name itself is "package>Name".
    """
    found: dict[str, Optional[str]] = {}
    root = config.get("class_name") if isinstance(config, dict) and config.get("module") is None else None
    if isinstance(root, str) and ">" not in root and root not in _BUILT_IN_MODELS:
        found[root] = root  # a legacy config's model class is a subclass of the user's own (Keras 3's .h5)
    for value in _walk(config):
        module, name = value.get("module"), value.get("class_name")
        if not isinstance(name, str):
            continue
        if module is None and ">" in name:
            found[name] = name
            continue
        if not isinstance(module, str) or module.split(".")[0] in KERAS_PACKAGES:
            continue
        key = class_key(value)
        if key is not None:
            registered = value.get("registered_name")
            if not isinstance(registered, str):
                registered = name if ">" in name else found.get(key)
            found[key] = registered
    return dict(sorted(found.items()))


def _names(value: Any) -> list[str]:
    """Loss and metric names: strings as given, objects by their class key."""
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            key = class_key(item)
            if key:
                names.append(key)
            else:
                names.extend(n for v in item.values() for n in _names(v))
        elif isinstance(item, list):
            names.extend(_names(item))
    return names


def compile_facts(training: Any) -> Optional[dict[str, Any]]:
    """The compile facts of a Keras 3 `compile_config` or a Keras 2 `training_config`.

    Keras 2 writes {"optimizer_config": {"class_name": "Custom>Adam", ...}, "loss": ..., "metrics": ...};
    Keras 3 {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", ...}, "loss": ..., ...}.
    """
    if not isinstance(training, dict):
        return None
    optimizer = training.get("optimizer_config", training.get("optimizer"))
    facts: dict[str, Any] = {"optimizer": None, "optimizer_config_keys": []}
    if isinstance(optimizer, dict):
        facts["optimizer"] = class_key(optimizer)
        inner = optimizer.get("config")
        if isinstance(inner, dict):
            facts["optimizer_config_keys"] = sorted(k for k in inner if isinstance(k, str))
    elif isinstance(optimizer, str):
        facts["optimizer"] = optimizer
    facts["loss"] = sorted(set(_names(training.get("loss"))))
    facts["metrics"] = sorted(set(_names(training.get("metrics"))) | set(_names(training.get("weighted_metrics"))))
    facts["sample_weight_mode"] = "sample_weight_mode" in training  # Keras 2 before 2.3 writes it; 1.15 needs it
    return facts
