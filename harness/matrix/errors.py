"""The error kinds of the matrix: what a failed load was, from what TensorFlow really raised.

These names are a stable list (the verdict engine gets a rule per kind): add kinds, never rename
one. `classify(result)` reads the exception type, its message, the phase it failed in (load or the
call after it) and the child's stderr (a C++ abort prints there), first match wins.
"""

from __future__ import annotations

import re

# kind -> what it means
KINDS: dict[str, str] = {
    "op_not_registered": "the graph uses an op type this runtime does not register",
    "graph_def_version": "the GraphDef's producer/min_consumer versions are outside what this runtime accepts",
    "attr_not_in_opdef": "a node sets an attr the runtime's OpDef for that op does not declare",
    "no_kernel": "the op is registered but has no kernel for this device and these attrs",
    "device_placement": "a node is pinned to a device the runtime does not have (no soft placement)",
    "tag_set_not_found": "no MetaGraphDef with the requested tag set ({'serve'})",
    "multiple_metagraphs": "tf.saved_model.load needs tags= because the SavedModel has several MetaGraphs",
    "not_a_saved_model": "the path holds no saved_model.pb (a Keras file or a directory without one)",
    "proto_parse": "saved_model.pb (or keras_metadata.pb) cannot be parsed as a protobuf",
    "unknown_object_kind": "the SavedObjectGraph holds an object or function kind this runtime cannot revive",
    "variables_restore": "the variables checkpoint is missing, truncated or does not match the graph",
    "asset_missing": "an asset file the graph initialises from is missing",
    "keras_format": "this Keras cannot read this file format at all",
    "keras_module_not_found": "the Keras config names a Python module this Keras does not have",
    "keras_class_not_found": "the Keras config names a layer/model class this Keras cannot find",
    "keras_config_rejected": "a Keras class rejects the config it is given (unknown or changed arguments)",
    "keras_compile_config": "the saved optimizer, loss or metric config cannot be restored (compile=True)",
    "keras_weights": "the weights in the file do not fit the rebuilt model, or cannot be read",
    "keras_not_a_model": "Keras cannot rebuild a model (or any object) from this SavedModel, e.g. a TF1 graph "
                         "without an object graph",
    "library_import": "the custom-op library imported before the load failed to import",
    "call_failed": "the model loaded but calling its signature or model on zeros failed",
    "crash": "the process died without a Python error (a signal, an abort in C++)",
    "timeout": "the load did not finish within the time limit",
    "memory": "the load held more memory than the limit",
    "other": "none of the above (the message says what)",
}

_RULES: list[tuple[str, re.Pattern]] = [(k, re.compile(p, re.S)) for k, p in [
    ("op_not_registered", r"Op type not registered|not registered in binary|is not in the list of registered ops"
                          r"|Could not find op|OpKernel.*not registered.*op"),
    ("graph_def_version", r"GraphDef min consumer version|GraphDef producer version|bad_consumers"
                          r"|disallowed by the GraphDef|GraphDef version \d+ is no longer supported"),
    ("attr_not_in_opdef", r"NodeDef mentions attr '[^']+' not in Op|not in Op<name="),
    ("device_placement", r"Cannot assign a device for operation|Could not satisfy explicit device specification"
                         r"|Could not satisfy device specification"),
    ("no_kernel", r"No OpKernel was registered to support Op|No registered '[^']+' OpKernel"),
    ("tag_set_not_found", r"MetaGraphDef associated with tags .* could not be found"
                          r"|Could not find meta graph def matching supplied tags"),
    ("multiple_metagraphs", r"more than one MetaGraph|MetaGraphs in the SavedModel with tag sets"),
    ("not_a_saved_model", r"SavedModel file does not exist at|Could not find SavedModel .pb or .pbtxt"),
    ("proto_parse", r"Error parsing message|Can't parse .* as binary proto|Failed to parse|DecodeError"
                    r"|Protocol message|parse.*proto|proto.*parse|Truncated message|message too large"),
    ("unknown_object_kind", r"'_UserObject' object has no attribute|Unknown SavedObject|unknown object kind"
                            r"|Could not find (the )?(registered )?(class|object|function)|not a registered saved object"
                            r"|No registered (function|class|serializable)|Unable to restore custom object"),
    ("asset_missing", r"(vocab|asset)[^\n]*(No such file|NotFound|not found)"),
    ("variables_restore", r"variables\.index|variables/variables|checkpoint|TensorSliceReader|Tensor bundle"
                          r"|DataLossError|Unable to open table file|Key .* not found in checkpoint"
                          r"|Could not restore|restore.*variables|truncated record|corrupted record"
                          r"|Read less bytes than requested|node (save/)?RestoreV2"),
    ("keras_module_not_found", r"parent module .* cannot be imported|Could not import module"
                               r"|No module named .*keras"),
    # Before the compile rule: the message quotes the whole config, its optimizer included.
    ("keras_class_not_found", r"^\w*: Could not locate (class|function) '"),
    ("keras_compile_config", r"Could not deserialize 'keras\.(metrics|losses)|Could not interpret (optimizer|loss|metric)"
                             r"|is not a valid argument, kwargs should be empty\s+for `optimizer"
                             r"|Unknown (optimizer|loss|metric)|^[^\n]*optimizer[^\n]*(config|deserializ)"
                             r"|(metric|loss) function.*not found|KeyError: 'sample_weight_mode'"),
    ("keras_format", r"File format not supported|Keras 3 only supports|not a zip file|Unable to (synchronously )?open file"
                     r"|file signature not found|No file or directory found at|Unsupported .* format"
                     r"|truncated file|is not a valid|bad zip|BadZipFile|cannot be opened"
                     r"|ensure the file is an accessible `\.keras` zip file"),
    ("keras_class_not_found", r"Unknown layer|Could not locate class|Unknown object|Could not locate function"
                              r"|Unable to revive model from config"),
    ("keras_config_rejected", r"Error when deserializing class|Unrecognized keyword arguments|Keyword argument not understood"
                              r"|could not be deserialized properly"
                              r"|got an unexpected keyword argument|Could not deserialize class"),
    ("keras_weights", r"Layer .* expects \d+ weight|weight.*(mismatch|shape)|Shapes .* are incompatible"
                      r"|expected \d+ variables, but received \d+"),
]]

_KERAS_FRAMES = ("/keras/", "/tf_keras/", "/tensorflow/python/keras/")


def classify(result: dict) -> str:
    """The kind of a failed load result (from worker.py), or of the worker's own report of it."""
    if result.get("kind") in ("crash", "timeout", "memory"):
        return result["kind"]
    exception = result.get("exception") or ""
    message = result.get("message") or ""
    text = f"{exception}: {message}"
    if result.get("phase") == "import":
        return "library_import"
    for kind, pattern in _RULES:
        if pattern.search(text):
            if result.get("phase") == "call" and kind in ("keras_format", "keras_config_rejected"):
                continue
            return kind
    if result.get("phase") == "call":
        return "call_failed"
    frames = result.get("frames") or []
    if any("checkpoint" in f for f in frames[-2:]):
        return "variables_restore"
    if "'str' object is not callable" in message and any("functional.py:process_node" in f for f in frames[-2:]):
        return "keras_class_not_found"  # Keras 2 leaves a layer whose class it cannot find as its name
    if any("saved_model/load.py" in f and any(m in f for m in _KERAS_FRAMES) for f in frames[-3:]):
        return "keras_not_a_model"  # Keras 2's SavedModel reviver, failing on what it cannot revive
    return "other"


def evidence(result: dict, kind: str, limit: int = 300) -> str | None:
    """The line of the message that made it `kind`, when it is not the first line."""
    pattern = dict(_RULES).get(kind)
    if pattern is None:
        return None
    lines = [ln.strip() for ln in (result.get("message") or "").splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        if pattern.search(line) or pattern.search(f"{result.get('exception') or ''}: {line}"):
            return None if i == 0 else line[:limit]
    return None


def first_line(result: dict, limit: int = 300) -> str:
    """The error's first line, with the exception type: what a person reads first."""
    if result.get("kind") in ("crash", "timeout", "memory"):
        tail = [ln for ln in (result.get("stderr") or "").splitlines() if ln.strip()]
        return (result.get("message", "") + (f" | {tail[-1].strip()}" if tail else ""))[:limit]
    message = (result.get("message") or "").strip()
    lines = [ln for ln in message.splitlines() if ln.strip()]
    head = lines[0].strip() if lines else ""
    exception = result.get("exception")
    return (f"{exception}: {head}" if exception else head)[:limit]
