"""Load a model with a real TensorFlow release and say what happened.

    outcome = try_load(tf_python(OLD_TF), model_path("new_op_saved_model", NEW_TF), "saved_model")
    outcome.ok, outcome.error_kind   # False, "op_not_registered"

The load runs in a subprocess of the release's venv, with a timeout:
- loader "saved_model" (as TF Serving does): `tf.saved_model.load`, then the `serving_default`
  signature, if any, is called with zeros of its input shapes;
- loader "keras" (as `tf.keras.models.load_model` does): load, then call the model on zeros if
  its input shapes are known.

`CASES` is the cross-load matrix every engine test agrees with: each model built by each test
release, loaded by each test release with each loader. `observe(case)` runs one case;
`python -m harness.crossload` prints the whole table (docs/crossload.md is its output).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.models import MODELS, build_record, model_path, models_for
from harness.tfenvs import NEW_TF, OLD_TF, TEST_RELEASES, cache_dir, tf_python

LOADERS = ("saved_model", "keras")

# error_kind values
OP_NOT_REGISTERED = "op_not_registered"
GRAPH_VERSION = "graph_version"  # GraphDef producer/consumer versions rejected
KERAS_FORMAT = "keras_format"  # Keras cannot read or deserialize this format/config
NOT_A_SAVED_MODEL = "not_a_saved_model"
TIMEOUT = "timeout"
CRASH = "crash"  # the interpreter died without a Python error (signal, abort)
OTHER = "other"
ERROR_KINDS = (OP_NOT_REGISTERED, GRAPH_VERSION, KERAS_FORMAT, NOT_A_SAVED_MODEL, TIMEOUT, CRASH, OTHER)


@dataclass(frozen=True)
class LoadOutcome:
    ok: bool
    error_kind: str | None
    message: str  # the last lines of the error, or what was called on success
    exception: str | None = None  # the Python exception type, e.g. "NotFoundError"

    def to_dict(self) -> dict:
        return asdict(self)


_LOAD_SCRIPT = r'''
import json, os, sys, traceback
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
path, loader = sys.argv[1], sys.argv[2]
result = {"ok": False, "called": None}
try:
    import tensorflow as tf

    def zeros(shape, dtype):
        shape = tf.TensorShape(shape)
        dims = [1 if d is None else d for d in (shape.as_list() if shape.rank is not None else [1])]
        dtype = tf.as_dtype(dtype)
        if dtype == tf.string:
            return tf.fill(dims, "")
        return tf.zeros(dims, dtype)

    if loader == "saved_model":
        obj = tf.saved_model.load(path)
        signature = getattr(obj, "signatures", {}).get("serving_default")
        if signature is not None:
            _, kwargs = signature.structured_input_signature
            signature(**{name: zeros(spec.shape, spec.dtype) for name, spec in kwargs.items()})
            result["called"] = "serving_default"
    else:
        model = tf.keras.models.load_model(path)
        inputs = getattr(model, "inputs", None)
        if inputs:
            model([zeros(t.shape, t.dtype) for t in inputs] if len(inputs) > 1 else zeros(inputs[0].shape, inputs[0].dtype))
            result["called"] = type(model).__name__
    result["ok"] = True
except BaseException as exc:
    tb = traceback.extract_tb(exc.__traceback__)
    result.update(
        exception=type(exc).__name__,
        message=str(exc),
        frames=[f.filename for f in tb],
    )
sys.stdout.write("\n" + json.dumps(result) + "\n")
'''

_PATTERNS = (
    (OP_NOT_REGISTERED, re.compile(r"Op type not registered")),
    (GRAPH_VERSION, re.compile(r"GraphDef (min consumer|producer|version)|bad_consumers|consumer version|producer version", re.I)),
    (NOT_A_SAVED_MODEL, re.compile(r"SavedModel file does not exist|Could not find SavedModel|not a directory|does not exist", re.I)),
    (KERAS_FORMAT, re.compile(
        r"File format not supported|Keras 3 only supports|Unknown layer|Could not (locate|deserialize)|"
        r"Unable to (load|restore)|keras_metadata|unsupported.*format|not a valid|legacy", re.I)),
)


def classify(message: str, exception: str | None = None, frames: list[str] | None = None, loader: str = "") -> str:
    """The error_kind of a failed load, from its message (and where it was raised)."""
    for kind, pattern in _PATTERNS:
        if pattern.search(message):
            return kind
    if loader == "keras" and any("/keras/" in f or "/tf_keras/" in f for f in (frames or [])[-3:]):
        return KERAS_FORMAT
    return OTHER


def _summary(message: str, chars: int = 1500) -> str:
    """The start of an exception message (what it is about) and its end (often the hint)."""
    message = message.strip()
    if len(message) <= chars:
        return message
    return message[: chars // 2] + " ... " + message[-chars // 2 :]


def _tail(text: str, lines: int = 8, chars: int = 1500) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(kept)[-chars:]


def try_load(python: Path | str, model: Path | str, loader: str, timeout: float = 300) -> LoadOutcome:
    """Really load `model` with the TensorFlow of `python` using `loader`; never raises for a failed load."""
    if loader not in LOADERS:
        raise ValueError(f"loader must be one of {LOADERS}, not {loader!r}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    try:
        done = subprocess.run(
            [str(python), "-c", _LOAD_SCRIPT, str(model), loader],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=Path(model).parent,
        )
    except subprocess.TimeoutExpired:
        return LoadOutcome(False, TIMEOUT, f"loading took longer than {timeout:.0f}s")
    last = done.stdout.strip().splitlines()[-1:] or [""]
    try:
        result = json.loads(last[0])
    except ValueError:
        return LoadOutcome(False, CRASH, f"exit status {done.returncode}: {_tail(done.stderr)}")
    if result["ok"]:
        called = result.get("called")
        return LoadOutcome(True, None, f"loaded; called {called}" if called else "loaded")
    message = result.get("message") or ""
    kind = classify(message, result.get("exception"), result.get("frames"), loader)
    return LoadOutcome(False, kind, _summary(message), result.get("exception"))


@dataclass(frozen=True)
class Case:
    model: str  # a name from harness.models.MODELS
    producer: str  # the TF release that saved it
    runtime: str  # the TF release that loads it
    loader: str  # "saved_model" | "keras"

    @property
    def path(self) -> Path:
        return model_path(self.model, self.producer)

    @property
    def id(self) -> str:
        return f"{self.model}@{self.producer}->{self.runtime}/{self.loader}"


def cases(releases: tuple[str, ...] = TEST_RELEASES) -> list[Case]:
    """Every model built by every release, loaded by every release with every loader."""
    return [
        Case(model, producer, runtime, loader)
        for producer in releases
        for model in models_for(producer)
        for runtime in releases
        for loader in LOADERS
    ]


CASES: tuple[Case, ...] = tuple(cases())


def _cache_file(case: Case) -> Path:
    build_id = build_record(case.model, case.producer)["build_id"]
    # Keyed by the built model, the venv, the loader, the load script and (through its docstring)
    # how a message is summarised: change any of them and the case is loaded again.
    key = hashlib.sha256(
        json.dumps([build_id, str(tf_python(case.runtime)), case.loader, _LOAD_SCRIPT, _summary.__doc__]).encode()
    ).hexdigest()[:16]
    return cache_dir() / "crossload" / f"{case.model}-{case.producer}-{case.runtime}-{case.loader}-{key}.json"


def observe(case: Case, fresh: bool = False) -> LoadOutcome:
    """What happens when `case.runtime` loads the model with `case.loader`.

    The answer for a given built model, venv and load script never changes, so it is kept under
    $TFGUARD_CACHE/crossload; `fresh=True` loads again regardless (the cross-load test does).
    """
    cached = _cache_file(case)
    if not fresh and cached.exists():
        return LoadOutcome(**json.loads(cached.read_text()))
    outcome = try_load(tf_python(case.runtime), case.path, case.loader)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(outcome.to_dict()))
    os.replace(tmp, cached)
    return outcome


def observe_all(
    selected: list[Case] | tuple[Case, ...] = CASES, fresh: bool = False, workers: int = 2
) -> dict[Case, LoadOutcome]:
    for case in selected:  # build models first, serially (each build holds its own lock)
        case.path
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda c: observe(c, fresh), selected))
    return dict(zip(selected, outcomes))


def markdown_table(outcomes: dict[Case, LoadOutcome]) -> str:
    lines = [
        "# Cross-load matrix",
        "",
        "Real models saved by one TensorFlow release and loaded by another, in real venvs",
        f"(tensorflow-cpu {OLD_TF} and {NEW_TF}). Generated by `python -m harness.crossload`;",
        "the models are described in `harness/models.py`, the loaders in `harness/crossload.py`.",
        "",
        "| artifact | format | producer | runtime | loader | actual | error |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, outcome in outcomes.items():
        record = build_record(case.model, case.producer)
        fmt = MODELS[case.model].kind
        if record.get("keras_metadata"):
            fmt += " + keras_metadata.pb"
        actual = "loads" if outcome.ok else f"fails: {outcome.error_kind}"
        first_line = outcome.message.replace(str(cache_dir()), "$TFGUARD_CACHE").splitlines()[0] if outcome.message else ""
        error = "" if outcome.ok else first_line[:140].replace("|", "\\|")
        if outcome.exception:
            error = f"{outcome.exception}: {error}"
        lines.append(
            f"| {case.model} | {fmt} | {case.producer} | {case.runtime} | {case.loader} | {actual} | {error} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    fresh = "--fresh" in argv
    outcomes = observe_all(CASES, fresh=fresh)
    sys.stdout.write(markdown_table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
