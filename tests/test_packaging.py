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
    sources = [p.relative_to(ROOT).as_posix() for p in (ROOT / "ser_bench").rglob("*.py")]
    sources += ["ser_bench_plugins/" + p.relative_to(ROOT / "plugins").as_posix()
                for p in (ROOT / "plugins").rglob("*.py")]
    missing = sorted(set(sources) - set(names))  # a sub-package left out of pyproject's list
    assert not missing, missing
    assert not any(n.startswith("plugins/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ser-bench = ser_bench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
