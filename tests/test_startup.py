"""Short commands stay short: each runs in a fresh interpreter and must not import the heavy libraries.

``list``, ``plugins``, ``--help`` and ``datasets`` import neither numpy nor torch (nor pandas, scipy,
scikit-learn, openSMILE); ``leaderboard`` imports nothing from scipy unless a test is asked for
(``--paired``). The plain-Python statistics that let the leaderboard do without scipy are checked here
against scipy. Speed itself is measured in ``benchmarks/test_startup_speed.py``, never asserted here.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ser_bench.ranks import chi2_sf, friedman, rankdata, studentized_range_quantile
from ser_bench.stats import t_quantile

HEAVY = {"numpy", "torch", "pandas", "scipy", "sklearn", "opensmile"}
DEMO = Path(__file__).resolve().parents[1] / "results" / "sim-demo"

# Runs one command line in this interpreter and prints which of the watched top-level packages it
# imported (as JSON on the last line). SystemExit is caught: --help exits after printing.
PROBE = """
import contextlib, io, json, sys
from ser_bench.cli import main
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


@pytest.mark.skipif(not DEMO.is_dir(), reason="no results/sim-demo in this checkout")
def test_leaderboard_imports_no_scipy_until_a_test_is_asked_for(tmp_path):
    found = imported_by(["leaderboard", str(DEMO)], {"scipy", "torch", "sklearn", "opensmile"}, tmp_path)
    assert found == {"code": 0, "imported": []}
    paired = imported_by(["leaderboard", str(DEMO), "--paired", "bce_pair"], {"scipy"}, tmp_path)
    assert paired == {"code": 0, "imported": ["scipy"]}


# The leaderboard's own statistics in plain Python, against scipy's.

def test_t_quantile_matches_scipy():
    from scipy import stats

    for df in [*range(1, 60), 99, 100, 239, 500, 1000]:
        expected = float(stats.t.ppf(0.975, df))
        assert t_quantile(0.975, df) == pytest.approx(expected, rel=1e-13, abs=0), df


@pytest.mark.parametrize("k", [2, 3, 4, 5, 7, 10, 15, 30])
def test_studentized_range_quantile_matches_scipy(k):
    from scipy import stats

    expected = float(stats.studentized_range.ppf(0.95, k, math.inf))
    assert studentized_range_quantile(0.95, k) == pytest.approx(expected, rel=1e-12)


def test_chi2_sf_matches_scipy():
    from scipy import stats

    for df in range(1, 25):
        for x in (0.0, 0.05, 1.0, 3.3, 15.07, 60.0):
            assert chi2_sf(x, df) == pytest.approx(float(stats.chi2.sf(x, df)), rel=1e-12, abs=1e-300)


def test_friedman_and_ranks_equal_scipy():
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(12)
    for trial in range(200):
        n, k = int(rng.integers(2, 12)), int(rng.integers(3, 9))
        # Whole numbers make ties (within a block and the tie correction) common.
        matrix = rng.integers(0, 4, size=(n, k)).astype(float) if trial % 2 else rng.random((n, k))
        statistic, p = friedman(matrix)
        with np.errstate(all="ignore"):
            expected = stats.friedmanchisquare(*matrix.T)
        if math.isnan(expected.statistic):
            assert math.isnan(statistic) and math.isnan(p)
            continue
        assert statistic == expected.statistic  # same operations in the same order: bit for bit
        assert p == pytest.approx(float(expected.pvalue), rel=1e-12)
        for row in matrix:
            assert rankdata(-row) == list(stats.rankdata(-row))
