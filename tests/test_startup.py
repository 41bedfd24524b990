"""Short commands stay short: each runs in a fresh interpreter and must not import the heavy libraries.

``list``, ``plugins``, ``--help`` and ``datasets`` import neither numpy nor torch (nor pandas, scipy,
scikit-learn, openSMILE); ``leaderboard`` imports no torch, scikit-learn or openSMILE. Speed itself is measured in ``benchmarks/test_startup_speed.py``, never asserted here.
"""
from __future__ import annotations

import json
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


@pytest.mark.skipif(not DEMO.is_dir(), reason="no results/sim-demo in this checkout")
def test_leaderboard_imports_no_deep_learning_stack(tmp_path):
    """The leaderboard's statistics come from scipy (intervals, Friedman, Nemenyi), never hand-rolled;
    torch, scikit-learn and openSMILE are for running cells, not for reading their results."""
    found = imported_by(["leaderboard", str(DEMO)], {"torch", "sklearn", "opensmile"}, tmp_path)
    assert found == {"code": 0, "imported": []}
