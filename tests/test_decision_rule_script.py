"""The pure parts of scripts/decision_rule_imbalance.py: support subsampling, summary, README rewrite."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "decision_rule_imbalance.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("decision_rule_imbalance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ratio", [1, 2, 4, 8])
def test_subsampling_gives_the_requested_ratio_with_anger_whole(script, ratio):
    y = np.repeat([0, 1, 2, 3], [96, 96, 120, 100])
    np.random.default_rng(0).shuffle(y)
    rows = script.imbalanced_support(y, ratio, np.random.default_rng(1))
    counts = np.bincount(y[rows], minlength=4)
    assert len(set(rows.tolist())) == len(rows)
    assert counts[0] == 96 and (counts[1:] == 96 // ratio).all()
    assert set(np.flatnonzero(y == 0)) <= set(rows.tolist())


def test_draws_are_seeded_and_differ(script):
    y = np.repeat([0, 1, 2, 3], 40)
    a = script.imbalanced_support(y, 4, script.draw_rng("A", 0, 4, 0))
    assert (a == script.imbalanced_support(y, 4, script.draw_rng("A", 0, 4, 0))).all()
    assert not np.array_equal(a, script.imbalanced_support(y, 4, script.draw_rng("A", 0, 4, 1)))


def test_too_small_a_class_is_an_error(script):
    with pytest.raises(ValueError, match="fewer"):
        script.imbalanced_support(np.repeat([0, 1], [40, 10]), 2, np.random.default_rng(0))


def test_summary_averages_draws_then_seeds_and_keeps_the_prose(script, tmp_path):
    runs = pd.DataFrame([{"case": "A", "seed": s, "ratio": 2, "draw": d, "rule": rule, "uar": u,
                          "anger_recall": 0.5, "anger_share": 0.25, "n_anger": 10, "n_other": 5}
                         for rule in ("mean", "sum") for s, us in ((0, (0.2, 0.4)), (1, (0.6, 0.6)))
                         for d, u in enumerate(us)])
    summary = script.summarise(runs)
    assert list(summary["rule"]) == ["sum", "mean"]
    row = summary.iloc[0]
    assert (row["uar_mean"], row["uar_min"], row["uar_max"]) == pytest.approx((0.45, 0.3, 0.6))
    readme = tmp_path / "README.md"
    script.write_readme(readme, "old table", "notes")
    readme.write_text("# Title\n\nprose before\n\n" + readme.read_text().split("\n\n", 2)[2] + "\nprose after\n")
    script.write_readme(readme, script.markdown_table(summary), "notes")
    text = readme.read_text()
    assert "prose before" in text and "prose after" in text and "old table" not in text
    assert "| A | 2:1 | 10 / 5 | sum | 45.0 (30.0–60.0) |" in text
