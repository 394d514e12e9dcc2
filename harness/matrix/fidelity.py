"""Is a load in a child forked after `import tensorflow` the same as a load in a fresh interpreter?

check(n) takes n cached cells, spread over runtimes, loaders and outcomes (error kinds included),
loads each again in a fresh process of the same stack (worker.py --fresh: import, load, exit) and
compares outcome, error kind and first error line.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict

from harness.matrix import store
from harness.matrix.errors import classify, first_line
from harness.matrix.run import PRELOAD, artifact_path
from harness.matrix.stacks import Stack
from harness.matrix.worker import run_fresh


def reclassify(cell: dict) -> str:
    from harness.matrix.data import reclassify as again

    return again(cell)


def _cached_cells() -> list[tuple[dict, dict]]:
    records = {r["id"]: r for r in store.all_records() if r.get("made")}
    out = []
    for path in sorted((store.root() / "cells").glob("*/*/*.json")):
        cell = store.read_cell(path)
        if cell and cell["artifact"] in records and records[cell["artifact"]]["digest"] == cell["digest"]:
            out.append((cell, records[cell["artifact"]]))
    return out


def sample(n: int, seed: int) -> list[tuple[dict, dict]]:
    """n cells, round-robin over (runtime, loader, outcome kind) strata, so rare kinds are in."""
    strata = defaultdict(list)
    for cell, record in _cached_cells():
        if cell.get("error_kind") in ("memory", "timeout"):
            continue  # minutes each, and bounded by our own limits rather than by TF
        strata[(cell["runtime"], cell["loader"], cell.get("error_kind") or "loads")].append((cell, record))
    rng = random.Random(seed)
    for cells in strata.values():
        rng.shuffle(cells)
    keys = sorted(strata)
    rng.shuffle(keys)
    picked = []
    while len(picked) < n and any(strata.values()):
        for key in keys:
            if strata[key] and len(picked) < n:
                picked.append(strata[key].pop())
    return picked


def _norm(line: str | None) -> str:
    return (line or "")[:120]


def check(n: int = 40, seed: int = 1, on_row=None, stopped=lambda: False) -> dict:
    """The report; on_row(report so far) after each cell, so a stopped check keeps what it did."""
    rows, disagreements, fresh_times, fork_times = [], [], [], []
    for cell, record in sample(n, seed):
        if stopped():
            break
        stack = Stack.parse(cell["runtime"])
        imports = tuple(cell.get("imports") or ())
        job = {"id": record["id"], "op": "load", "path": str(artifact_path(record)), "loader": cell["loader"],
               "imports": list(imports)}
        import time

        started = time.time()
        result = run_fresh(stack, PRELOAD[cell["loader"]], job)
        fresh_times.append(time.time() - started)
        if cell.get("seconds"):
            fork_times.append(cell["seconds"])
        ok = bool(result.get("ok"))
        fresh = {"outcome": "loads" if ok else "fails"}
        if not ok:
            result = dict(result, loader=cell["loader"])
            fresh.update(error_kind=classify(result), first_line=first_line(result))
        if cell["outcome"] == "fails":  # both classified by today's rules
            cell = dict(cell, error_kind=reclassify(cell))
        same = fresh["outcome"] == cell["outcome"] and fresh.get("error_kind") == cell.get("error_kind") and \
            _norm(fresh.get("first_line")) == _norm(cell.get("first_line"))
        row = {"artifact": cell["artifact"], "runtime": cell["runtime"], "loader": store.cell_key(cell["loader"], imports),
               "fork": cell.get("error_kind") or "loads", "fresh": fresh.get("error_kind") or "loads", "same": same}
        rows.append(row)
        if not same:
            disagreements.append({**row, "fork_line": cell.get("first_line"), "fresh_line": fresh.get("first_line")})
        print(f"  {'same' if same else 'DIFFERS'}: {row['artifact']} on {row['runtime']}/{row['loader']}: "
              f"{row['fork']} / {row['fresh']}", flush=True)
        if on_row:
            on_row(_report(seed, rows, disagreements, fresh_times, fork_times))
    return _report(seed, rows, disagreements, fresh_times, fork_times)


def _report(seed, rows, disagreements, fresh_times, fork_times) -> dict:
    return {
        "seed": seed, "checked": len(rows), "agree": sum(r["same"] for r in rows), "cells": rows,
        "disagreements": disagreements,
        "fresh_seconds_mean": round(statistics.mean(fresh_times), 2) if fresh_times else None,
        "fork_seconds_mean": round(statistics.mean(fork_times), 2) if fork_times else None,
    }
