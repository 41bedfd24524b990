"""The wheel ships the built-in plugins under a non-generic name."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_the_builtin_plugins(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("ser_bench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("ser_bench_plugins/losses/ratio_distance.py", "ser_bench_plugins/datasets/sim_ravdess.py",
                   "ser_bench_plugins/simulation/espeak.py", "ser_bench/cli.py"):
        assert module in names
    assert not any(n.startswith("plugins/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ser-bench = ser_bench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
