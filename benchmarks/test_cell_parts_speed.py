"""One leave-one-speaker-out cell (24 folds) on one worker against two: the folds are executor tasks.

Run: ``.venv/bin/python -m pytest benchmarks/test_cell_parts_speed.py --benchmark-only --benchmark-enable``.
The target is the real RAVDESS in ``../shared/data/ravdess-16k`` (4 emotions, 768 clips) when it is
there, else the simulated ``sim-ravdess`` (24 actors). Features are extracted before timing; each round
is the command a user types, ``ser-bench run --protocol idt --loss bce_pair ... --workers N
--no-model-cache``, in a fresh process: it trains every fold afresh on the process executor with the
default training settings, and pays what every such command pays (starting the fork server and the
workers, importing torch). Goal (issue 12): two workers >= 1.8x over one. Quote the medians and their
ratio from one run: machines here are shared and noisy.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.running.grid import Grid, expand

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
ROUNDS = 3


@pytest.fixture(scope="module")
def command():
    """The command line of the IDT cell (bce_pair, is09-64), whose features are already cached."""
    registry = load_registry(PluginSettings(entry_points=False))
    real = RAVDESS.is_dir()
    target = "ravdess" if real else "sim-ravdess"
    ctx = RunContext(data_dirs=[], corpus_paths={"ravdess": str(RAVDESS)} if real else {})
    cells = expand(Grid(protocols=["idt"], losses=["bce_pair"], targets=[target]), registry)
    from ser_bench.running.corpora import prepare_all

    prepare_all(cells, registry, ctx)  # features extracted and cached in the user's cache before any timing
    return [sys.executable, "-m", "ser_bench.cli", "-q", "run", "--protocol", "idt", "--loss", "bce_pair",
            "--target", target, "--seed", "0", "--no-model-cache", "--no-leaderboard",
            "--cache-dir", str(ctx.cache_dir),
            *(["--corpus-path", f"ravdess={RAVDESS}"] if real else [])]


def _time(benchmark, command, tmp_path, workers):
    folders = (tmp_path / f"round{i}" for i in itertools.count())

    def once(results):
        done = subprocess.run([*command, "--workers", str(workers), "--results", str(results)], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        [written] = results.glob("*.json")
        result = json.loads(written.read_text())
        assert result["status"] == "ok" and result["timings"].get("parts", 1) == workers, result["timings"]

    benchmark.pedantic(once, setup=lambda: ((next(folders),), {}), rounds=ROUNDS, iterations=1)


def test_idt_cell_one_worker(benchmark, command, tmp_path):
    """24 folds in one worker process."""
    _time(benchmark, command, tmp_path, 1)


def test_idt_cell_two_workers(benchmark, command, tmp_path):
    """The same 24 folds as two parts of 12, one per worker."""
    _time(benchmark, command, tmp_path, 2)
