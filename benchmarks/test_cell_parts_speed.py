"""One leave-one-speaker-out cell (24 folds) on one worker against two: the folds are executor tasks.

Run: ``.venv/bin/python -m pytest benchmarks/test_cell_parts_speed.py --benchmark-only --benchmark-enable``.
The target is the real RAVDESS in ``../shared/data/ravdess-16k`` (4 emotions, 768 clips) when it is
there, else the simulated ``sim-ravdess`` (24 actors). Features are extracted before timing; each round
trains every fold afresh (no stored results, no model cache) on the process executor, with the same
default training settings a user gets. Goal (issue 12): two workers >= 1.8x over one. Quote the medians
and their ratio from one run: machines here are shared and noisy.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.running.runner import Grid, expand, run

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
ROUNDS = 3


@pytest.fixture(scope="module")
def cell():
    """The IDT cell (bce_pair, is09-64) and a context whose feature cache is already filled."""
    registry = load_registry(PluginSettings(entry_points=False))
    real = RAVDESS.is_dir()
    # The user's feature cache (features are not what is timed; no model is cached).
    ctx = RunContext(data_dirs=[], corpus_paths={"ravdess": str(RAVDESS)} if real else {})
    cells = expand(Grid(protocols=["idt"], losses=["bce_pair"], targets=["ravdess" if real else "sim-ravdess"]),
                   registry)
    from ser_bench.running.corpora import prepare_all

    prepare_all(cells, registry, ctx)  # features extracted and cached before any timing
    return registry, ctx, cells


def _time(benchmark, cell, tmp_path, workers):
    from dataclasses import replace

    registry, ctx, cells = cell
    ctx = replace(ctx, workers=workers)
    folders = (tmp_path / f"round{i}" for i in itertools.count())

    def once(results):
        report = run(cells, registry, ctx, results, executor="process", cache_models=False)
        assert len(report.ran) == 1 and not report.failed, report.failed
        assert report.ran[0].timings.get("parts", 1) == workers

    benchmark.pedantic(once, setup=lambda: ((next(folders),), {}), rounds=ROUNDS, iterations=1)


def test_idt_cell_one_worker(benchmark, cell, tmp_path):
    """24 folds in one worker process."""
    _time(benchmark, cell, tmp_path, 1)


def test_idt_cell_two_workers(benchmark, cell, tmp_path):
    """The same 24 folds as two parts of 12, one per worker."""
    _time(benchmark, cell, tmp_path, 2)
