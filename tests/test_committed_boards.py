"""Every committed board is what the code renders from the committed results today: a change to
reporting (or to what results record) that moves a number, a row or a word of a committed board fails
here, and the board is regenerated in the same change (scripts/render_boards.sh)."""
import shutil
from pathlib import Path

import pytest

from ser_bench.cli.main import main

RESULTS = Path(__file__).resolve().parents[1] / "results"
# The folders whose LEADERBOARD.md is `ser-bench leaderboard FOLDER [--paired bce_pair]` (the recipes'
# reports read the corpora too: tests/test_cross_corpus.py and the feng2020 tests cover those).
PLAIN = ["sim-demo", "ravdess-idt"]
PAIRED = ["loss-zoo/sim-crema__sim-ravdess", "loss-zoo/sim-crema__ravdess", "fewshot-source/sim-crema__sim-ravdess",
          "fewshot-source/sim-crema__ravdess", "ratio-weight/sim-ravdess", "ratio-weight/ravdess"]


@pytest.mark.slow
@pytest.mark.parametrize("folder", PLAIN + PAIRED)
def test_the_committed_board_is_what_the_committed_results_render_to(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    copy = tmp_path / "results"
    shutil.copytree(RESULTS / folder, copy, ignore=shutil.ignore_patterns(".cache", ".locks", "site"))
    paired = ["--paired", "bce_pair"] if folder in PAIRED else []
    assert main(["-q", "leaderboard", str(copy), *paired, "-o", str(copy / "LEADERBOARD.md")]) == 0
    assert (copy / "LEADERBOARD.md").read_text() == (RESULTS / folder / "LEADERBOARD.md").read_text()


@pytest.mark.slow
def test_the_reality_check_boards_and_summary_are_what_the_committed_results_render_to(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setenv("MPLBACKEND", "Agg")
    copy = tmp_path / "reality-check"
    shutil.copytree(RESULTS / "reality-check", copy, ignore=shutil.ignore_patterns(".cache", ".locks", "site",
                                                                                  ".tuning"))
    spec = importlib.util.spec_from_file_location("reality_check_summary",
                                                  RESULTS.parent / "scripts" / "reality_check_summary.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(copy)
    for written in sorted(copy.rglob("*.md")):
        assert written.read_text() == (RESULTS / "reality-check" / written.relative_to(copy)).read_text(), written
