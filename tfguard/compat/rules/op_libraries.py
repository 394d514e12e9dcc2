"""Ops that TensorFlow does not register but a custom-op library does, and whether the server loads it.

Measured (tests/data/matrix, text_module: a tf.Module running tensorflow-text's WhitespaceTokenizer):
in every stack that did not import tensorflow_text first, the one with tensorflow-text installed
included, `tf2` and `serving` fail with "Op type not registered 'TFText>...'"; after
`import tensorflow_text` both load. So an op counts as registered when a library the server has
loaded registers it (the measured release of tfguard/compat/oplibs.py): imported by a Python server
(`evaluate(imports=)`), or linked into a model server without Python (TF Serving links
tensorflow-text's ops and TF-DF's inference ops, StackFacts.op_libraries from the catalog).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Optional

from tfguard.compat import oplibs
from tfguard.compat.judgement import Judgement, listing


def _loaded(j: Judgement) -> dict[str, tuple[Optional[str], frozenset[str]]]:
    """library -> (its release, the ops it registers) for each library the server has loaded."""
    installed = j.stack.op_libraries or {}
    loaded: dict[str, tuple[Optional[str], frozenset[str]]] = {}
    if j.serving_only:
        for library, version in installed.items():
            loaded[library] = (version, oplibs.linked_ops(library, version, j.tf))
        return loaded
    for module in j.imports:
        library = oplibs.library_of_module(module)
        if library is None:
            continue
        version = installed.get(library) or oplibs.release_built_for(library, j.tf)
        release = oplibs.measured(library, version)
        if release is not None:
            loaded[library] = (version or release["version"], oplibs.registers_on_import(release))
    return loaded


def not_loaded(j: Judgement, missing: list[str]) -> list[str]:
    """Of the ops `missing` from the runtime's TensorFlow, those no library the server loaded registers."""
    loaded = _loaded(j)
    if not loaded:
        return missing
    return [op for op in missing if not any(op in ops for _, ops in loaded.values())]


def report(j: Judgement, missing: list[str]) -> list[str]:
    """Reports the ops of `missing` that a custom-op library provides (OP_LIBRARY_NOT_LOADED, naming the
    library and why the server lacks it); returns the others, which no library tfguard measured has."""
    by_library: dict[str, list[str]] = {}
    rest = []
    for op in missing:
        found = oplibs.providers(op)
        if found:
            by_library.setdefault(sorted(found)[0], []).append(op)
        else:
            rest.append(op)
    if by_library:
        _report(j, by_library, _loaded(j))
    return rest


def _report(j: Judgement, by_library: dict[str, list[str]], loaded: dict) -> None:
    installed = j.stack.op_libraries or {}
    reasons, names, details = [], [], {}
    for library, ops in sorted(by_library.items()):
        versions = sorted({v for op in ops for v in oplibs.providers(op).get(library, [])}, key=oplibs.version_key)
        fitting = oplibs.release_built_for(library, j.tf, among=versions)
        name = f"{library} {fitting}" if fitting else library
        names.append(name)
        state, why = _state(j, library, versions, installed, loaded)
        built = "" if fitting or not j.tf_key else \
            f" (none of its measured releases is built for TensorFlow {j.tf_key[0]}.{j.tf_key[1]})"
        reasons.append(f"{listing(ops)} from {name}{built}: {why}")
        details[library] = {"ops": ops, "state": state, "registered_by": versions, "built_for_runtime": fitting}
    if j.serving_only:
        fix = (f"Serve the model from a Python TensorFlow image with {' and '.join(names)} installed and imported "
               "before the model loads, or build the model server with those ops.")
    else:
        fix = f"Install {' and '.join(names)} in the image and " + "; ".join(
            f"`{oplibs.load_hint(library)}`" for library in sorted(by_library)) + " before the model loads."
    count = sum(len(ops) for ops in by_library.values())
    # Installed in a Python image, but whether the server imports it is not in the facts: a warning,
    # never a block on a guess (the matrix's "installed, not imported" cells pass imports=()).
    unsure = not j.serving_only and not j.imports_known and all(
        d["state"] == "not imported" for d in details.values())
    j.add(
        "OP_LIBRARY_NOT_LOADED", "warning" if unsure else "error",
        f"the {j.model_label} uses {count} op{'s' if count > 1 else ''} of custom-op libraries that "
        f"{j.runtime_label} does not load: " + "; ".join(reasons),
        fix=fix,
        ops=[op for ops in by_library.values() for op in ops],
        libraries=details,
    )


def _state(j: Judgement, library: str, versions: list[str], installed: dict[str, str],
           loaded: dict[str, Any]) -> tuple[str, str]:
    """Why the server lacks the library's ops: (state, the words for the message)."""
    first = f"first in {library} {versions[0]}" if versions else "in no measured release"
    if library in loaded:
        version = loaded[library][0]
        if j.serving_only:
            return "partly linked", f"the model server links {library} {version} without these ops ({first})"
        if not oplibs.registers_on_import(oplibs.measured(library, version) or {}):
            return "registered on first use", (f"importing {library} {version} registers no ops; "
                                               f"`{oplibs.load_hint(library)}` does")
        return "too old", f"{library} {version}, which the server imports, does not register them ({first})"
    if j.serving_only:
        return "not linked", "the model server (no Python) does not link that library"
    if library in installed:
        if not j.imports_known:
            return "not imported", (f"{library} {installed[library]} is installed, but tfguard cannot tell "
                                    f"whether the server imports it before it loads the model")
        return "not imported", (f"{library} {installed[library]} is installed but the server does not "
                                f"import it before loading the model")
    return "not loaded", "the server does not import that library (nor, as far as tfguard knows, is it installed)"
