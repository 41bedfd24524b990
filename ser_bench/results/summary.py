"""The summary a result file carries: the cell's own mean and 95 % interval of UAR, over its repeats or
folds (leaderboards recompute intervals over the unit a claim generalises over, see
:mod:`ser_bench.reporting.stats`)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ser_bench.results.record import SplitResult


def mean_ci95(values, interval: bool = True) -> tuple[float, float, float]:
    """Mean and two-sided 95 % Student-t confidence interval; the interval is NaN for fewer than 2 values,
    and with ``interval=False`` (the mean alone, importing nothing from scipy)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if len(v) < 2 or not interval:
        return m, float("nan"), float("nan")
    half = float(t_quantile(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def t_quantile(q: float, df) -> float:
    """Student's t quantile, ``scipy.stats.t.ppf(q, df)``: the very function it evaluates (``t._ppf`` is
    ``scipy.special.stdtrit``), without importing scipy.stats (~0.6 s, the bulk of a board's start).
    tests/test_stats.py checks that the two are equal to the bit."""
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def summarise(splits: Sequence[SplitResult], pooled: bool = False) -> dict:
    """The cell's own summary (a result's ``summary``): mean and 95 % CI of UAR over repeats (settings
    averaged within a repeat) or folds, and how many splits had unequal support classes. Leaderboards
    recompute intervals over the unit a claim generalises over (seeds, speakers) from the per-split numbers.

    Splits whose test set lacks some of the label set's classes (``missing_test_classes``) are left out
    of the means and listed in ``excluded_splits``: their UAR, over fewer classes, is not comparable.

    ``pooled``: the cell is scored pooled over its folds (``Result.scoring``): ``uar`` is the UAR of every
    fold's predictions together, its interval a bootstrap over test speakers, and no split is left out."""
    if pooled:
        from ser_bench.results.pooling import pooled_estimate

        mean, lo, hi, speakers = pooled_estimate([s.speakers for s in splits])
        return {"uar": mean, "uar_ci95": [lo, hi], "n_units": len(speakers), "n_splits": len(splits),
                "scoring": "pooled", "accuracy": float(np.mean([s.metrics.accuracy for s in splits])),
                "macro_f1": float(np.mean([s.metrics.macro_f1 for s in splits])),
                "unbalanced_support": {"splits": sum(s.support_balanced is False for s in splits), "examples": []},
                "excluded_splits": []}
    excluded = [{"split": s.name, "missing_test_classes": list(s.missing_test_classes)}
                for s in splits if s.missing_test_classes]
    kept = [s for s in splits if not s.missing_test_classes]
    groups: dict = {}
    for s in kept:
        groups.setdefault(s.info.get("repeat", s.name), []).append(s.metrics.uar)
    per_unit = [float(np.mean(v)) for v in groups.values()]
    mean, lo, hi = mean_ci95(per_unit)
    unbalanced = [s.name for s in splits if s.support_balanced is False]  # None: not recorded

    def average(key):
        return float(np.mean([getattr(s.metrics, key) for s in kept])) if kept else float("nan")

    return {
        "uar": mean, "uar_ci95": [lo, hi], "n_units": len(per_unit), "n_splits": len(splits),
        "accuracy": average("accuracy"), "macro_f1": average("macro_f1"),
        "unbalanced_support": {"splits": len(unbalanced), "examples": unbalanced[:5]},
        "excluded_splits": excluded,
    }
