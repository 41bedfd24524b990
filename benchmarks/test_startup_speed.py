"""Short commands, timed as a user runs them: a fresh interpreter per call (issue 12 goals:
``ser-bench list losses`` < 0.15 s, ``ser-bench leaderboard`` on a demo folder < 0.5 s).

Run: ``make benchmark`` (or ``pytest benchmarks --benchmark-only --benchmark-enable``). A bare
``python -c pass`` is timed beside them, so the interpreter's own start can be subtracted.

The leaderboard is timed on a copy of results/sim-demo three ways: the first time (its board cache
emptied before every round: numpy, pandas and scipy imported, everything computed), again (the board
shown from the cache in ``<folder>/.cache/``, as long as nothing it depends on changed), and the first
time with ``--no-tests`` (means only: nothing imported from scipy).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "results" / "sim-demo"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # Bytecode cached as after an install: without it every run would time compiling ser-bench's
    # sources (PYTHONDONTWRITEBYTECODE is set in some environments), which a user pays once.
    out = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A copy of results/sim-demo, so that its board cache is written outside the checkout."""
    if not DEMO.is_dir():
        pytest.skip("no results/sim-demo in this checkout")
    return shutil.copytree(DEMO, tmp_path_factory.mktemp("demo") / "sim-demo",
                           ignore=shutil.ignore_patterns(".cache", "site"))


def command(env, *args: str):
    """A function that runs ``args`` in a fresh interpreter, warmed once (bytecode written)."""
    def call():
        subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    call()
    return call


def no_cache(folder: Path):
    """A pedantic ``setup``: the folder's board cache removed before the round."""
    def setup():
        shutil.rmtree(folder / ".cache", ignore_errors=True)
    return setup


def test_python_start(benchmark, env):
    benchmark.pedantic(command(env, "-c", "pass"), rounds=15, iterations=1)


def test_list_losses(benchmark, env):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "list", "losses"), rounds=15, iterations=1)


def test_leaderboard_demo_first_time(benchmark, env, demo):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "leaderboard", str(demo)), setup=no_cache(demo),
                       rounds=7, iterations=1)


def test_leaderboard_demo_again(benchmark, env, demo):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "leaderboard", str(demo)), rounds=15, iterations=1)


def test_leaderboard_demo_no_tests_first_time(benchmark, env, demo):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "leaderboard", str(demo), "--no-tests"),
                       setup=no_cache(demo), rounds=7, iterations=1)
