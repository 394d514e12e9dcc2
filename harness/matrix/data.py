"""The matrix as committed data (tests/data/matrix/), its model facts, and docs/crossload.md.

    artifacts = load_artifacts()   # one dict per artifact: id, recipe, producer, format, made, ...
    cells = load_cells()           # one dict per load: artifact, runtime, loader, outcome, error_kind, ...
    facts = load_facts()           # {artifact id: ModelFacts dict, or {"inspect_error": ...}}

Files (all sorted, one JSON object a line, so a diff shows what changed):
- artifacts.jsonl: every recipe x producer, made or not (with the reason);
- cells.jsonl.gz: every load (gzip: tens of thousands of rows; written with mtime 0, deterministic);
- stacks.jsonl: every runtime stack: the versions it really holds, or why it could not run;
- facts.jsonl: tfguard.compat.inspect of every made artifact (`tools/crossload_matrix.py facts`
  recomputes it from the cached artifacts, without TensorFlow);
- fidelity.json: forked-child loads against fresh-process loads of the same cells;
- unjudged-cells.jsonl.gz: loads measured but not yet held to the engine (cells.jsonl.gz is what
  tests/engine/test_matrix_agreement.py checks): they move there once the rules account for them.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from harness.matrix import store
from harness.matrix.errors import KINDS, classify, evidence
from harness.matrix.recipes import RECIPES
from harness.matrix.stacks import NIGHTLY, RELEASES, Stack, base_stacks, extra_stacks, release_key

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "matrix"
ARTIFACTS = DATA / "artifacts.jsonl"
CELLS = DATA / "cells.jsonl.gz"
STACKS = DATA / "stacks.jsonl"
FACTS = DATA / "facts.jsonl"
FIDELITY = DATA / "fidelity.json"
UNJUDGED = DATA / "unjudged-cells.jsonl.gz"
DOC = REPO / "docs" / "crossload.md"

ARTIFACT_FIELDS = ("id", "recipe", "producer", "family", "format", "tier", "description", "made", "reason", "method",
                   "artifact", "tf_version", "tf_git_version", "keras_package", "keras_version", "library", "server_imports",
                   "library_version", "derived_from", "digest", "size_bytes")
CELL_FIELDS = ("artifact", "producer", "runtime", "loader", "imports", "outcome", "phase", "called", "error_kind",
               "exception", "first_line", "evidence", "seconds")


def _clean(text):
    if not isinstance(text, str):
        return text
    text = text.replace(str(store.root() / "artifacts"), "$MATRIX").replace(str(store.root()), "$MATRIX_CACHE") \
        .replace(str(store.cache_dir()), "$TFGUARD_CACHE")
    # neither the checkout the makers ran from nor where an object sat in memory is a fact of the artifact
    return _ADDRESS.sub(" at 0x…", _CHECKOUT.sub("$REPO/harness/", text))


_CHECKOUT = re.compile(r"/[^\s\"',:]*/harness/(?=matrix/)")
_ADDRESS = re.compile(r" at 0x[0-9a-f]{6,16}\b")


def _jsonl(rows) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_artifacts() -> list[dict]:
    return _read_jsonl(ARTIFACTS)


def load_cells() -> list[dict]:
    return _read_jsonl(CELLS)


def load_unjudged_cells() -> list[dict]:
    return _read_jsonl(UNJUDGED)


def load_stacks() -> list[dict]:
    return _read_jsonl(STACKS)


def load_facts() -> dict[str, dict]:
    return {row["artifact"]: row["facts"] if "facts" in row else
            {k: row[k] for k in ("inspect_error", "inspect_format") if k in row}
            for row in _read_jsonl(FACTS)}


def _write_gzip(path: Path, text: str) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(text.encode())
    path.write_bytes(buf.getvalue())


def _all_stacks() -> list[Stack]:
    return base_stacks(RELEASES) + extra_stacks(RELEASES)


def _stack_rows() -> list[dict]:
    rows = []
    for stack in _all_stacks():
        status = store.read_json(store.root() / "stacks" / f"{stack.id}.json")
        if status is None:
            continue
        row = {k: status.get(k) for k in ("stack", "usable", "venv", "python", "tf_version", "tf_git_version",
                                           "packages", "reason")}
        row["reason"] = _clean(row["reason"])[-600:] if row["reason"] else None
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def export(hold: frozenset[str] = frozenset()) -> dict[str, int]:
    """Write artifacts.jsonl, cells.jsonl.gz, stacks.jsonl from the cache and the committed data, then
    facts and the doc.

    The committed data is the matrix's memory: a cache lives on one machine, and a session on another
    starts with an empty one. So what the cache lacks (an artifact not made here, a cell not loaded
    here, a stack not installed here) is kept from the committed files, and what the cache holds
    replaces it. An artifact remade here rarely has the bytes it had (Keras writes fresh random
    weights): its committed cells are kept when tfguard's facts of the new bytes equal the committed
    facts, and dropped (to be loaded again) when they differ.

    Cells of the runtimes in `hold` that the committed cells lack, and cells already held, go to
    unjudged-cells.jsonl.gz: measured and kept, not yet held to the engine (`judge` moves them).
    """
    DATA.mkdir(parents=True, exist_ok=True)
    committed_artifacts = {row["id"]: _cleaned(row) for row in load_artifacts()}
    committed_cells = [_cleaned(cell) for cell in load_cells()]
    committed_facts = {row["artifact"]: row for row in _read_jsonl(FACTS)}
    committed_stacks = {row["stack"]: row for row in load_stacks()}

    records = [r for r in store.all_records() if r.get("recipe") in RECIPES]
    artifacts = {i: row for i, row in committed_artifacts.items() if row.get("recipe") in RECIPES}
    for r in records:
        if not r.get("made") and committed_artifacts.get(r["id"], {}).get("made"):
            continue  # made before, not here (a venv that would not install on this machine)
        if r.get("made") and not r["recipe"].startswith("hostile_"):
            r["format"] = store.sniff_format(store.artifact_dir(r["producer"], r["recipe"]) / r["artifact"]) or r["format"]
        artifacts[r["id"]] = {k: _clean(r.get(k)) for k in ARTIFACT_FIELDS if r.get(k) is not None}
    ARTIFACTS.write_text(_jsonl(artifacts[i] for i in sorted(artifacts)))

    cached_stacks = _stack_rows()
    stacks = dict(committed_stacks)
    stacks.update((row["stack"], row) for row in cached_stacks)
    order = {stack.id: n for n, stack in enumerate(_all_stacks())}
    STACKS.write_text(_jsonl(sorted(stacks.values(), key=lambda row: (order.get(row["stack"], len(order)), row["stack"]))))

    facts = _facts_rows(r for r in records if r.get("made") and artifacts[r["id"]].get("digest") == r.get("digest"))
    # The same bytes are the same model, whatever inspection learnt to say about them since.
    remade_unlike = {i for i, row in facts.items() if i in committed_facts
                     and row.get("digest") != committed_facts[i].get("digest") and not _same_facts(row, committed_facts[i])}
    merged_facts = {i: row for i, row in committed_facts.items() if i in artifacts and artifacts[i].get("made")}
    merged_facts.update(facts)
    if merged_facts or not FACTS.exists():
        FACTS.write_text(_jsonl(merged_facts[i] for i in sorted(merged_facts)))

    kept = lambda c: c["artifact"] in artifacts and c["artifact"] not in remade_unlike  # noqa: E731
    cells = {_cell_key(c): c for c in committed_cells if kept(c)}
    held = {_cell_key(c): c for c in map(_cleaned, load_unjudged_cells()) if kept(c)}
    for c in _cached_cells(records, cached_stacks):
        key = _cell_key(c)
        if key in held or (key not in cells and c["runtime"] in hold):
            held[key] = c
        else:
            cells[key] = c
    ordered = sorted(cells.values(), key=_cell_key)
    _write_gzip(CELLS, _jsonl(ordered))
    _write_gzip(UNJUDGED, _jsonl(sorted(held.values(), key=_cell_key)))
    write_docs()
    return {str(ARTIFACTS.relative_to(REPO)): len(artifacts), str(CELLS.relative_to(REPO)): len(ordered),
            str(UNJUDGED.relative_to(REPO)): len(held),
            str(STACKS.relative_to(REPO)): len(stacks), str(FACTS.relative_to(REPO)): len(merged_facts),
            "artifacts remade with other facts (their committed cells dropped)": len(remade_unlike)}


def judge(runtimes: frozenset[str] = frozenset()) -> int:
    """Move the unjudged cells of `runtimes` (all, when empty) into cells.jsonl.gz, where the engine
    is held to them; returns how many moved. A failure is classified again from its first line and
    evidence (the rules may have learnt since it was loaded), keeping its kind where they say nothing."""
    held = load_unjudged_cells()
    moving = [c for c in held if not runtimes or c["runtime"] in runtimes]
    for cell in moving:
        if cell["outcome"] == "fails" and cell.get("error_kind") not in ("crash", "timeout", "memory"):
            line = cell.get("first_line") or ""
            exception = cell.get("exception") or ""
            message = line[len(exception) + 2:] if exception and line.startswith(f"{exception}: ") else line
            if cell.get("evidence"):
                message += "\n" + cell["evidence"]
            kind = classify({"exception": exception, "message": message, "phase": cell.get("phase"),
                             "loader": cell["loader"]})
            if kind not in ("other", "call_failed"):
                cell["error_kind"] = kind
    cells = {_cell_key(c): c for c in load_cells()}
    cells.update((_cell_key(c), c) for c in moving)
    _write_gzip(CELLS, _jsonl(sorted(cells.values(), key=_cell_key)))
    _write_gzip(UNJUDGED, _jsonl(sorted((c for c in held if c not in moving), key=_cell_key)))
    return len(moving)


def _cleaned(row: dict) -> dict:
    return {k: _clean(v) for k, v in row.items()}


def _cell_key(cell: dict) -> tuple:
    return (cell["artifact"], cell["runtime"], cell["loader"], tuple(cell.get("imports", ())))


def _cached_cells(records: list[dict], stack_rows: list[dict]) -> list[dict]:
    """The cache's cells of the artifacts as they are now, on the runtimes' venvs as they are now."""
    current_venv = {s["stack"]: s.get("venv") for s in stack_rows if s.get("usable")}
    digests = {r["id"]: r.get("digest") for r in records if r.get("made")}
    cells = []
    for path in sorted((store.root() / "cells").glob("*/*/*.json")):
        cell = store.read_cell(path)
        if not cell or digests.get(cell["artifact"]) != cell["digest"]:
            continue  # a cell of an artifact since remade, or of another loader revision
        if current_venv.get(cell["runtime"]) != cell["venv"]:
            continue  # a cell of a venv since rebuilt with other pins
        if cell["outcome"] == "fails":  # classified again: the rules may have learnt since the load
            cell["error_kind"] = reclassify(cell)
            cell["evidence"] = evidence({"message": cell.get("message"), "exception": cell.get("exception")},
                                        cell["error_kind"])
        cells.append({k: _clean(cell.get(k)) for k in CELL_FIELDS if cell.get(k) not in (None, [])})
    return cells


def _same_facts(new: dict, committed: dict) -> bool:
    """Whether two facts rows describe the same model: equal in every fact both record (a fact
    inspection learnt since the commit is new, not a difference), whatever their bytes and place."""
    if ("facts" in new) != ("facts" in committed):
        return False
    if "facts" not in new:
        return new.get("inspect_error") == committed.get("inspect_error")
    a, b = new["facts"], committed["facts"]
    return all(a[k] == b[k] for k in a.keys() & b.keys() if k not in ("digest", "path"))


def reclassify(cell: dict) -> str:
    result = {"exception": cell.get("exception"), "message": cell.get("message"), "phase": cell.get("phase"),
              "frames": cell.get("frames"), "stderr": cell.get("stderr_tail"), "loader": cell["loader"]}
    if cell.get("error_kind") in ("crash", "timeout", "memory"):
        result["kind"] = cell["error_kind"]
    return classify(result)


def write_facts() -> tuple[int, int]:
    """facts.jsonl: tfguard.compat.inspect of every made artifact in the cache (no TensorFlow); the
    committed rows of artifacts the cache does not hold are kept."""
    made = {r["id"]: r for r in load_artifacts() if r.get("made")}
    rows = {row["artifact"]: row for row in _read_jsonl(FACTS) if row["artifact"] in made}
    rows.update(_facts_rows(made.values()))
    if rows or not FACTS.exists():
        FACTS.write_text(_jsonl(rows[i] for i in sorted(rows)))
    return len(rows), sum(1 for row in rows.values() if "inspect_error" in row)


def _facts_rows(records) -> dict[str, dict]:
    """{artifact id: its facts row} for the given artifact records whose files are in the cache."""
    from tfguard.compat.inspect import inspect_model

    rows = {}
    for record in sorted(records, key=lambda r: r["id"]):
        path = store.artifact_dir(record["producer"], record["recipe"]) / record["artifact"]
        if not path.exists() and not path.is_symlink():
            continue
        row = {"artifact": record["id"], "digest": record.get("digest")}
        try:
            facts = inspect_model(path).to_dict()
            facts["path"] = f"$MATRIX/{record['producer']}/{record['recipe']}/{record['artifact']}"
            row["facts"] = facts
        except Exception as exc:  # InspectError is the expected one; anything else is a finding for inspect
            row["inspect_error"] = f"{type(exc).__name__}: {_clean(str(exc))}"[:1000]
            if getattr(exc, "format", None):
                row["inspect_format"] = exc.format
        rows[record["id"]] = row
    return rows


def write_fidelity(report: dict) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    FIDELITY.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------- the summary doc


def _stack_order(stack_id: str) -> tuple:
    stack = Stack.parse(stack_id)
    base = (99, 0) if stack.is_nightly else release_key(stack.tf)
    return (base, stack.extra)


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return out


_PROSE = """\
# Cross-load matrix

Real artifacts saved by TensorFlow releases, each loaded by every runtime stack with every loader, in
real venvs. This page is a summary of the data in `tests/data/matrix/` (one row per artifact, per
load), generated by `python tools/crossload_matrix.py data` from the cache the tool fills
(`nice python tools/crossload_matrix.py run`; resumable, cached per cell; see `harness/matrix/`).
The 40 fixture cases the rest of the test suite uses (`harness/crossload.py`) are a separate, pinned
subset: tests/knowledge/test_crossload.py.

**Loaders.** Each one loads, then calls what a server would call on zeros (unknown dimensions 1):
- `tf2`: `tf.saved_model.load(path)` (on TF 1.x after `enable_v2_behavior()`), then the
  `serving_default` signature;
- `serving`: what TF Serving's C++ `LoadSavedModel` does, with the same C++ underneath:
  `tf.compat.v1.saved_model.loader.load(sess, {"serve"}, path)` in a fresh Graph and Session whose
  ConfigProto is left at its defaults, as TF Serving's model server leaves it (it sets only the GPU
  memory fraction and the thread-pool sizes from its flags, both default 0; so no soft placement),
  then `Session.run` of the `serving_default` SignatureDef;
- `keras` / `keras_nocompile`: `tf.keras.models.load_model(path)` with `compile=True` (the default)
  or `compile=False`, then the model on zeros (`predict` in TF 1.x graph mode);
- `tf_keras` / `tf_keras_nocompile`: the same with `tf_keras` (tf-keras installed `--no-deps` next to
  a 2.16+ TF: stack `X+tf_keras`);
- for custom-op artifacts, on stack `X+text` (tensorflow-text installed `--no-deps`) or `X+tfdf`
  (tensorflow-decision-forests, with pandas, wurlitzer and from 1.9 tf-keras, `--no-deps`): `tf2` and
  `serving` with the library imported before the load (`+import:tensorflow_text`,
  `+import:tensorflow_decision_forests`) and installed but not imported; on the plain stack `X` the
  library is absent.

A model with no `serving_default` (or a Keras model without known inputs) counts as loaded with
nothing called (`called` is empty in the data).

**Isolation.** A runtime stack runs one fork server: it imports TensorFlow (and, for the Keras
loaders, touches `tf.keras` / imports `tf_keras`, which those loaders do first anyway), then forks
a child per cell. A child that dies is a `crash`, one that runs past 300 s a `timeout`, one whose
memory passes 6000 MiB is killed as `memory`. The fidelity check below loads a sample of cells
again, each in a fresh interpreter, and compares.

**The data** (`harness.matrix.data.load_artifacts()`, `load_cells()`, `load_stacks()`,
`load_facts()` read it):
- `artifacts.jsonl`: `id` (`recipe@producer`), `recipe`, `producer` (a release, `nightly-...`, or
  `X+tf_keras` / `X+text` for a producer with that package), `family`, `format` (what was really
  written: `saved_model`, `h5`, `keras_v3`), `description`, `method`, `made` and, when not, `reason`;
  `tf_version`, `tf_git_version`, `keras_package`, `keras_version`, `library`, `digest`;
- `cells.jsonl.gz`: `artifact`, `producer`, `runtime` (a stack id), `loader`, `imports` (modules
  imported before the load), `outcome` (`loads` | `fails`), `phase` (`load` or `call`: what failed
  or how far it got), `called` (`serving_default`, the model class, or absent: nothing to call),
  `error_kind` (one of `harness.matrix.errors.KINDS`), `exception`, `first_line`, `evidence` (the
  message line that decided the kind, where it is not the first), `seconds`;
- `stacks.jsonl`: each runtime stack's real versions (`tf_version`, `python`, `packages`: keras,
  tf-keras, numpy, protobuf, h5py, tensorflow-text) or why it could not run;
- `facts.jsonl`: `tfguard.compat.inspect` of each made artifact (`facts`, a ModelFacts dict) or
  the `inspect_error` it raised; `python tools/crossload_matrix.py facts` recomputes it from the
  cached artifacts in seconds, without TensorFlow;
- `fidelity.json`: the fork-against-fresh sample.

**Growing it.** `nice python tools/crossload_matrix.py run [--priority 3]` does what the cache
lacks, priority by priority (1: the core recipes of the core producers, `CORE` x `CORE_PRODUCERS`
in `harness/matrix/recipes.py`; 2: the core recipes of every producer; 3: everything), then
`python tools/crossload_matrix.py data` rewrites this page and the data. `status` says what is
pending; `--redo KIND[:TEXT]` loads again the cells of one error kind after a loader fix. A new
recipe goes in `harness/matrix/recipes.py` and `harness/matrix/inside/makers.py`; bump its `rev`
when its code changes, `store.LOADER_REVISION` when a loader changes what it does.
"""


def write_docs() -> None:
    artifacts, cells, stacks = load_artifacts(), load_cells(), load_stacks()
    fidelity = json.loads(FIDELITY.read_text()) if FIDELITY.exists() else None
    facts = load_facts()
    made = [a for a in artifacts if a.get("made")]
    lines = [_PROSE]

    producers = sorted({a["producer"] for a in made}, key=_stack_order)
    runtimes = sorted({c["runtime"] for c in cells}, key=_stack_order)
    lines += ["## Coverage", ""]
    lines.append(f"- **{len(made)} artifacts** made ({len(artifacts) - len(made)} recipe x producer pairs "
                 f"not made, each with its reason in artifacts.jsonl), from {len(producers)} producers: "
                 f"{', '.join(producers) or 'none'}.")
    lines.append(f"- **{len(cells)} cells** (loads) on {len(runtimes)} runtime stacks: {', '.join(runtimes) or 'none'}.")
    unusable = [s for s in stacks if not s.get("usable")]
    for s in unusable:
        lines.append(f"- stack {s['stack']} could not run: {(s.get('reason') or '').splitlines()[-1][:200]}")
    wanted = {s.id for s in base_stacks(RELEASES) + extra_stacks(RELEASES)}
    missing = sorted(wanted - {s["stack"] for s in stacks}, key=_stack_order)
    if missing:
        lines.append(f"- not run yet: {', '.join(missing)}.")
    tiers = Counter((RECIPES[a["recipe"]].tier if a["recipe"] in RECIPES else 0) for a in made)
    lines.append(f"- artifacts by tier: {dict(sorted(tiers.items()))} (tier 1 is the core, "
                 "`harness.matrix.recipes.CORE`; every runtime and loader gets it first).")
    expected = _expected_cells(made, stacks)
    if expected:
        lines.append(f"- {len(cells)} of the {expected} cells that the made artifacts and the usable stacks "
                     f"call for are loaded ({100 * len(cells) / expected:.0f}%).")
    inspect_errors = sum(1 for f in facts.values() if "inspect_error" in f)
    lines.append(f"- model facts (facts.jsonl): {len(facts)} artifacts inspected, {inspect_errors} refused by "
                 "`tfguard inspect` with a message.")
    lines.append("")

    lines += ["## Outcomes per loader", ""]
    per_loader = defaultdict(Counter)
    for c in cells:
        key = c["loader"] + "".join(f" +import:{m}" for m in c.get("imports", []))
        per_loader[key][c["outcome"] if c["outcome"] == "fails" else ("loads" if c.get("called") else "loads, nothing called")] += 1
    rows = [[k, sum(v.values()), v["loads"], v["loads, nothing called"], v["fails"]] for k, v in sorted(per_loader.items())]
    lines += _table(["loader", "cells", "loads (and called)", "loads, nothing called", "fails"], rows) + [""]

    lines += ["## Error kinds", "",
              "The stable list is `harness.matrix.errors.KINDS`; each is classified from what TF raised.", ""]
    by_kind = defaultdict(list)
    for c in cells:
        if c["outcome"] == "fails":
            by_kind[c["error_kind"]].append(c)
    rows = []
    for kind in KINDS:
        found = by_kind.get(kind, [])
        if not found:
            continue
        loaders = Counter(c["loader"] for c in found)
        example = found[len(found) // 2]
        rows.append([f"`{kind}`", len(found), ", ".join(f"{k} {n}" for k, n in sorted(loaders.items())),
                     f"{example['artifact']} on {example['runtime']}/{example['loader']}: "
                     f"{(example.get('first_line') or '')[:150]}"
                     + (f" ... {example['evidence'][:150]}" if example.get("evidence") else "")])
    lines += _table(["kind", "cells", "per loader", "example"], rows) + [""]
    absent = [k for k in KINDS if k not in by_kind]
    if absent:
        lines += [f"Kinds with no cell yet: {', '.join(f'`{k}`' for k in absent)}.", ""]

    lines += ["## Producer x runtime, per loader", "",
              "Each entry is loads/cells for the artifacts of the producer (rows) on the runtime (columns).", ""]
    grid = defaultdict(lambda: defaultdict(Counter))
    for c in cells:
        grid[c["loader"] + "".join(f"+import:{m}" for m in c.get("imports", []))][(c["producer"], c["runtime"])][c["outcome"]] += 1
    for loader in sorted(grid):
        cols = sorted({r for (_, r) in grid[loader]}, key=_stack_order)
        prows = sorted({p for (p, _) in grid[loader]}, key=_stack_order)
        lines += [f"### {loader}", ""]
        rows = []
        for p in prows:
            row = [p]
            for r in cols:
                n = grid[loader].get((p, r))
                row.append(f"{n['loads']}/{n['loads'] + n['fails']}" if n else "")
            rows.append(row)
        lines += _table(["producer \\ runtime", *cols], rows) + [""]

    lines += ["## Cost", ""]
    timed = [c["seconds"] for c in cells if c.get("seconds")]
    if timed:
        per_runtime = defaultdict(list)
        for c in cells:
            if c.get("seconds"):
                per_runtime[c["runtime"]].append(c["seconds"])
        slowest = sorted(((sum(v) / len(v), k) for k, v in per_runtime.items()), reverse=True)[:3]
        lines.append(f"A cell takes {sum(timed) / len(timed):.2f} s on average in its forked child (median "
                     f"{sorted(timed)[len(timed) // 2]:.2f} s, {sum(timed) / 3600:.1f} child-hours for all {len(timed)} "
                     "timed cells), on a shared 2-core machine; each runtime group also pays one TensorFlow import "
                     "(5-30 s). Slowest runtimes per cell: "
                     + ", ".join(f"{k} {v:.2f} s" for v, k in slowest) + ".")
    lines.append("")

    lines += ["## What producers could not make", ""]
    not_made = defaultdict(list)
    for a in artifacts:
        if not a.get("made"):
            not_made[(a["recipe"], (a.get("reason") or "")[:150])].append(a["producer"])
    rows = [[r, ", ".join(sorted(p, key=_stack_order)), reason] for (r, reason), p in sorted(not_made.items())]
    lines += _table(["recipe", "producers", "reason"], rows) + [""]

    lines += ["## Fidelity: forked child against fresh process", ""]
    if fidelity:
        lines.append(f"{fidelity['agree']} of {fidelity['checked']} sampled cells gave the same outcome, error kind "
                     f"and first error line in a fresh interpreter as in a child forked from the fork server "
                     f"(sample seed {fidelity['seed']}, spread over runtimes, loaders and outcomes; "
                     f"fresh loads took {fidelity.get('fresh_seconds_mean', 0):.1f} s each on average against "
                     f"{fidelity.get('fork_seconds_mean', 0):.1f} s forked).")
        for d in fidelity.get("disagreements", []):
            lines.append(f"- differs: {d}")
    else:
        lines.append("Not run yet (`python tools/crossload_matrix.py fidelity`).")
    lines.append("")
    DOC.write_text("\n".join(lines))


def _expected_cells(made: list[dict], stacks: list[dict]) -> int:
    from harness.matrix.run import loaders_for

    total = 0
    for s in stacks:
        if not s.get("usable"):
            continue
        stack = Stack.parse(s["stack"])
        for a in made:
            total += len(loaders_for(stack, a))
    return total
