"""Short commands, timed as a user runs them: a fresh interpreter per call (issue 12 goals:
``ser-bench list losses`` < 0.15 s, ``ser-bench leaderboard`` on a demo folder < 0.5 s).

Run: ``make benchmark`` (or ``pytest benchmarks --benchmark-only --benchmark-enable``). A bare
``python -c pass`` is timed beside them, so the interpreter's own start can be subtracted.
"""
from __future__ import annotations

import os
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


def command(env, *args: str):
    """A function that runs ``args`` in a fresh interpreter, warmed once (bytecode written)."""
    def call():
        subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    call()
    return call


def test_python_start(benchmark, env):
    benchmark.pedantic(command(env, "-c", "pass"), rounds=15, iterations=1)


def test_list_losses(benchmark, env):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "list", "losses"), rounds=15, iterations=1)


@pytest.mark.skipif(not DEMO.is_dir(), reason="no results/sim-demo in this checkout")
def test_leaderboard_demo(benchmark, env):
    benchmark.pedantic(command(env, "-m", "ser_bench.cli", "leaderboard", str(DEMO)), rounds=9, iterations=1)
