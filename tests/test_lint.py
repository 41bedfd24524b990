"""ruff over the whole repository and mypy over the plugin API and kit, as configured in pyproject.toml.

Both come with the ``test`` extra; without them these tests skip and say how to install them.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed: pip install -e .[test]")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_ruff_passes():
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout=120)
    assert proc.returncode == 0, f"ruff check . found problems:\n{proc.stdout}{proc.stderr}"


def test_mypy_passes():
    # files and options come from [tool.mypy]; the cache (.mypy_cache/, git-ignored) makes a rerun take a second
    proc = _run("mypy", timeout=300)
    assert proc.returncode == 0, f"mypy found problems:\n{proc.stdout}{proc.stderr}"
