"""Case 3: a fold whose test set lacks classes of the label set (its UAR averages fewer classes, 1.0 for a
one-emotion speaker) is recorded and named. An IDT cell with such a fold is scored pooled over its folds
(the fold's predictions count, its UAR alone does not), said by the run and on the board; a result from
before scoring was recorded leaves the fold out of every leaderboard statistic, as it always did."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ser_bench.errors import SerBenchWarning
from ser_bench.reporting.leaderboard import summary_table
from ser_bench.reporting.publish import render
from ser_bench.results.store import load_results
from ser_bench.reporting.tidy import tidy

from .conftest import make_ctx, run_idt, write_tree


@pytest.fixture(scope="module")
def degenerate(registry, clean_tree, cache_dir, tmp_path_factory):
    """An IDT result where speaker 04 has anger clips only: fold loso-04 cannot measure sadness."""
    root = tmp_path_factory.mktemp("degenerate")
    tree = write_tree(root / "ravdess")
    write_tree(tree, actors=(4,), emotions=("anger",))
    ctx = make_ctx(tree, cache_dir)
    report = run_idt(registry, ctx, root / "results")
    return report, root / "results"


def test_the_fold_is_recorded_and_the_cell_scored_pooled_saying_why(degenerate):
    report, _ = degenerate
    (result,) = report.ran
    splits = {s.name: s for s in result.splits}
    assert splits["loso-04"].missing_test_classes == ["sadness"]
    assert all(not s.missing_test_classes for name, s in splits.items() if name != "loso-04")
    summary = result.summary
    assert result.pooled and summary["scoring"] == "pooled" and summary["excluded_splits"] == []
    total = np.sum([s.metrics.confusion for s in result.splits], axis=0)
    assert summary["uar"] == pytest.approx(np.mean(np.diag(total) / total.sum(axis=1))) and summary["n_units"] == 4
    assert any("scored pooled over folds: 1 of 4 folds" in w and result.cell_id in w for w in report.warnings)


def test_the_board_states_the_pooled_scoring_and_the_fold(degenerate, tmp_path):
    _, folder = degenerate
    (path,) = folder.glob("*.json")
    (tmp_path / path.name).write_text(path.read_text())
    results = load_results(tmp_path)
    assert len(tidy(results)) == 4
    assert summary_table(results).iloc[0]["n"] == "n = 4 test speakers, pooled over folds"
    board = render(tmp_path)
    assert "Scored pooled over folds: 1 of 4 folds" in board and "- idt on ravdess: 4 folds, 1 lacking classes " \
        "(loso-04: sadness)" in board and "## Splits left out" not in board


@pytest.mark.parametrize("written_before_the_field", [False, True])
def test_an_older_result_leaves_the_fold_out_and_lists_it(written_before_the_field, degenerate, tmp_path):
    _, folder = degenerate
    (path,) = folder.glob("*.json")
    payload = json.loads(path.read_text())
    payload = {k: v for k, v in payload.items() if k != "scoring"}  # written before scoring was recorded
    for split in payload["splits"]:
        split.pop("speakers", None)
        if written_before_the_field:  # older results: the confusion matrix tells which classes were absent
            del split["missing_test_classes"]
    (tmp_path / path.name).write_text(json.dumps({**payload, "schema_version": 2}))
    results = load_results(tmp_path)
    assert len(tidy(results)) == 3 and len(tidy(results, include_degenerate=True)) == 4
    others = [s["metrics"]["uar"] for s in payload["splits"] if s["name"] != "loso-04"]
    table = summary_table(results)
    assert table.iloc[0, 0].startswith(f"{100 * np.mean(others):.1f} ±") and table.iloc[0]["n"] == "n = 3 held-out speakers"
    with pytest.warns(SerBenchWarning, match="loso-04"):
        board = render(tmp_path)
    assert "## Splits left out" in board
    assert ("target ravdess, speaker 04: its clips have no sadness — left out of 1 split (loso-04) in 1 cell "
            "(every fold of that speaker)") in board
