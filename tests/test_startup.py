"""Short commands stay short: each runs in a fresh interpreter and must not import the heavy libraries.

``list``, ``plugins``, ``--help`` and ``datasets`` import neither numpy nor torch (nor pandas, scipy,
scikit-learn, openSMILE); ``leaderboard`` imports no torch, scikit-learn or openSMILE, nothing from scipy
when no test is asked for (``--no-tests``), and nothing heavy at all when it shows a board from its cache.
Speed itself is measured in ``benchmarks/test_startup_speed.py``, never asserted here.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


HEAVY = {"numpy", "torch", "pandas", "scipy", "sklearn", "opensmile"}
DEMO = Path(__file__).resolve().parents[1] / "results" / "sim-demo"

# Runs one command line in this interpreter and prints which of the watched top-level packages it
# imported (as JSON on the last line). SystemExit is caught: --help exits after printing.
PROBE = """
import contextlib, io, json, sys
from ser_bench.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[2:])
    except SystemExit as exc:
        code = exc.code
watched = set(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "imported": sorted({m.split('.')[0] for m in sys.modules} & watched)}))
"""


def imported_by(args: list[str], watched: set[str], tmp_path: Path) -> dict:
    """Exit code and the watched packages imported by ``ser-bench ARGS`` in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(sorted(watched)), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


SHORT = [["--help"], ["plugins"], ["datasets", "--data-dir", "no-data"],
         *[["list", kind] for kind in ("datasets", "features", "encoders", "losses", "heads", "protocols",
                                       "executors", "recipes", "channels")]]


@pytest.mark.parametrize("args", SHORT, ids=" ".join)
def test_short_commands_import_nothing_heavy(args, tmp_path):
    found = imported_by(args, HEAVY, tmp_path)
    assert found["code"] == 0
    assert found["imported"] == [], f"ser-bench {' '.join(args)} imported {found['imported']}"


def test_listing_the_simulated_corpora_does_not_import_the_simulator(tmp_path):
    """The sim-* datasets register without building their voices and channels: the simulator's modules
    (about 8 ms of imports) load only when a corpus is generated."""
    code = ("import contextlib, io, sys\n"
            "from ser_bench.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['list', 'datasets'])\n"
            "import ser_bench_plugins.datasets.sim_ravdess as sim\n"
            "print(sorted(m for m in sys.modules if m.startswith('ser_bench_plugins.simulation.')))\n"
            "print(sim.STYLE.name, 'ser_bench_plugins.simulation.generate' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    before, after = proc.stdout.strip().splitlines()[-2:]
    assert before == "[]"
    assert after == "sim-ravdess True"  # STYLE is still there, built on first use


@pytest.fixture
def demo(tmp_path):
    """A copy of results/sim-demo without its board cache (the commands below would write one)."""
    if not DEMO.is_dir():
        pytest.skip("no results/sim-demo in this checkout")
    return shutil.copytree(DEMO, tmp_path / "demo", ignore=shutil.ignore_patterns(".cache", "site"))


def test_leaderboard_imports_no_deep_learning_stack(demo, tmp_path):
    """The leaderboard's statistics come from scipy (intervals, Friedman, Nemenyi), never hand-rolled;
    torch, scikit-learn and openSMILE are for running cells, not for reading their results. The markdown
    board shows no paired test, so it runs none: no statsmodels (Holm) either."""
    found = imported_by(["leaderboard", str(demo)], {"torch", "sklearn", "opensmile", "statsmodels"}, tmp_path)
    assert found == {"code": 0, "imported": []}


@pytest.mark.parametrize("fmt", ["markdown", "csv", "json"])
def test_leaderboard_without_tests_imports_nothing_from_scipy(fmt, demo, tmp_path):
    watched = {"scipy", "statsmodels", "torch", "sklearn", "opensmile", "numpy", "pandas"}
    found = imported_by(["leaderboard", str(demo), "--no-tests", "--format", fmt], watched, tmp_path)
    assert found == {"code": 0, "imported": ["numpy", "pandas"]}


def test_a_board_from_the_cache_imports_nothing_heavy(demo, tmp_path):
    first = imported_by(["leaderboard", str(demo)], HEAVY, tmp_path)
    assert first["code"] == 0 and {"numpy", "pandas"} <= set(first["imported"])  # computed, then kept
    assert imported_by(["leaderboard", str(demo)], HEAVY, tmp_path) == {"code": 0, "imported": []}
