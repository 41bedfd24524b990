"""The runner: prepares each corpus once (:mod:`ser_bench.running.corpora`) and runs the cells not yet done
(the cells come from :func:`ser_bench.running.grid.expand`, or a recipe).

It never prints: progress and results go to the callbacks and the results folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ser_bench.running.cells import Cell
from ser_bench.running.corpora import prepare_all, roles_of
from ser_bench.running.jobs import Evaluation, Job, Outcome
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.context import warn
from ser_bench.data.domains import describe as describe_domain
from ser_bench.data.labels import DIMENSIONS_SOURCE
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.results.record import SCHEMA_VERSION, DataRecord, RecordError, Result
from ser_bench.cache_store import ensure_writable
from ser_bench.results.store import (CellLocks, explain_write_error, git_commit, move_aside,
                                     now, package_versions, read_result, result_path)


@lru_cache(maxsize=4)
def _worker_registry(settings: PluginSettings):
    return load_registry(settings)


def run_job(job: Job) -> Outcome:
    """Evaluate one task, part ``job.part`` of ``job.parts`` of a cell (runs in a worker; the caller
    assembles the parts and writes the file).

    Training and scoring run on one thread whatever the executor, so that every executor gives the same
    numbers: torch's, and the BLAS and OpenMP pools under numpy, scipy and scikit-learn (a process
    worker has them at one thread from its start; in the serial executor's process they would use every
    core, and a logistic regression's solver sums in another order). On the run's ``device`` (resolved
    by :func:`run`).
    """
    import torch
    from threadpoolctl import threadpool_limits

    from ser_bench.model.model_cache import DiskModelCache
    from ser_bench.running.evaluation import evaluate_cell
    from ser_bench.running.tasks import part_filter

    cell = job.cell
    torch.set_num_threads(1)
    registry = _worker_registry(job.settings)
    data = {role: (c.manifest, c.features) for role, c in job.corpora.items()}
    cache = DiskModelCache(job.model_dir, device=job.device) if job.model_dir else None
    store = Path(job.tuning_dir) / f"{cell.cell_id()}.journal" if job.tuning_dir and cell.tuning else None
    with threadpool_limits(limits=1):
        body = evaluate_cell(cell, data, registry, model_cache=cache, tuning_store=store,
                             hashes={role: c.manifest_hash for role, c in job.corpora.items()},
                             split_filter=part_filter(job.part, job.parts), device=job.device)
    tuning = dict(body.tuning) if body.tuning is not None else None
    said = (list(cache.warnings) if cache else []) + list((tuning or {}).pop("warnings", []))
    body = replace(body, timings={**body.timings, "models_from_cache": cache.hits if cache else 0}, tuning=tuning)
    return Outcome(body, job.part, tuple(said))


def assemble(cell: Cell, corpora: dict, bodies: Mapping[int, Evaluation], registry, device: str = "cpu") -> Result:
    """The cell's :class:`Result` from the evaluations of its parts (``{part: evaluation}``, all of them);
    its provenance says the ``device`` its models were trained and scored on, its ``scoring`` how boards
    score it (:func:`~ser_bench.running.scoring.choose_scoring`)."""
    from ser_bench.results.summary import summarise
    from ser_bench.running.scoring import choose_scoring
    from ser_bench.running.tasks import merge_parts

    body = merge_parts(bodies)
    layout = registry.get("protocols", cell.protocol).board.record()
    scoring = choose_scoring(body.splits, layout)
    if scoring["rule"] == "pooled":
        body = replace(body, summary=summarise(body.splits, pooled=True))
    result = Result(
        cell_id=cell.cell_id(), status="ok", created=now(), params=cell.params(),
        splits=body.splits, summary=body.summary, timings=body.timings, tuning=body.tuning,
        params_as_run=body.params_as_run,
        data={role: DataRecord(dataset=getattr(cell, role), manifest_hash=c.manifest_hash,
                               clips_used=len(c.manifest), clips_in_corpus=c.n_clips_total,
                               speakers=int(c.manifest["speaker"].nunique()), skipped_files=list(c.skipped),
                               label_map=c.label_map, dimensions=DIMENSIONS_SOURCE,
                               domain=describe_domain(registry, getattr(cell, role)))
              for role, c in corpora.items()},
        provenance={"packages": package_versions(), "git_commit": git_commit(), "device": device},
        board=layout, scoring=scoring)
    # Every check a file gets when it is read, now: a plugin's split settings that no reader would accept
    # (a fractional k) fail the cell here, naming the field, instead of writing a file later left out.
    try:
        Result.from_json(result.to_json())
    except RecordError as exc:
        raise SerBenchError(f"{cell.cell_id()}: the protocol {cell.protocol!r} or loss {cell.loss!r} gave a result "
                            f"no reader would accept ({exc}); nothing was written") from None
    return result


def skipped_result(cell: Cell) -> Result:
    """The result of a cell that cannot run, saying why (the leaderboard shows a dash)."""
    return Result(cell_id=cell.cell_id(), status="skipped", reason=cell.skip_reason, created=now(),
                  params=cell.params())


@dataclass
class RunReport:
    """What a run did: cells run, found already done, failed (with the error), skipped (cannot run),
    recomputed (``(cell, reason)``: a stored result whose data or file no longer held), waited for
    (computed by another run on the same folder meanwhile), and the warnings issued."""

    ran: list = field(default_factory=list)  # the Result of each cell run
    moved_aside: list = field(default_factory=list)  # (damaged file, where it was moved)
    already_done: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    recomputed: list = field(default_factory=list)
    waited: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def run(cells: Sequence[Cell], registry, ctx, results_dir: Path, *, executor: str = "process",
        executor_params: dict | None = None, settings: PluginSettings | None = None,
        on_result: Callable | None = None, cache_models: bool = True, device: str = "cpu") -> RunReport:
    """Run every cell of ``cells`` not already in ``results_dir``; each result is written as it finishes.

    The results and cache folders are checked for writing before anything is computed. A stored result
    counts as done only when it is readable, of the current schema, and was computed on the data the
    cell would use now (per role: manifest hash of the clips used, number of clips, skipped files);
    otherwise the cell is recomputed, the reason is in :attr:`RunReport.recomputed`, and the old file
    is replaced only by the new result. A file of a newer or unknown schema is never overwritten (the
    cell fails saying so). A per-cell lock keeps two runs on one folder from computing a cell twice.

    A failing cell is reported in :attr:`RunReport.failed` and does not stop the others; a result that
    cannot be written (a full disk) stops the run with a :class:`SerBenchError` saying what to free,
    finished cells kept. Trained models are cached under ``ctx.cache_dir/models``
    (``cache_models=False`` trains every model afresh).

    Models are trained and scored on ``device`` (``auto``: cuda when torch sees one, else cpu; see
    :func:`~ser_bench.model.training.resolve_device`), a run setting recorded in each result's
    ``provenance``, never part of a cell id. A CUDA device this torch cannot see is refused here,
    before anything is written.
    """
    from ser_bench.model.training import resolve_device

    device = resolve_device(device)
    settings = settings or PluginSettings.from_env()
    results_dir = Path(results_dir)
    ensure_writable(results_dir, "the results folder", "pass another --results folder")
    ensure_writable(Path(ctx.cache_dir), "the cache folder", "point --cache-dir or SER_BENCH_CACHE_DIR at a "
                    "writable folder")
    report = RunReport()
    first_warning = len(ctx.warnings)
    to_run, fresh = [], False  # fresh: some cell has no usable result yet, so work is certain
    for cell in cells:
        path = result_path(results_dir, cell.cell_id())
        stored = read_result(path)
        if stored.kind == "unknown schema":
            report.failed.append((cell, SerBenchError(newer_file_message(path, stored))))
        elif cell.skip_reason:  # recorded, never crashed or silently run
            if stored.kind == "ok" and stored.result.status == "skipped":
                report.already_done.append(cell)
            else:
                if stored.kind == "damaged":
                    _set_aside(path, results_dir, report, ctx)
                _write(path, skipped_result(cell), report, results_dir)
                report.skipped.append(cell)
        else:
            to_run.append(cell)
            fresh = fresh or stored.kind != "ok"
    if to_run:
        pool = registry.get("executors", executor).build(workers=ctx.workers, **(executor_params or {}))
        locks = None
        try:
            if fresh and hasattr(pool, "start"):
                pool.start()  # its workers start (and import torch) while the corpora are prepared here
            corpora = prepare_all(to_run, registry, ctx)
            locks = CellLocks(results_dir)
            mine, elsewhere = [], []
            for cell in to_run:
                (mine if locks.try_acquire(cell.cell_id()) else elsewhere).append(cell)
            batch = dict(corpora=corpora, registry=registry, ctx=ctx, results_dir=results_dir, locks=locks,
                         report=report, pool=pool, settings=settings, on_result=on_result, cache_models=cache_models,
                         device=device)
            _run_batch(_still_to_do(mine, corpora, results_dir, locks, report, ctx), **batch)
            later = []
            for cell in elsewhere:  # another run holds these: wait for it, then take what it left
                report.waited.append(cell)
                locks.acquire(cell.cell_id())
                later.append(cell)
            _run_batch(_still_to_do(later, corpora, results_dir, locks, report, ctx), **batch)
        finally:
            try:
                pool.close()
            finally:
                if locks is not None:
                    locks.release_all()
    report.warnings = ctx.warnings[first_warning:]
    return report


def newer_file_message(path: Path, stored) -> str:
    """Why the result file ``path`` is left alone: its schema is newer than (or unknown to) this version."""
    return (f"{path} was written with {stored.reason.split(', which')[0]}, which this ser-bench (schema "
            f"{SCHEMA_VERSION}) cannot read: it is left as it is, not recomputed. Upgrade ser-bench, or "
            "pass another --results folder.")


def _skipped_names(entries) -> list:
    """Skipped files by file name ("path: reason" entries), so that a moved corpus keeps its identity."""
    return sorted(Path(str(e).split(": ", 1)[0]).name for e in entries or [])


def stale_reason(cell: Cell, stored, corpora: dict) -> str | None:
    """``None`` when ``stored`` is the cell's result computed on the data it would use now; else why it
    must be computed ("" for a cell never computed)."""
    if stored.kind == "missing":
        return ""
    if stored.kind == "damaged":
        return f"its result file was damaged ({stored.reason})"
    result = stored.result
    if result.written_with not in (None, SCHEMA_VERSION):  # migrated on reading: lacks what is new since
        return f"its result was written with schema {result.written_with} (now {SCHEMA_VERSION})"
    if result.status != "ok":
        return f"its result file says {result.status!r}"
    for role, current in roles_of(cell, corpora).items():
        then = (result.data or {}).get(role)
        if then is None:
            return f"its result does not record the {role} data it was computed on"
        name = getattr(cell, role)
        before = (then.clips_used, len(then.skipped_files or []))
        after = (len(current.manifest), len(current.skipped))
        if before != after:
            return (f"the {role} corpus {name} changed: {before[0]} clips used and {before[1]} files skipped "
                    f"then, {after[0]} and {after[1]} now")
        if then.manifest_hash != current.manifest_hash:
            return f"the {role} corpus {name} changed: same number of clips, different content"
        if _skipped_names(then.skipped_files) != _skipped_names(current.skipped):
            return f"the {role} corpus {name} changed: other files are skipped"
    return None


def _set_aside(path: Path, results_dir: Path, report: RunReport, ctx) -> None:
    """Move a damaged result file into ``<results>/.damaged/`` before its cell is recomputed, and say so:
    it is never silently overwritten (it may be the only copy of hours of work, cut by a full disk)."""
    moved = move_aside(path, results_dir)
    report.moved_aside.append((path, moved))
    warn(ctx, f"{path} was damaged; moved to {moved} and its cell is computed again")


def _still_to_do(cells: list, corpora: dict, results_dir: Path, locks, report: RunReport, ctx) -> list:
    """Of ``cells`` (their locks held), those whose stored result is missing or stale; the others are
    done and their locks released. Read under the lock, so a cell another run just finished is seen."""
    out = []
    for cell in cells:
        path = result_path(results_dir, cell.cell_id())
        stored = read_result(path)
        if stored.kind == "unknown schema":  # written meanwhile by a newer ser-bench
            report.failed.append((cell, SerBenchError(newer_file_message(path, stored))))
            locks.release(cell.cell_id())
            continue
        reason = stale_reason(cell, stored, corpora)
        if stored.kind == "damaged":
            _set_aside(path, results_dir, report, ctx)
        if reason is None:
            report.already_done.append(cell)
            locks.release(cell.cell_id())
            continue
        if reason:
            report.recomputed.append((cell, reason))
        out.append(cell)
    return out


def _write(path: Path, result: Result, report: RunReport, results_dir: Path) -> None:
    """Write one result atomically; a failure stops the run saying what is kept and what to do."""
    try:
        result.to_disk(path)
    except OSError as exc:
        kept = len(report.ran) + len(report.already_done)
        raise SerBenchError(
            f"{explain_write_error(exc, path, 'pass another --results folder')}. {kept} finished cells are "
            f"safe in {results_dir}/ and no partial file was left; run the same command again to continue "
            "where it stopped.") from None


def _run_batch(cells: list, *, corpora: dict, registry, ctx, results_dir: Path, locks, report: RunReport, pool,
               settings, on_result, cache_models: bool, device: str = "cpu") -> None:
    """Run ``cells`` as tasks on ``pool`` (a cell cut into parts when the grid has fewer cells than
    workers, see :mod:`ser_bench.running.tasks`); each cell's result is written once all its parts are in."""
    from ser_bench.running.tasks import plan_parts

    if not cells:
        return
    model_dir = str(Path(ctx.cache_dir) / "models") if cache_models else None
    # Tuning journals live beside the results, so that an interrupted tuning resumes with them.
    tuning_dir = str(results_dir / ".tuning")
    slots = int(getattr(pool, "workers", None) or ctx.n_workers)
    plan = plan_parts(cells, lambda c: roles_of(c, corpora), registry, slots)
    # The jobs of a cell hold the same corpora objects, as do cells reading the same corpus: executors with
    # an object store (Ray) send each once (Job.shared).
    jobs = [Job(cell=cell, corpora=roles_of(cell, corpora), model_dir=model_dir, settings=settings,
                tuning_dir=tuning_dir, device=device, part=part, parts=plan[cell.cell_id()])
            for cell in cells for part in range(plan[cell.cell_id()])]
    waiting = {cell.cell_id(): {"bodies": {}, "errors": []} for cell in cells}
    said: set = set()  # every worker on a node without the cache folder says the same: once is enough
    label = "cells" if len(jobs) == len(cells) else f"tasks ({len(cells)} cells in {len(jobs)} parts)"
    with ctx.progress(len(jobs), label) as bar:
        for job, outcome in pool.map_unordered(run_job, jobs):
            cell = job.cell
            entry = waiting[cell.cell_id()]
            if isinstance(outcome, BaseException):
                entry["errors"].append(outcome)
            else:
                for message in outcome.warnings:
                    if message not in said:
                        said.add(message)
                        ctx.warn(message)
                entry["bodies"][outcome.part] = outcome.body
            bar.update(1)
            if len(entry["bodies"]) + len(entry["errors"]) < job.parts:
                continue
            try:
                if entry["errors"]:
                    raise entry["errors"][0]
                result = assemble(cell, job.corpora, entry["bodies"], registry, device=job.device)
            except Exception as exc:  # a failing cell does not stop the others
                report.failed.append((cell, exc))
            else:
                _finish(cell, result, report, results_dir, ctx, on_result)
            locks.release(cell.cell_id())


def _finish(cell: Cell, result: Result, report: RunReport, results_dir: Path, ctx, on_result) -> None:
    """Say what the result warns of, write it, report it."""
    if result.pooled:
        ctx.warn(f"{result.cell_id}: scored pooled over folds: {result.scoring['why']}")
    by_missing: dict = {}  # one warning per cell and missing classes, not one per split
    for item in result.summary.get("excluded_splits", []):
        by_missing.setdefault(", ".join(item["missing_test_classes"]), []).append(item["split"])
    for missing, names in by_missing.items():
        shown = ", ".join(names[:3]) + (f" ... ({len(names)} in all)" if len(names) > 3 else "")
        ctx.warn(f"{result.cell_id}: {len(names)} split{'s' if len(names) > 1 else ''} left out of the summary, "
                 f"their test sets having no {missing}: {shown}")
    _write(result_path(results_dir, result.cell_id), result, report, results_dir)
    report.ran.append(result)
    on_result and on_result(result)
