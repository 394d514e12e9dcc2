"""Make the corpus and load every artifact with every runtime and loader, cell by cell, resumably.

    make(stacks, recipes)           each producer writes what it can (cached per recipe and producer)
    derive_hostile()                the broken artifacts, cut from real ones without TF
    load(stacks, records, workers)  every pending cell, grouped by runtime, two fork servers at once

Everything done is kept under $TFGUARD_CACHE/matrix (harness.matrix.store), so a run that is
stopped loses only the cells in flight, and the next run does only what is missing.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.matrix import hostile, store
from harness.matrix.errors import classify, first_line
from harness.matrix.recipes import HOSTILE_PRODUCERS, RECIPES, Recipe, priority
from harness.matrix.stacks import Stack
from harness.matrix.worker import Worker, WorkerFailed

BASE_LOADERS = ("tf2", "serving", "keras", "keras_nocompile")
TF_KERAS_LOADERS = ("tf_keras", "tf_keras_nocompile")
LIBRARY_LOADERS = ("tf2", "serving")  # on a stack with a custom-op library, with and without importing it
# The stacks whose extra is a custom-op library: its module, which only the artifacts made with it need.
LIBRARY_STACKS = {"text": "tensorflow_text", "tfdf": "tensorflow_decision_forests"}
LOADERS = BASE_LOADERS + TF_KERAS_LOADERS
# The modules a fork server imports before forking, per loader: what the loader itself imports
# first, so a forked child starts where a fresh process running that loader would be.
PRELOAD = {"tf2": (), "serving": (), "keras": ("keras",), "keras_nocompile": ("keras",),
           "tf_keras": ("tf_keras",), "tf_keras_nocompile": ("tf_keras",)}

_print_lock = threading.Lock()
_stop = threading.Event()


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


def stop() -> None:
    """Finish the cells in flight, then return (a SIGINT/SIGTERM handler calls this)."""
    _stop.set()


def _stack_status_path(stack: Stack) -> Path:
    return store.root() / "stacks" / f"{stack.id}.json"


def stack_status(stack: Stack) -> dict | None:
    return store.read_json(_stack_status_path(stack))


def _open_worker(stack: Stack, preload: tuple[str, ...]) -> Worker | None:
    """A fork server for `stack`, or None (recorded, with why) when the stack cannot run."""
    if not stack.exists():
        return None
    try:
        worker = Worker(stack, preload)
    except (WorkerFailed, Exception) as exc:  # a venv that does not build or import is data too
        store.write_json(_stack_status_path(stack), {"stack": stack.id, "usable": False,
                                                     "reason": str(exc)[-3000:], "preload": list(preload)})
        say(f"stack {stack.id}: unusable: {str(exc).splitlines()[-1] if str(exc) else exc!r}")
        return None
    status = {"stack": stack.id, "usable": True, "venv": worker.python.parent.parent.name, **worker.ready}
    status["preloaded"] = sorted(set(status.get("preloaded", [])) | set((stack_status(stack) or {}).get("preloaded", [])))
    store.write_json(_stack_status_path(stack), status)
    return worker


# ---------------------------------------------------------------- making


def applies(recipe: Recipe, producer: Stack) -> bool:
    if recipe.family == "hostile":
        return False
    if producer.is_nightly:
        return recipe.stack == "" and recipe.tier == 1
    return recipe.stack == producer.extra


def _current(rec: dict | None, recipe: Recipe) -> bool:
    return bool(rec) and rec.get("rev") == recipe.rev


def _base_record(recipe: Recipe, producer: str) -> dict:
    return {
        "id": store.artifact_id(recipe.name, producer), "recipe": recipe.name, "producer": producer,
        "family": recipe.family, "format": recipe.format, "description": recipe.description,
        "tier": recipe.tier, "rev": recipe.rev, "library": recipe.library, "derived_from": recipe.derived_from,
        "server_imports": list(recipe.server_imports),
    }


def _install(tmp: Path, final: Path, record: dict) -> None:
    store.write_json(tmp / "record.json", record)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def make(producers: list[Stack], recipes: list[Recipe], level: int = 3) -> None:
    """Each producer makes the recipes of priority `level` or better it does not have yet."""
    for producer in producers:
        if _stop.is_set():
            return
        pending = [r for r in recipes if applies(r, producer) and priority(r.name, producer.id) <= level
                   and not _current(store.record(producer.id, r.name), r)]
        if not pending:
            continue
        worker = _open_worker(producer, ())
        if worker is None:
            continue
        say(f"making {len(pending)} artifacts with {producer.id}")
        try:
            for recipe in pending:
                if _stop.is_set():
                    break
                _make_one(worker, producer, recipe)
        finally:
            worker.close()


def _make_one(worker: Worker, producer: Stack, recipe: Recipe) -> None:
    final = store.artifact_dir(producer.id, recipe.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{recipe.name}-", dir=final.parent))
    tmp.chmod(0o755)
    job = {"id": recipe.name, "op": "make", "recipe": recipe.name, "maker": recipe.maker, "out": str(tmp), **recipe.job}
    started = time.time()
    result = worker.run(job)
    record = _base_record(recipe, producer.id)
    record["make_seconds"] = round(time.time() - started, 2)
    if result.get("ok"):
        keep = ("artifact", "method", "tf_version", "tf_git_version", "keras_version", "keras_package", "python",
                "library", "library_version", "arch", "compiled")
        record.update({k: result[k] for k in keep if k in result and result[k] is not None})
        artifact = tmp / result["artifact"]
        record.update(made=True, digest=store.digest(artifact), size_bytes=_size(artifact))
        record["format"] = store.sniff_format(artifact) or recipe.format
    else:
        reason = result.get("not_made") or f"{classify(result)}: {first_line(result)}"
        record.update(made=False, reason=reason, tf_version=worker.ready.get("tf_version"))
        for child in list(tmp.iterdir()):
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
    _install(tmp, final, record)
    say(f"  {record['id']}: {'made' if record['made'] else 'not made: ' + record['reason'][:160]}")


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def derive_hostile(producers: tuple[str, ...] = HOSTILE_PRODUCERS) -> None:
    for recipe in (r for r in RECIPES.values() if r.family == "hostile"):
        for producer in producers:
            if _current(store.record(producer, recipe.name), recipe):
                continue
            base = store.record(producer, recipe.derived_from)
            if not base or not base.get("made"):
                continue
            final = store.artifact_dir(producer, recipe.name)
            tmp = Path(tempfile.mkdtemp(prefix=f".{recipe.name}-", dir=final.parent))
            tmp.chmod(0o755)
            target = tmp / base["artifact"]
            hostile.cut(recipe.name, store.artifact_dir(producer, recipe.derived_from) / base["artifact"], target)
            record = _base_record(recipe, producer)
            keep = ("artifact", "method", "tf_version", "tf_git_version", "keras_version", "keras_package", "python")
            record.update({k: base[k] for k in keep if k in base})
            record.update(made=True, digest=store.digest(target), size_bytes=_size(target),
                          method=f"cut from {base['id']} ({recipe.description})")
            _install(tmp, final, record)
            say(f"  {record['id']}: made")


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class Cell:
    artifact: str  # artifact id
    stack: Stack
    loader: str
    imports: tuple[str, ...] = ()


def loaders_for(stack: Stack, record: dict) -> list[tuple[str, tuple[str, ...]]]:
    server_imports = tuple(record.get("server_imports") or ())
    if server_imports:  # the package of the model's custom classes: loaded without it and with it
        loaders = TF_KERAS_LOADERS if stack.extra == "tf_keras" else BASE_LOADERS
        return [] if LIBRARY_STACKS.get(stack.extra) else \
            [(loader, imports) for loader in loaders for imports in ((), server_imports)]
    if stack.extra == "tf_keras":
        return [(loader, ()) for loader in TF_KERAS_LOADERS]
    library = LIBRARY_STACKS.get(stack.extra)
    if library:
        # The record names the distribution the maker imported ("tensorflow-text"), the recipe the module.
        if (record.get("library") or "").replace("-", "_") != library:
            return []
        return [(loader, imports) for loader in LIBRARY_LOADERS for imports in ((), (library,))]
    return [(loader, ()) for loader in BASE_LOADERS]


def artifact_path(record: dict) -> Path:
    return store.artifact_dir(record["producer"], record["recipe"]) / record["artifact"]


class Progress:
    def __init__(self, total: int):
        self.total, self.done, self.started, self.last = total, 0, time.time(), 0.0
        self.lock = threading.Lock()

    def tick(self, label: str) -> None:
        with self.lock:
            self.done += 1
            now = time.time()
            if now - self.last < 20 and self.done != self.total:
                return
            self.last = now
            rate = self.done / max(now - self.started, 1e-6)
            eta = (self.total - self.done) / rate if rate else 0
            say(f"[{self.done}/{self.total}] {rate:.2f} cells/s, about {eta / 60:.0f} min left; last {label}")


def cell_result(record: dict, stack: Stack, venv: str, loader: str, imports: tuple[str, ...], result: dict) -> dict:
    ok = bool(result.get("ok"))
    cell = {
        "artifact": record["id"], "digest": record["digest"], "producer": record["producer"],
        "runtime": stack.id, "venv": venv, "loader": loader, "imports": list(imports),
        "outcome": "loads" if ok else "fails", "phase": result.get("phase") if ok or "phase" in result else None,
        "called": result.get("called"), "seconds": result.get("seconds"), "loader_revision": store.LOADER_REVISION,
        "mode": "fork",
    }
    if not ok:
        result = dict(result, loader=loader)
        cell.update(error_kind=classify(result), exception=result.get("exception"), first_line=first_line(result),
                    message=(result.get("message") or "")[:3000], stderr_tail=(result.get("stderr") or "")[-1500:],
                    frames=result.get("frames", [])[-4:])
    return cell


def _run_group(stack: Stack, preload: tuple[str, ...], cells: list[tuple[dict, str, tuple[str, ...]]],
               progress: Progress) -> None:
    if _stop.is_set():
        return
    worker = _open_worker(stack, preload)
    if worker is None:
        for record, loader, imports in cells:
            progress.tick(f"{stack.id} unusable")
        return
    venv = worker.python.parent.parent.name
    try:
        for record, loader, imports in cells:
            if _stop.is_set():
                return
            job = {"id": record["id"], "op": "load", "path": str(artifact_path(record)), "loader": loader,
                   "imports": list(imports)}
            result = worker.run(job)
            if imports and not result.get("ok") and result.get("exception") in ("ImportError", "ModuleNotFoundError") \
                    and any(m in (result.get("message") or "") for m in imports):
                result["phase"] = "import"
            cell = cell_result(record, stack, venv, loader, imports, result)
            store.write_json(store.cell_path(venv, loader, imports, record["digest"]), cell)
            progress.tick(f"{record['id']} on {stack.id}/{store.cell_key(loader, imports)}: "
                          f"{cell['outcome']}{' ' + cell.get('error_kind', '') if cell['outcome'] == 'fails' else ''}")
    finally:
        worker.close()


def venv_name(stack: Stack) -> str | None:
    status = stack_status(stack)
    return status.get("venv") if status and status.get("usable") else None


def pending_cells(stacks: list[Stack], records: list[dict], committed: bool = True
                  ) -> dict[tuple[Stack, tuple[str, ...]], list]:
    """The cells neither in the cache nor (with `committed`) in the committed data, grouped by (runtime
    stack, preload), core tiers first. A committed cell of an artifact remade here counts as loaded:
    `data` keeps it when the remade artifact has the same facts (and drops it, to be loaded next time,
    when not)."""
    from harness.matrix import data

    known = {(c["artifact"], c["runtime"], c["loader"], tuple(c.get("imports", ())))
             for c in (*data.load_cells(), *data.load_unjudged_cells())} if committed else set()
    groups: dict[tuple[Stack, tuple[str, ...]], list] = {}
    made = sorted((r for r in records if r.get("made")), key=lambda r: (priority(r["recipe"], r["producer"]), r["id"]))
    for stack in stacks:
        if not stack.exists():
            continue
        venv = venv_name(stack)
        for record in made:
            for loader, imports in loaders_for(stack, record):
                if (record["id"], stack.id, loader, imports) in known:
                    continue
                if venv and store.read_cell(store.cell_path(venv, loader, imports, record["digest"])):
                    continue
                groups.setdefault((stack, PRELOAD[loader]), []).append((record, loader, imports))
    return groups


def load(stacks: list[Stack], records: list[dict], workers: int = 2, limit: int | None = None) -> int:
    groups = pending_cells(stacks, records)
    if limit is not None:
        trimmed, left = {}, limit
        for key, cells in groups.items():
            if left <= 0:
                break
            trimmed[key] = cells[:left]
            left -= len(trimmed[key])
        groups = trimmed
    total = sum(len(c) for c in groups.values())
    say(f"{total} cells to load in {len(groups)} runtime groups with {workers} workers")
    if not total:
        return 0
    progress = Progress(total)
    # Largest groups first, so the two workers finish near each other.
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_group, stack, preload, cells, progress) for (stack, preload), cells in ordered]
        for future in futures:
            exc = future.exception()
            if exc is not None:
                say(f"a worker group failed: {exc!r}")
    return progress.done


def main_error(text: str) -> int:
    print(text, file=sys.stderr)
    return 2
