"""``ser-bench leaderboard ... | head``: the reader goes away before ser-bench has written everything.
ser-bench stops quietly with status 141 (128 + SIGPIPE, what a shell reports for ``cat`` in that
place), with nothing on standard error, never a BrokenPipeError traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import make_ctx, run_idt


@pytest.fixture(scope="module")
def results(registry, clean_tree, cache_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("board")
    run_idt(registry, make_ctx(clean_tree, cache_dir), folder)
    return folder


@pytest.mark.parametrize("command", ["leaderboard", "plugins"])
def test_a_closed_output_pipe_ends_quietly(command, results, tmp_path):
    argv = ["leaderboard", str(results)] if command == "leaderboard" else ["plugins"]
    proc = subprocess.Popen([sys.executable, "-m", "ser_bench.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()  # like `| head -0`: nobody reads what ser-bench writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""
