"""Board sections of measurements recorded per split beside UAR (continuous targets, embeddings,
calibration): each averaged over the same unit as UAR in the summary table, one row per method and
source → target.

A measurement a split does not hold (``None``, NaN: undefined there, or not recorded by the ser-bench that
wrote the result) is left out of that mean; a method without any shows a dash.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

from ser_bench.reporting import md
from ser_bench.reporting.tidy import DASH, left_out, ok_results, pair_name, per_split


@dataclass(frozen=True)
class Measure:
    """One column: its ``label``, how to read it off a split (``read(split) -> number or None``) and how a
    mean with its half-width is written (``show(mean, half_width or NaN)``)."""

    label: str
    read: Callable
    show: Callable


def decimals(places: int, scale: float = 1.0) -> Callable:
    """A ``show`` for :class:`Measure`: ``0.412 ± 0.031`` (``places`` decimals, values times ``scale``)."""
    def show(mean: float, half: float) -> str:
        if math.isnan(half):
            return f"{scale * mean:.{places}f}"
        return f"{scale * mean:.{places}f} ± {scale * half:.{places}f}"
    return show


def kept_splits(results: list) -> list:
    """``(result, split)`` of every split a board averages, row for row with the tidy frame."""
    return [(r, s) for r in ok_results(results) for s in r.splits if not left_out(r, s)]


def splits_by_row(results: list) -> list[tuple]:
    """``((method, source, target), result, split)`` for every split a board averages (:func:`kept_splits`),
    keyed by the board row it belongs to."""
    from ser_bench.reporting.tidy import split_rows

    _, frame = split_rows(results)
    return [((method, source, target), result, split) for (result, split), method, source, target
            in zip(kept_splits(results), frame["method"], frame["source"], frame["target"])]


def measure_rows(results: list, measures: list[Measure], tests: bool = True) -> Optional[list[tuple]]:
    """``[(method, source, target, [cell text per measure], n text)]``, or None when no split of ``results``
    holds any of ``measures``. Each cell is the mean ± 95 % half-width over the unit of the summary table's
    *n* column (:func:`~ser_bench.reporting.stats.estimate`)."""
    from ser_bench.reporting.tidy import split_rows
    from ser_bench.reporting.stats import describe_n

    values = [[_number(m.read(s)) for m in measures] for _, s in kept_splits(results)]
    if not any(not math.isnan(v) for row in values for v in row):
        return None
    _, frame = split_rows(results)
    columns = [f"_m{i}" for i in range(len(measures))]
    for i, column in enumerate(columns):
        frame[column] = [row[i] for row in values]
    frame = frame[[any(not math.isnan(v) for v in row) for row in values]]
    out = []
    for (method, source, target), group in frame.groupby(["method", "source", "target"], sort=False):
        cells, units = [], []
        base = per_split(group)  # once per row of the table, not once per measure
        for measure, column in zip(measures, columns):
            est = measure_estimate(base, column, interval=tests)
            if est is None:
                cells.append(DASH)
                continue
            units.append(describe_n(est.n, est.unit))
            cells.append(measure.show(est.mean, math.nan if math.isnan(est.lo) else est.half_width))
        out.append((method, source, target, cells, "; ".join(dict.fromkeys(units)) or DASH))
    return out


def measure_estimate(base, column: str, interval: bool = True):
    """The :class:`~ser_bench.reporting.stats.Estimate` of a per-split measurement ``column`` over the unit
    of UAR's, from one row's split rows ``base`` (:func:`~ser_bench.reporting.tidy.per_split` already
    applied); None when no split holds it."""
    from ser_bench.reporting.stats import estimate

    rows = base[base[column].notna()]
    return estimate(rows.assign(uar=rows[column]), interval=interval) if len(rows) else None


def measure_table(rows: list[tuple], measures: list[Measure]) -> list[str]:
    """The markdown table of :func:`measure_rows`."""
    lines = ["| method | source → target | " + " | ".join(md.cell(m.label) for m in measures) + " | n |",
             "|---|---|" + "---|" * len(measures) + "---|"]
    for method, source, target, cells, n in rows:
        lines.append("| " + " | ".join([md.cell(method), md.cell(pair_name(source or None, target)), *cells,
                                          md.cell(n)]) + " |")
    return lines


def _number(value) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)
