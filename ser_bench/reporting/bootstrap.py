"""Intervals from a bootstrap over speakers: the unit a claim about speech generalises over.

Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 13 (percentile intervals); resampling
whole speakers rather than clips follows the cluster bootstrap (Field & Welsh 2007), since clips of one
speaker are not independent.
"""
from __future__ import annotations

import numpy as np

RESAMPLES = 2000
SEED = 0  # fixed: a board is a pure function of its results folder


def stratified_interval(groups: list, statistic, resamples: int = RESAMPLES, seed: int = SEED,
                        level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``statistic(*groups)`` when each group (a sequence of per-speaker items, e.g.
    the female and the male speakers) is resampled with replacement within itself, so that each resample
    keeps the groups' sizes. ``(nan, nan)`` when a group has fewer than two speakers."""
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if any(len(a) < 2 for a in arrays):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = [a[rng.integers(0, len(a), size=(resamples, len(a)))] for a in arrays]
    values = np.asarray(statistic(*draws), dtype=float)
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, [tail, 1 - tail])
    return float(lo), float(hi)
