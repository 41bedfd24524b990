"""Few-shot learning curves from result files, with intervals over the right unit.

Paired comparisons, Holm's correction and units live in :mod:`ser_bench.reporting.stats`; average ranks in
:mod:`ser_bench.reporting.ranks`. This module and :mod:`ser_bench.reporting.leaderboard` both build on
:mod:`ser_bench.reporting.tidy` and never import each other.
"""
from __future__ import annotations

from ser_bench.reporting.stats import estimate
from ser_bench.reporting.tidy import breakdown_table

__all__ = ["breakdown_table", "curves"]


def curves(frame, column: str = "loss"):
    """Mean UAR and 95 % CI for each (pair, method, frozen, k) of a few-shot ``frame``
    (:func:`ser_bench.reporting.tidy.breakdown_table`), over source seeds when there are two or more, else over the
    episode draws of the one source model (``n`` and ``unit`` say which). ``column`` names the method:
    ``loss`` or ``variant``; the output calls it ``loss``."""
    import pandas as pd

    rows = []
    for (pair, method, frozen, k), group in frame.groupby(["pair", column, "frozen", "k"]):
        est = estimate(group)
        rows.append({"pair": pair, "loss": method, "frozen": frozen, "k": k, "uar": est.mean, "lo": est.lo,
                     "hi": est.hi, "n": est.n, "unit": est.unit})
    return pd.DataFrame(rows)
