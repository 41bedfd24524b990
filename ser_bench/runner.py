"""The runner: expands a grid into cells, prepares each corpus once, runs the cells not yet done.

It never prints: progress and results go to the callbacks and the results folder.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional, Sequence

from .cells import Cell, resolve
from .errors import CorpusNotFoundError, SerBenchError
from .features import extract_features
from .labels import DIMENSIONS_SOURCE
from .manager import PluginSettings, load_registry
from .results import (SCHEMA_VERSION, git_commit, is_done, manifest_hash, now, package_versions,
                      result_path, write_json_atomic)


@dataclass
class Grid:
    """What to cross. Each list is one axis; ``base`` holds the settings shared by every cell."""

    protocols: Sequence[str]
    losses: Sequence[str]
    targets: Sequence[str]
    sources: Sequence[Optional[str]] = (None,)
    encoders: Sequence[str] = ("auto",)  # auto: each loss's default encoder
    features: Sequence[str] = ("is09-64",)
    seeds: Sequence[int] = (0,)
    base: dict = field(default_factory=dict)


def expand(grid: Grid, registry) -> list[Cell]:
    """All cells of ``grid`` with plugin defaults resolved; unknown names fail here, before any work.

    Protocols that need no source get ``source=None`` (one cell, whatever the sources axis holds).
    """
    cells, seen = [], set()
    for protocol, loss, target, source, encoder, feature, seed in itertools.product(
            grid.protocols, grid.losses, grid.targets, grid.sources, grid.encoders, grid.features, grid.seeds):
        spec = registry.get("protocols", protocol)
        for kind, name in (("losses", loss), ("datasets", target), ("encoders", encoder), ("features", feature)):
            if not (kind == "encoders" and name == "auto"):  # resolved per loss in resolve()
                registry.get(kind, name)
        if spec.needs_source:
            if not source:
                raise SerBenchError(f"protocol {protocol!r} needs a source corpus: pass --source NAME")
            registry.get("datasets", source)
        else:
            source = None
        base = dict(grid.base)
        pparams = base.pop("protocol_params", {}).get(protocol, {})
        lparams = base.pop("loss_params", {}).get(loss, {})
        cell = resolve(Cell(protocol=protocol, loss=loss, target=target, source=source, encoder=encoder,
                            feature=feature, seed=int(seed), protocol_params=pparams, loss_params=lparams,
                            **base), registry)
        if cell.cell_id() not in seen:
            seen.add(cell.cell_id())
            cells.append(cell)
    return cells


@dataclass
class CorpusData:
    """A corpus ready for protocols: label-filtered manifest, feature matrix, skipped files, hash."""

    manifest: object
    features: object
    skipped: list
    manifest_hash: str
    n_clips_total: int
    label_map: dict = field(default_factory=dict)


def prepare_corpus(name: str, feature: str, labels: Sequence[str], dataset_params: dict, registry, ctx) -> CorpusData:
    """Load a corpus, extract (or read cached) features, keep the clips whose emotion is in ``labels``."""
    import numpy as np

    spec = registry.get("datasets", name)
    already_skipped = len(ctx.skipped_files)
    manifest = spec.load(ctx, **dataset_params)
    loader_skipped = ctx.skipped_files[already_skipped:]
    matrix = extract_features(manifest, registry.get("features", feature), None, ctx)
    ok = ~np.isnan(matrix.values).any(axis=1)
    keep = ok & manifest["emotion"].isin(list(labels)).to_numpy()
    missing = sorted(set(labels) - set(manifest.loc[keep, "emotion"]))
    if missing:
        raise SerBenchError(f"corpus {name!r} has no clips of {missing}; its emotions are "
                            f"{sorted(manifest['emotion'].unique())}. Choose another label set with --labels.")
    kept = manifest[keep].reset_index(drop=True)
    digests = [d for d, k in zip(matrix.digests, keep) if k]
    return CorpusData(manifest=kept, features=matrix.values[keep],
                      skipped=sorted(loader_skipped) + sorted(matrix.skipped.values()),
                      manifest_hash=manifest_hash(kept, digests), n_clips_total=len(manifest),
                      label_map=dict(spec.label_map))


def _corpus_key(cell: Cell, role: str):
    name = getattr(cell, role)
    if not name:
        return None
    return (name, cell.feature, cell.labels, json.dumps(cell.dataset_params.get(name, {}), sort_keys=True))


@lru_cache(maxsize=4)
def _worker_registry(settings: PluginSettings):
    return load_registry(settings)


def run_job(job: tuple) -> dict:
    """Evaluate one cell and return its result payload (runs in a worker; the caller writes the file).

    Training runs on one thread whatever the executor, so that every executor gives the same numbers.
    """
    import torch

    from .evaluation import evaluate_cell
    from .model_cache import DiskModelCache

    cell, corpora, model_dir, settings = job
    torch.set_num_threads(1)
    registry = _worker_registry(settings)
    data = {role: (c.manifest, c.features) for role, c in corpora.items()}
    cache = DiskModelCache(model_dir) if model_dir else None
    body = evaluate_cell(cell, data, registry, model_cache=cache,
                         hashes={role: c.manifest_hash for role, c in corpora.items()})
    body["timings"]["models_from_cache"] = cache.hits if cache else 0
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell.cell_id(),
        "status": "ok",
        "created": now(),
        "params": cell.as_dict(),
        **body,
        "data": {role: {"dataset": getattr(cell, role), "manifest_hash": c.manifest_hash,
                        "clips_used": len(c.manifest), "clips_in_corpus": c.n_clips_total,
                        "speakers": int(c.manifest["speaker"].nunique()), "skipped_files": c.skipped,
                        "label_map": c.label_map, "dimensions": DIMENSIONS_SOURCE}
                 for role, c in corpora.items()},
        "provenance": {"packages": package_versions(), "git_commit": git_commit()},
    }


def skipped_result(cell: Cell) -> dict:
    """The result file of a cell that cannot run, saying why (the leaderboard shows a dash)."""
    return {"schema_version": SCHEMA_VERSION, "cell_id": cell.cell_id(), "status": "skipped",
            "reason": cell.skip_reason, "created": now(), "params": cell.as_dict(), "splits": []}


@dataclass
class RunReport:
    """What a run did: cells run, skipped as already done, and failed (with the error)."""

    ran: list = field(default_factory=list)
    already_done: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def run(cells: Sequence[Cell], registry, ctx, results_dir: Path, *, executor: str = "process",
        executor_params: dict | None = None, settings: PluginSettings | None = None,
        on_result: Callable | None = None, cache_models: bool = True) -> RunReport:
    """Run every cell of ``cells`` not already in ``results_dir``; each result is written as it finishes.

    A failing cell is reported in :attr:`RunReport.failed` and does not stop the others. Trained models
    are cached under ``ctx.cache_dir/models`` (``cache_models=False`` trains every model afresh).
    """
    settings = settings or PluginSettings.from_env()
    report = RunReport()
    pending = []
    for cell in cells:
        if is_done(results_dir, cell.cell_id()):
            report.already_done.append(cell)
        elif cell.skip_reason:  # recorded, never crashed or silently run
            write_json_atomic(result_path(results_dir, cell.cell_id()), skipped_result(cell))
            report.skipped.append(cell)
        else:
            pending.append(cell)
    if not pending:
        return report
    corpora: dict = {}
    missing: list = []
    for cell in pending:
        for role in ("source", "target"):
            key = _corpus_key(cell, role)
            if key and key not in corpora and key[0] not in {m[0] for m in missing}:
                try:
                    corpora[key] = prepare_corpus(key[0], cell.feature, cell.labels,
                                                  cell.dataset_params.get(key[0], {}), registry, ctx)
                except CorpusNotFoundError as exc:
                    missing.append((key[0], exc))
    if missing:  # say everything that is missing at once, not one corpus per attempt
        raise CorpusNotFoundError("\n\n".join(str(exc) for _, exc in missing))
    jobs = []
    for cell in pending:
        roles = {role: corpora[_corpus_key(cell, role)] for role in ("target", "source") if getattr(cell, role)}
        jobs.append((cell, roles, str(Path(ctx.cache_dir) / "models") if cache_models else None, settings))
    pool = registry.get("executors", executor).build(workers=ctx.workers, **(executor_params or {}))
    with ctx.progress(len(jobs), "cells") as bar:
        try:
            for job, outcome in pool.map_unordered(run_job, jobs):
                if isinstance(outcome, BaseException):
                    report.failed.append((job[0], outcome))
                else:
                    write_json_atomic(result_path(results_dir, outcome["cell_id"]), outcome)
                    report.ran.append(outcome)
                    on_result and on_result(outcome)
                bar.update(1)
        finally:
            pool.close()
    return report
