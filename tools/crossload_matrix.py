"""The cross-load matrix: real artifacts saved by every TF release, loaded by every release and loader.

    nice python tools/crossload_matrix.py run [--releases 2.12.1,2.20.0] [--tier 1] [--limit N]
    python tools/crossload_matrix.py make | hostile | load   the steps of `run`, one at a time
    python tools/crossload_matrix.py fidelity --sample 40    forked child vs fresh process, same cells
    python tools/crossload_matrix.py data [--hold R1,R2]     tests/data/matrix/ and docs/crossload.md from the cache
    python tools/crossload_matrix.py judge [--runtimes R1]   unjudged cells into cells.jsonl.gz, held to the engine
    python tools/crossload_matrix.py facts                   facts.jsonl: tfguard inspect of every cached artifact
    python tools/crossload_matrix.py docs                    docs/crossload.md from the committed data (no cache)
    python tools/crossload_matrix.py status                  what the cache holds, what is left

Everything is cached under $TFGUARD_CACHE/matrix (see harness/matrix/store.py) and resumable: stop
it with Ctrl-C (the cells in flight finish) and run it again. docs/crossload.md says what is covered.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.matrix import data, run, store  # noqa: E402
from harness.matrix.recipes import PRIORITIES, RECIPES, priority  # noqa: E402
from harness.matrix.stacks import NIGHTLY, RELEASES, Stack, base_stacks, extra_stacks  # noqa: E402


def _releases(text: str | None) -> tuple[str, ...]:
    if not text:
        return RELEASES
    wanted = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in wanted if v not in RELEASES and v != NIGHTLY]
    if unknown:
        raise SystemExit(f"unknown releases {unknown}; known: {', '.join(RELEASES)} and the nightly {NIGHTLY}")
    return wanted


def _stacks(args) -> tuple[list[Stack], list[Stack]]:
    releases = tuple(v for v in _releases(args.releases) if v != NIGHTLY)
    nightly = args.nightly and (not args.releases or NIGHTLY in args.releases)
    base = base_stacks(releases, nightly=nightly)
    extras = [] if args.no_extras else extra_stacks(releases)
    return base, extras


def _recipes(args) -> list:
    names = [n.strip() for n in args.recipes.split(",")] if args.recipes else list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipes {unknown}")
    return [RECIPES[n] for n in names if RECIPES[n].tier <= args.tier]


def _selected_records(args) -> list[dict]:
    names = {r.name for r in _recipes(args)}
    producers = None
    if args.producers:
        producers = set(args.producers.split(","))
    return [r for r in store.all_records()
            if r["recipe"] in names and (producers is None or r["producer"].split("+")[0] in producers
                                         or r["producer"] in producers)]


def cmd_make(args) -> int:
    base, extras = _stacks(args)
    run.make(base + extras, _recipes(args), level=args.priority)
    run.derive_hostile()
    return 0


def cmd_hostile(args) -> int:
    run.derive_hostile()
    return 0


def _redo(spec: str | None) -> None:
    """Forget the cached cells of one error kind (whose message holds TEXT): they load again."""
    if not spec:
        return
    kind, _, text = spec.partition(":")
    forgotten = 0
    for path in (store.root() / "cells").glob("*/*/*.json"):
        cell = store.read_json(path)
        if cell and cell.get("outcome") == "fails" and data.reclassify(cell) == kind \
                and text in (cell.get("message") or ""):
            path.unlink()
            forgotten += 1
    print(f"forgot {forgotten} cached {kind} cells{' mentioning ' + repr(text) if text else ''}")


def cmd_load(args, level: int | None = None) -> int:
    _redo(args.redo)
    base, extras = _stacks(args)
    level = args.priority if level is None else level
    records = [r for r in _selected_records(args) if priority(r["recipe"], r["producer"]) <= level]
    run.load(base + extras, records, workers=args.workers, limit=args.limit)
    return 0


def cmd_run(args) -> int:
    """Priority by priority: make what it needs, then load it on every runtime with every loader."""
    base, extras = _stacks(args)
    _redo(args.redo)
    args.redo = None
    for level in PRIORITIES:
        if level > args.priority or run._stop.is_set():
            break
        print(f"== priority {level}", flush=True)
        run.make(base + extras, _recipes(args), level=level)
        run.derive_hostile()
        cmd_load(args, level)
    return 1 if run._stop.is_set() else 0


def cmd_fidelity(args) -> int:
    from harness.matrix import fidelity

    report = fidelity.check(args.sample, seed=args.seed, on_row=data.write_fidelity, stopped=run._stop.is_set)
    data.write_fidelity(report)
    print(f"{report['agree']} of {report['checked']} cells agree between a forked child and a fresh process")
    for row in report["disagreements"]:
        print("  DIFFERS:", row)
    return 0 if not report["disagreements"] else 1


def cmd_data(args) -> int:
    written = data.export(hold=frozenset(_list(args.hold)))
    for path, count in written.items():
        print(f"{path}: {count} rows")
    return 0


def cmd_judge(args) -> int:
    moved = data.judge(frozenset(_list(args.runtimes)))
    print(f"{moved} unjudged cells moved to {data.CELLS}; {len(data.load_unjudged_cells())} stay unjudged")
    return 0


def _list(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def cmd_facts(args) -> int:
    count, errors = data.write_facts()
    print(f"facts for {count} artifacts ({errors} could not be inspected) in {data.FACTS}")
    return 0


def cmd_docs(args) -> int:
    data.write_docs()
    print(f"wrote {data.DOC}")
    return 0


def cmd_status(args) -> int:
    records = store.all_records()
    made = [r for r in records if r.get("made")]
    print(f"artifacts: {len(made)} made, {len(records) - len(made)} not made")
    base, extras = _stacks(args)
    groups = run.pending_cells(base + extras, made)
    print(f"pending cells: {sum(len(c) for c in groups.values())} in {len(groups)} groups")
    for (stack, preload), cells in sorted(groups.items(), key=lambda kv: kv[0][0].id):
        print(f"  {stack.id:28} {','.join(preload) or '-':10} {len(cells)}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crossload_matrix", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in (("make", cmd_make), ("hostile", cmd_hostile), ("load", cmd_load), ("run", cmd_run),
                     ("fidelity", cmd_fidelity), ("data", cmd_data), ("judge", cmd_judge), ("facts", cmd_facts),
                     ("docs", cmd_docs),
                     ("status", cmd_status)):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        p.add_argument("--releases", help="comma-separated releases (default: all of harness.matrix.stacks.RELEASES)")
        p.add_argument("--producers", help="load only artifacts of these producer releases")
        p.add_argument("--recipes", help="comma-separated recipe names (default: all)")
        p.add_argument("--tier", type=int, default=2, help="highest tier to include (1: the core)")
        p.add_argument("--priority", type=int, default=3,
                       help="1: core recipes of the core producers; 2: core recipes of every producer; 3: all")
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--limit", type=int, help="load at most this many cells")
        p.add_argument("--redo", metavar="KIND[:TEXT]",
                       help="load again the cached cells of this error kind (whose message holds TEXT)")
        p.add_argument("--no-extras", action="store_true", help="skip the tf_keras and tensorflow-text stacks")
        p.add_argument("--no-nightly", dest="nightly", action="store_false")
        p.add_argument("--sample", type=int, default=40)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--hold", metavar="RUNTIMES",
                       help="data: keep the new cells of these runtimes unjudged (unjudged-cells.jsonl.gz)")
        p.add_argument("--runtimes", help="judge: the runtimes whose unjudged cells move (default: all)")
    args = parser.parse_args(argv)
    try:
        os.nice(10 - os.nice(0) if os.nice(0) < 10 else 0)
    except OSError:
        pass
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (print("stopping after the cells in flight", flush=True), run.stop()))
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
