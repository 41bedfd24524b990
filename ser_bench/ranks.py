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

from .stats import estimate


def block_name(protocol: str, pair: str, k=None) -> str:
    """``fewshot sim-crema → sim-ravdess, k=2``."""
    return f"{protocol} {pair}" + ("" if k is None or (isinstance(k, float) and math.isnan(k)) else f", k={int(k)}")


def block_scores(frame):
    """Mean UAR of each method (columns: ``variant``) in each block (index: block name); NaN where a
    method did not run. ``frame`` is :func:`ser_bench.tidy.tidy` of a results folder."""
    import pandas as pd

    scores: dict = {}
    order: dict = {"oodt": 0, "fewshot": 1, "idt": 2}
    keys = []
    for (protocol, pair), rows in frame.groupby(["protocol", "pair"]):
        ks = sorted(rows["k"].dropna().unique()) if protocol == "fewshot" else [None]
        for k in ks:
            block = rows if k is None else rows[rows["k"] == k]
            name = block_name(protocol, pair, k)
            keys.append((order.get(protocol, 1), pair, -1 if k is None else k, name))
            for variant, method_rows in block.groupby("variant"):
                scores.setdefault(name, {})[variant] = estimate(method_rows).mean
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


def rank_analysis(scores, alpha: float = 0.05) -> RankAnalysis | None:
    """Demšar's analysis of a block x method score table (:func:`block_scores`); higher scores rank first.

    Friedman's test is computed as scipy's ``friedmanchisquare`` computes it (with its correction for
    ties; it needs three or more methods). The critical difference is Nemenyi's, q_alpha sqrt(k (k + 1) /
    (6 N)) with q_alpha the studentized range quantile for k methods and infinite degrees of freedom over
    sqrt 2. ``None`` when fewer than two blocks or two methods remain. No scipy: the default leaderboard
    shows this section, and importing ``scipy.stats`` would cost it most of its time.
    """
    import numpy as np

    counts = scores.notna().sum(axis=1)
    retained = scores[counts >= 2]
    dropped_blocks = [str(b) for b in scores.index[counts < 2]]
    complete = [m for m in retained.columns if retained[m].notna().all()]
    dropped = {str(m): int(scores[m].notna().sum()) for m in scores.columns if m not in complete}
    if len(retained) < 2 or len(complete) < 2:
        return None
    matrix = retained[complete].to_numpy(dtype=float)
    ranks = np.array([rankdata(-row) for row in matrix])
    import pandas as pd

    average = pd.Series(ranks.mean(axis=0), index=complete).sort_values(kind="stable")
    n, k = matrix.shape
    stat, p = friedman(matrix) if k >= 3 else (math.nan, math.nan)
    q = studentized_range_quantile(1 - alpha, k) / math.sqrt(2)
    cd = float(q * math.sqrt(k * (k + 1) / (6 * n)))
    return RankAnalysis(average_ranks=average, n_blocks=n, blocks=[str(b) for b in retained.index],
                        dropped_methods=dropped, dropped_blocks=dropped_blocks, friedman_statistic=float(stat),
                        friedman_p=float(p), critical_difference=cd, alpha=alpha)


def rankdata(values) -> list[float]:
    """Ranks 1..n of ``values`` in ascending order, ties sharing their average rank (scipy's
    ``rankdata(method="average")``)."""
    values = [float(v) for v in values]
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def friedman(matrix) -> tuple[float, float]:
    """Friedman's chi-square statistic and p-value for a blocks x methods score matrix, with the tie
    correction, in the order of operations of scipy's ``friedmanchisquare(*matrix.T)``."""
    n, k = len(matrix), len(matrix[0])
    ranked = [rankdata(row) for row in matrix]
    ties = sum(t * (t * t - 1) for row in ranked for t in _tie_counts(row))
    c = 1 - ties / (k * (k * k - 1) * n)
    if c == 0:  # every block all ties: scipy's 0/0, NaN
        return math.nan, math.nan
    ssbn = sum(sum(row[j] for row in ranked) ** 2 for j in range(k))
    statistic = (12.0 / (k * n * (k + 1)) * ssbn - 3 * n * (k + 1)) / c
    return statistic, chi2_sf(statistic, k - 1)


def _tie_counts(ranks: list[float]) -> list[int]:
    counts: dict = {}
    for r in ranks:
        counts[r] = counts.get(r, 0) + 1
    return list(counts.values())


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for a chi-square variable with a whole number ``df`` of degrees of freedom (closed forms:
    a Poisson sum for even ``df``; for odd ``df``, erfc plus half-integer terms)."""
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return math.exp(-half) * total
    term = math.sqrt(half) / math.gamma(1.5)
    total = 0.0
    for i in range(1, (df + 1) // 2):
        total += term
        term *= half / (i + 0.5)
    return math.erfc(math.sqrt(half)) + math.exp(-half) * total


def _range_cdf(q: float, k: int, derivative: bool = False) -> float:
    """P(range of k standard normals < q), or its derivative in q: k * integral of phi(z) (Phi(z) -
    Phi(z - q))^(k-1) dz, by the trapezoid rule, which is exact to rounding for this smooth integrand."""
    h, total = 0.025, 0.0
    for i in range(-480, 481 + int(q / h)):
        z = i * h
        phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        inside = 0.5 * (math.erfc(-z / math.sqrt(2)) - math.erfc((q - z) / math.sqrt(2)))
        if derivative:
            total += phi * math.exp(-(z - q) ** 2 / 2) / math.sqrt(2 * math.pi) * (k - 1) * inside ** (k - 2)
        else:
            total += phi * inside ** (k - 1)
    return k * h * total


def studentized_range_quantile(p: float, k: int) -> float:
    """The ``p`` quantile of the range of ``k`` standard normals (the studentized range with infinite
    degrees of freedom, scipy's ``studentized_range.ppf(p, k, inf)``), by Newton's method kept inside a
    bracket that always holds the root."""
    lo, hi = 0.0, 4.0
    while _range_cdf(hi, k) < p:
        lo, hi = hi, 2 * hi
    q = (lo + hi) / 2
    for _ in range(100):
        excess = _range_cdf(q, k) - p
        if excess > 0:
            hi = q
        else:
            lo = q
        slope = _range_cdf(q, k, derivative=True)
        step = q - excess / slope if slope > 0 else (lo + hi) / 2
        if not lo < step < hi:
            step = (lo + hi) / 2
        if abs(step - q) <= 1e-13 * q:
            return step
        q = step
    return q


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
