"""The verdict engine against every cell of the measured cross-load matrix (tests/data/matrix/).

    python -m harness.agreement              # the summary, per loader
    python -m harness.agreement --doc        # docs/verdicts.md
    python -m harness.agreement --misses     # every cell the engine gets wrong, with why

Each cell is one real load: an artifact saved by a producer release, loaded by a runtime stack with
a loader. The engine judges the artifact's inspected facts (facts.jsonl) on the runtime's stack as a
probe would report it, for that loader. Agreement, per the targets:
- a real failure must be `incompatible` (a miss if it is `compatible`; `risky` is listed, with why);
- a real load must not be `incompatible` (a false block);
- `compatible` is never given to a failure.
"""

from __future__ import annotations

import argparse
import collections
import sys
from dataclasses import dataclass, field
from typing import Optional

from harness.matrix import data as matrix
from tfguard.compat import oplibs
from tfguard.compat.facts import ModelFacts, StackFacts, Verdict
from tfguard.compat.verdict import evaluate, version_key

# What each error kind of the matrix is, in the engine's finding codes: a failure judged
# incompatible must name one of these (its cause), not some other error.
CAUSES: dict[str, tuple[str, ...]] = {
    "op_not_registered": ("OP_NOT_REGISTERED", "OP_LIBRARY_NOT_LOADED"),
    "graph_def_version": ("GRAPH_MIN_CONSUMER", "GRAPH_BAD_CONSUMER", "GRAPH_PRODUCER_TOO_OLD"),
    "attr_not_in_opdef": ("OP_ATTR_NOT_IN_OPDEF",),
    "no_kernel": ("OP_NO_CPU_KERNEL",),
    "device_placement": ("NODES_PINNED_TO_MISSING_DEVICE",),
    "tag_set_not_found": ("SAVED_MODEL_NO_SERVE_TAG_SET",),
    "multiple_metagraphs": ("SAVED_MODEL_SEVERAL_METAGRAPHS",),
    # Keras before 2.12 takes a .keras zip for a SavedModel directory.
    "not_a_saved_model": ("SAVED_MODEL_LOADER_ON_KERAS_FILE", "KERAS_FILE_NOT_SERVABLE", "KERAS_FORMAT_NOT_READ",
                          "KERAS3_FILE_ON_KERAS2"),
    "proto_parse": ("MODEL_UNLOADABLE", "KERAS_METADATA_NOT_READ", "KERAS_LAYERS_WITHOUT_METADATA"),
    "unknown_object_kind": ("SAVED_OBJECT_KIND_UNKNOWN", "OPTIMIZER_SLOTS_NOT_REVIVED"),
    "variables_restore": ("VARIABLES_BROKEN",),
    "asset_missing": ("ASSETS_MISSING",),
    # ... and h5py's "Unable to open file (truncated file ...)" for an .h5 file cut short.
    "keras_format": ("KERAS3_CANNOT_LOAD_SAVEDMODEL", "KERAS3_FILE_ON_KERAS2", "KERAS_FORMAT_NOT_READ", "MODEL_UNLOADABLE"),
    "keras_weights": ("KERAS_NEWER_THAN_RUNTIME", "KERAS_OLDER_THAN_RUNTIME"),
    # Keras 3 says "Could not locate class" for a class whose module does not import.
    "keras_module_not_found": ("KERAS_MODULE_NOT_IN_RUNTIME", "KERAS_CLASS_NOT_IN_RUNTIME"),
    "keras_class_not_found": ("KERAS_CLASS_NOT_IN_RUNTIME", "KERAS_MODULE_NOT_IN_RUNTIME", "KERAS3_FILE_ON_KERAS2",
                              "KERAS_CUSTOM_CLASS_NOT_REGISTERED", "KERAS_CUSTOM_MODULE_NOT_IMPORTED"),
    "keras_config_rejected": ("KERAS_CONFIG_REJECTED", "KERAS3_FILE_ON_KERAS2"),
    "keras_compile_config": ("KERAS_COMPILE_CONFIG_UNKNOWN",),
    "keras_not_a_model": ("KERAS_NO_MODEL_IN_SAVEDMODEL", "KERAS_LAYERS_WITHOUT_METADATA",
                          "KERAS_SAVEDMODEL_NEWER_THAN_RUNTIME"),
    "memory": ("MODEL_UNLOADABLE",),
}


@dataclass
class Judged:
    cell: dict
    verdict: Verdict
    agrees: bool
    problem: Optional[str] = None  # "miss" | "false block" | "risky" | "wrong cause"
    codes: list[str] = field(default_factory=list)


def runtime_stack(row: dict) -> StackFacts:
    """The runtime as the probe reports it: its TF, what tf.keras resolves to, the keras package."""
    tf = row.get("tf_version")
    packages = row.get("packages") or {}
    key = version_key(tf)
    keras = packages.get("keras")
    if key and key[:2] >= (2, 16):
        tf_keras_major = int(keras.split(".")[0]) if keras else 3
    else:
        tf_keras_major = 2
    return StackFacts(
        image=f"matrix/{row['stack']}", source="probe", tensorflow_version=tf,
        tensorflow_git_version=row.get("tf_git_version"), keras_version=keras, tf_keras_major=tf_keras_major,
        python_version=row.get("python"), numpy_version=packages.get("numpy"),
        protobuf_version=packages.get("protobuf"), cuda_build=False, import_ok=True,
        op_libraries={name: v for name, v in packages.items() if name in oplibs.libraries()},
    )


def model_facts(entry: dict) -> ModelFacts:
    if "inspect_error" in entry:
        error = entry["inspect_error"]
        problem = error.get("problem") if isinstance(error, dict) else str(error)
        return ModelFacts(format=entry.get("inspect_format") or "saved_model", unloadable=problem)
    return ModelFacts.from_dict(entry)


def judge_all() -> list[Judged]:
    stacks = {row["stack"]: runtime_stack(row) for row in matrix.load_stacks() if row.get("usable")}
    facts = matrix.load_facts()
    judged = []
    for cell in matrix.load_cells():
        stack = stacks.get(cell["runtime"])
        entry = facts.get(cell["artifact"])
        if stack is None or entry is None:
            continue
        verdict = evaluate(model_facts(entry), stack, loader=cell["loader"], model_name=cell["artifact"],
                           imports=cell.get("imports") or ())
        judged.append(_compare(cell, verdict))
    return judged


def _compare(cell: dict, verdict: Verdict) -> Judged:
    codes = [f.code for f in verdict.findings if f.severity == "error"]
    loads = cell["outcome"] == "loads"
    if loads:
        if verdict.verdict == "incompatible":
            return Judged(cell, verdict, False, "false block", codes)
        return Judged(cell, verdict, True, None, codes)
    if verdict.verdict == "incompatible":
        wanted = CAUSES.get(cell.get("error_kind") or "", ())
        if wanted and not set(codes) & set(wanted):
            return Judged(cell, verdict, True, "wrong cause", codes)
        return Judged(cell, verdict, True, None, codes)
    if verdict.verdict == "compatible":
        return Judged(cell, verdict, False, "miss", codes)
    return Judged(cell, verdict, False, verdict.verdict, codes)  # risky / unknown on a failure


def summary(judged: list[Judged]) -> str:
    by_loader: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for j in judged:
        c = by_loader[j.cell["loader"]]
        c["cells"] += 1
        c["fails" if j.cell["outcome"] == "fails" else "loads"] += 1
        c[j.problem or ("caught" if j.cell["outcome"] == "fails" else "passed")] += 1
    lines = ["| loader | cells | real failures | caught (incompatible) | wrong cause | risky | missed (compatible) | loads | false blocks |",
             "|---|---|---|---|---|---|---|---|---|"]
    total: collections.Counter = collections.Counter()
    for loader in sorted(by_loader):
        c = by_loader[loader]
        total.update(c)
        lines.append(f"| {loader} | {c['cells']} | {c['fails']} | {c['caught'] + c['wrong cause']} | {c['wrong cause']} | "
                     f"{c['risky'] + c['unknown']} | {c['miss']} | {c['loads']} | {c['false block']} |")
    c = total
    lines.append(f"| **all** | {c['cells']} | {c['fails']} | {c['caught'] + c['wrong cause']} | {c['wrong cause']} | "
                 f"{c['risky'] + c['unknown']} | {c['miss']} | {c['loads']} | {c['false block']} |")
    return "\n".join(lines) + "\n"


def misses(judged: list[Judged]) -> str:
    rows = collections.Counter()
    for j in judged:
        if j.problem in (None,):
            continue
        c = j.cell
        recipe = c["artifact"].split("@")[0]
        rows[(j.problem, c["loader"], recipe, c.get("error_kind") or "-", ",".join(j.codes) or
              ",".join(f.code for f in j.verdict.findings if f.severity == "warning") or "-")] += 1
    out = []
    for (problem, loader, recipe, kind, codes), n in sorted(rows.items()):
        out.append(f"{problem:12} {loader:18} {recipe:40} {kind:24} {codes}  x{n}")
    return "\n".join(out) + "\n"


def risky_list(judged: list[Judged]) -> str:
    rows = collections.Counter()
    for j in judged:
        if j.problem in ("risky", "unknown"):
            why = "; ".join(f"[{f.code}] {f.message[:160]}" for f in j.verdict.findings if f.severity == "warning")
            rows[(j.cell["loader"], j.cell["artifact"].split("@")[0], j.cell["runtime"], j.cell.get("error_kind") or "-", why)] += 1
    if not rows:
        return "None: every real failure in the matrix is judged `incompatible`.\n"
    lines = ["| loader | artifact | runtime | real failure | why only risky |", "|---|---|---|---|---|"]
    for (loader, recipe, runtime, kind, why), n in sorted(rows.items()):
        lines.append(f"| {loader} | {recipe} | {runtime} | {kind} | {why.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def by_code(judged: list[Judged]) -> str:
    """Which finding code names each real failure kind, with counts."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for j in judged:
        if j.cell["outcome"] == "fails" and j.verdict.verdict == "incompatible":
            wanted = set(CAUSES.get(j.cell.get("error_kind") or "", ())) or set(j.codes)
            for code in sorted(set(j.codes) & wanted) or j.codes[:1]:
                counts[j.cell.get("error_kind") or "-"][code] += 1
    lines = ["| real failure (matrix kind) | cells | named by |", "|---|---|---|"]
    for kind in sorted(counts):
        total = sum(counts[kind].values())
        named = ", ".join(f"`{code}` ({n})" for code, n in counts[kind].most_common())
        lines.append(f"| {kind} | {total} | {named} |")
    return "\n".join(lines) + "\n"


def document(judged: list[Judged]) -> str:
    return (
        "# Engine verdicts against the cross-load matrix\n\n"
        "Generated by `python -m harness.agreement --doc > docs/verdicts.md`; "
        "tests/engine/test_matrix_agreement.py checks every cell. Each cell of the matrix "
        "([crossload.md](crossload.md)) is a real load: an artifact saved by a producer release, loaded by a "
        "runtime stack with a loader. The engine judges the artifact's `tfguard inspect` facts on the runtime "
        "as the probe reports it, for that loader ([loaders.md](loaders.md)). The targets: every real failure "
        "`incompatible` with its cause named, no real load `incompatible`, `compatible` never on a failure.\n\n"
        "## Totals per loader\n\n" + summary(judged) +
        "\n## Which finding names each failure\n\n" + by_code(judged) +
        "\n## Every cell judged only risky, and why\n\n" + risky_list(judged)
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.agreement", description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--doc", action="store_true")
    args = parser.parse_args(argv)
    judged = judge_all()
    if args.doc:
        sys.stdout.write(document(judged))
        return 0
    sys.stdout.write(summary(judged))
    if args.misses:
        sys.stdout.write(misses(judged))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
