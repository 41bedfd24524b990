"""Average ranks across every setting of a results folder, with the Friedman test and the Nemenyi
critical difference (Demšar 2006, "Statistical Comparisons of Classifiers over Multiple Data Sets").

A block is one setting: (protocol, source → target) and, for few-shot, each k. Within a block the
methods (the leaderboard's variants) are ranked by mean UAR over the block's units (1 = best, ties share
the average rank). Only methods present in every retained block (a block with at least two methods) are
ranked; the others are named as dropped, with the number of blocks they ran in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ser_bench.reporting.stats import estimate


def block_name(protocol: str, pair: str, k=None, axis: str = "k") -> str:
    """``fewshot sim-crema → sim-ravdess, k=2`` (``axis``: the setting ``k`` is a value of)."""
    return f"{protocol} {pair}" + ("" if k is None or (isinstance(k, float) and math.isnan(k)) else f", {axis}={int(k)}")


def block_scores(frame):
    """Mean UAR of each method (columns: ``variant``) in each block (index: block name); NaN where a
    method did not run. ``frame`` is :func:`ser_bench.reporting.tidy.tidy` of a results folder."""
    import pandas as pd

    scores: dict = {}
    keys = []
    for (protocol, pair), rows in frame.groupby(["protocol", "pair"]):
        axis = rows["rank_axis"].iloc[0]  # the protocol's first breakdown axis cuts its blocks (few-shot: k)
        ks = sorted(rows[axis].dropna().unique()) if axis else [None]
        for k in ks:
            block = rows if k is None else rows[rows[axis] == k]
            name = block_name(protocol, pair, k, axis)
            keys.append((rows["protocol_order"].iloc[0], pair, -1 if k is None else k, name))
            for variant, method_rows in block.groupby("variant"):
                scores.setdefault(name, {})[variant] = estimate(method_rows, interval=False).mean
    table = pd.DataFrame.from_dict(scores, orient="index")
    return table.loc[[name for *_, name in sorted(keys)]] if len(table) else table


@dataclass
class RankAnalysis:
    """Average ranks of the methods kept, the Friedman test and the Nemenyi critical difference."""

    average_ranks: object  # pandas Series, best (lowest) first
    n_blocks: int
    blocks: list
    dropped_methods: dict = field(default_factory=dict)  # method -> blocks it ran in
    dropped_blocks: list = field(default_factory=list)  # blocks with fewer than two methods
    friedman_statistic: float = math.nan
    friedman_p: float = math.nan
    critical_difference: float = math.nan
    alpha: float = 0.05
    tested: bool = True  # False: average ranks alone, no Friedman test and no critical difference


def rank_analysis(scores, alpha: float = 0.05, tests: bool = True) -> RankAnalysis | None:
    """Demšar's analysis of a block x method score table (:func:`block_scores`); higher scores rank first.

    Friedman's test is scipy's (with its correction for ties; it needs three or more methods). The
    critical difference is Nemenyi's, q_alpha sqrt(k (k + 1) / (6 N)) with q_alpha the studentized range
    quantile for k methods and infinite degrees of freedom over sqrt 2. ``None`` when fewer than two
    blocks or two methods remain. ``tests=False``: the average ranks alone (``tested`` False, the test
    and CD NaN), importing nothing from scipy.
    """
    import numpy as np
    import pandas as pd

    counts = scores.notna().sum(axis=1)
    retained = scores[counts >= 2]
    dropped_blocks = [str(b) for b in scores.index[counts < 2]]
    complete = [m for m in retained.columns if retained[m].notna().all()]
    dropped = {str(m): int(scores[m].notna().sum()) for m in scores.columns if m not in complete}
    if len(retained) < 2 or len(complete) < 2:
        return None
    matrix = retained[complete].to_numpy(dtype=float)
    # Average ranks within each block (1 = best, ties share the mean rank): pandas' ranking, equal to the
    # bit to scipy.stats.rankdata of the negated row (tests/test_ranks.py), so that ranks alone need no scipy.
    ranks = pd.DataFrame(matrix).rank(axis=1, method="average", ascending=False).to_numpy()
    average = pd.Series(ranks.mean(axis=0), index=complete).sort_values(kind="stable")
    n, k = matrix.shape
    found = RankAnalysis(average_ranks=average, n_blocks=n, blocks=[str(b) for b in retained.index],
                         dropped_methods=dropped, dropped_blocks=dropped_blocks, alpha=alpha, tested=tests)
    if not tests:
        return found
    from scipy.stats import friedmanchisquare, studentized_range

    stat, p = (friedmanchisquare(*matrix.T) if k >= 3 else (math.nan, math.nan))
    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    found.friedman_statistic, found.friedman_p = float(stat), float(p)
    found.critical_difference = float(q * math.sqrt(k * (k + 1) / (6 * n)))
    return found


def cliques(average_ranks, cd: float) -> list[tuple[int, int]]:
    """Maximal runs (first, last positions in rank order) of methods whose average ranks differ by less
    than ``cd``: the groups a CD diagram joins with a bar (not significantly different)."""
    values = list(average_ranks)
    runs = []
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return runs
