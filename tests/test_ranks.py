"""Average ranks, Friedman and Nemenyi (Demšar 2006) on his own worked example, and on tidy rows."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from ser_bench.reporting.ranks import block_scores, cliques, rank_analysis
from ser_bench.reporting.tidy import tidy
from ser_bench.results.record import CellParams, Result, make_split

# Demšar (2006), Table 6: ranks of C4.5, C4.5+m, C4.5+cf and C4.5+m+cf on 14 data sets (ties averaged).
DEMSAR_RANKS = [
    (4, 3, 2, 1), (1, 2, 3, 4), (4, 1, 2, 3), (4, 1, 3, 2), (4, 2, 3, 1), (1, 2.5, 4, 2.5), (3, 2, 4, 1),
    (2.5, 2.5, 4, 1), (4, 3, 2, 1), (2.5, 2.5, 2.5, 2.5), (4, 2.5, 1, 2.5), (3, 2, 4, 1), (4, 1, 2, 3), (3, 1, 4, 2),
]
METHODS = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]


def test_demsar_worked_example():
    # scores that reproduce his ranks exactly (higher is better, equal scores for tied ranks)
    scores = pd.DataFrame([[5 - r for r in row] for row in DEMSAR_RANKS], columns=METHODS,
                          index=[f"data set {i}" for i in range(14)])
    analysis = rank_analysis(scores)
    assert analysis.n_blocks == 14 and not analysis.dropped_methods and not analysis.dropped_blocks
    # his average ranks: 3.143, 2.000, 2.893, 1.964
    assert dict(analysis.average_ranks.round(3)) == {"C4.5": 3.143, "C4.5+m": 2.0, "C4.5+cf": 2.893, "C4.5+m+cf": 1.964}
    assert list(analysis.average_ranks.index) == ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]
    # his chi²_F = 9.28 has no tie correction; scipy divides by 1 - sum(t³ - t) / (N k (k² - 1)) with
    # tie groups of 2, 2, 4, 2 (iris, lung cancer, mushroom, primary tumor): 1 - 78 / 840
    assert analysis.friedman_statistic * (1 - 78 / 840) == pytest.approx(9.28, abs=0.005)
    assert analysis.friedman_p < 0.05
    # his critical difference for 4 methods and 14 data sets at alpha = 0.05: q = 2.569, CD = 1.25
    assert analysis.critical_difference == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 14)), abs=1e-3)
    assert round(analysis.critical_difference, 2) == 1.25
    # at alpha = 0.05 Nemenyi finds no pair different: 3.143 - 1.964 = 1.18 < CD, so one group
    assert cliques(analysis.average_ranks, analysis.critical_difference) == [(0, 3)]
    assert cliques(pd.Series([1.0, 1.5, 2.9, 3.0, 4.1]), 1.25) == [(0, 1), (2, 4)]


def test_methods_missing_from_a_block_are_dropped_and_named():
    scores = pd.DataFrame({"a": [0.5, 0.6, 0.7], "b": [0.4, 0.5, 0.6], "c": [0.3, None, 0.8], "d": [None, None, 0.1]},
                          index=["x", "y", "z"])
    scores.loc["lonely"] = [0.5, None, None, None]
    analysis = rank_analysis(scores)
    assert list(analysis.average_ranks.index) == ["a", "b"] and analysis.n_blocks == 3
    assert analysis.dropped_methods == {"c": 2, "d": 1} and analysis.dropped_blocks == ["lonely"]
    assert math.isnan(analysis.friedman_statistic)  # two methods: Friedman's test needs three
    assert rank_analysis(scores[["a"]]) is None


def _result(protocol, loss, source, uars, seed=0, k=2):
    splits = [make_split(f"s{i}", u, info=({"repeat": i, "k": k, "frozen": 0} if protocol == "fewshot" else {}))
              for i, u in enumerate(uars)]
    params = CellParams(protocol=protocol, loss=loss, source=source, target="t", encoder="e", feature="f",
                        seed=seed, labels=("a",))
    return Result(cell_id=f"{protocol}-{loss}-{source}-{seed}-{k}", status="ok", params=params, splits=tuple(splits))


def test_blocks_are_protocol_pair_and_few_shot_k():
    results = [_result("oodt", loss, "s", [u]) for loss, u in (("x", 0.4), ("y", 0.5))]
    results += [_result("fewshot", loss, "s", [u, u], k=k) for k in (2, 4) for loss, u in (("x", 0.6), ("y", 0.5))]
    results += [_result("idt", loss, None, [u, u + 0.1]) for loss, u in (("x", 0.7), ("y", 0.6))]
    scores = block_scores(tidy(results))
    assert list(scores.index) == ["oodt s → t", "fewshot s → t, k=2", "fewshot s → t, k=4", "idt – → t"]
    assert scores.loc["idt – → t", "x"] == pytest.approx(0.75)
    analysis = rank_analysis(scores)
    assert dict(analysis.average_ranks) == {"x": 1.25, "y": 1.75}
