"""Few-shot curves as a ranking axis: the normalised area under UAR against k, per method, ranked.

A few-shot run gives one curve per method: UAR against k, the number of target speakers fine-tuned on.
Its **normalised area** is the trapezoidal area under that curve divided by the k range (largest k -
smallest k), so it reads as a mean UAR over the k span, on the scale of the board's other numbers. It is
comparable only between methods run on the same k list: a trapezoid over 2, 4, 8 weighs the points
differently from one over 2, 8, and another span is another average. Within a group (protocol and
source → target) the k list shared by most methods is the group's; a method run on another list is left
out and named.

The area is computed per unit, the unit :func:`ser_bench.reporting.stats.estimate` uses:

- two or more source seeds: per seed, the curve being the seed's mean UAR at each k over its episode
  draws (frozen-layer settings averaged within a draw first, as the board pools them);
- one seed: per episode draw index (the r-th draw at every k, each draw's frozen-layer settings
  averaged), an interval over episodes of one source model, and the unit's name says so.

A unit missing some k of the list is left out of the mean (and counted). The interval is the 95 %
t-interval over the units' areas; each method is tested against the best of its group, paired over the
units both have (:func:`ser_bench.reporting.stats.versus_best`: a one-sample t-test of per-seed
differences, a Wilcoxon signed-rank test over draws), Holm-corrected within the group.

Pure functions over a tidy frame (:func:`ser_bench.reporting.tidy.breakdown_table`); nothing here draws
or writes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ser_bench.reporting import md
from ser_bench.reporting.sections import interval_text
from ser_bench.reporting.stats import DRAW, DRAWS, SEEDS, versus_best
from ser_bench.reporting.tidy import natural_key, ok_results
from ser_bench.results.summary import mean_ci95

__all__ = ["CurveArea", "CurvePoint", "CurveRanking", "curve_section", "normalised_area", "rank_curves",
           "unit_curves"]


@dataclass(frozen=True)
class CurvePoint:
    """Mean UAR at one k over a method's units, with its 95 % t-interval (NaN with one unit)."""

    k: int
    uar: float
    lo: float
    hi: float


@dataclass(frozen=True)
class CurveArea:
    """One method's normalised area under UAR against k (a fraction, like UAR), its 95 % t-interval over
    ``n`` units of kind ``unit`` (per-unit areas in ``values``), its rank in its group (1 = best, ties
    averaged), whether it is the group's best, and its paired test against the best (``p``, ``p_holm``;
    NaN for the best and where no test was possible). ``incomplete``: units left out for missing a k."""

    method: str
    area: float
    lo: float
    hi: float
    n: int
    unit: str
    rank: float
    best: bool
    p: float
    p_holm: float
    values: dict = field(default_factory=dict)
    points: tuple = ()
    incomplete: int = 0

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


@dataclass(frozen=True)
class CurveRanking:
    """The methods of one protocol and source → target ranked by area over the group's k list ``ks``,
    best first; ``left_out`` names each method left out and why (its k list, or no unit with every k)."""

    protocol: str
    pair: str
    ks: tuple
    rows: tuple
    left_out: dict = field(default_factory=dict)


def normalised_area(ks, uars) -> float:
    """The trapezoidal area under ``uars`` against ``ks``, divided by ``max(ks) - min(ks)``: the mean UAR
    over the k span. NaN with fewer than two distinct k."""
    points = sorted(zip((float(k) for k in ks), (float(u) for u in uars)))
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return math.nan
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))
    return area / (points[-1][0] - points[0][0])


def unit_curves(rows):
    """Per-unit UAR at each k of one method's few-shot ``rows`` (one protocol, one source → target).

    Returns ``(table, unit)``: a DataFrame with one row per unit and one column per k (NaN where the unit
    has no episode at that k), and the unit's name. Frozen-layer settings are averaged within an episode
    draw first; with two or more seeds a unit is a seed (its mean over its draws at each k), with one it
    is the episode draw index ``repeat`` (the r-th draw at each k), as :func:`~ser_bench.reporting.stats.estimate`.
    """
    draws = rows.groupby(DRAW, dropna=False)["uar"].mean()
    seeds = draws.index.get_level_values("seed").unique()
    if len(seeds) >= 2:
        table = draws.groupby(level=["seed", "k"]).mean().unstack("k")
        table.index = [str(s) for s in table.index]
        return table, SEEDS
    table = draws.droplevel("seed").unstack("k")
    table.index = [f"seed {seeds[0]}, repeat {r}" for r in table.index]
    return table, DRAWS


def _group_ks(k_lists: dict) -> tuple:
    """The k list of a group: the one most methods ran (two or more k), then the longer, then the smaller."""
    counts: dict = {}
    for ks in k_lists.values():
        if len(ks) >= 2:
            counts[ks] = counts.get(ks, 0) + 1
    if not counts:
        return ()
    return min(counts, key=lambda ks: (-counts[ks], -len(ks), ks))


def _ks_text(ks) -> str:
    return ", ".join(map(str, ks))


def rank_curves(frame, column: str = "variant", tests: bool = True, paired: bool = True) -> list[CurveRanking]:
    """The normalised area of every method of a few-shot ``frame`` (tidy rows with ``k``, ``repeat`` and
    ``frozen``: :func:`~ser_bench.reporting.tidy.breakdown_table`), one :class:`CurveRanking` per protocol
    and source → target whose methods share a k list of two or more values, in the board's protocol order
    and then by pair. ``column`` names the method (``variant``, as the board's table by k does, or
    ``loss``). ``tests=False``: areas and ranks alone (no interval, no test; nothing from scipy).
    ``paired=False``: intervals but no test against the best (``p`` and ``p_holm`` NaN), as the markdown
    board shows no paired test unless asked."""
    import pandas as pd

    if frame.empty or "k" not in frame:
        return []
    frame = frame[frame["k"].notna()]
    order = "protocol_order" if "protocol_order" in frame else "protocol"
    out = []
    groups = sorted(frame.groupby(["protocol", "pair"]), key=lambda item: (
        item[1][order].iloc[0] if order in item[1] else 0, item[0][0], item[0][1]))
    for (protocol, pair), group in groups:
        methods = sorted(set(group[column]), key=natural_key)
        k_lists = {m: tuple(sorted(int(k) for k in set(group.loc[group[column] == m, "k"]))) for m in methods}
        ks = _group_ks(k_lists)
        if not ks:
            continue
        left_out = {m: f"k = {_ks_text(k_lists[m])}, not {_ks_text(ks)}" for m in methods if k_lists[m] != ks}
        found = []
        for method in methods:
            if method in left_out:
                continue
            table, unit = unit_curves(group[group[column] == method])
            table = table[list(ks)]
            complete = table.dropna()
            if complete.empty:
                left_out[method] = f"no {'seed' if unit == SEEDS else 'episode draw'} ran every k of {_ks_text(ks)}"
                continue
            areas = {name: normalised_area(ks, row) for name, row in complete.iterrows()}
            mean, lo, hi = mean_ci95(list(areas.values()), interval=tests)
            points = tuple(CurvePoint(k, *mean_ci95(complete[k].to_numpy(), interval=tests)) for k in ks)
            found.append(dict(method=method, area=mean, lo=lo, hi=hi, n=len(areas), unit=unit, values=areas,
                              points=points, incomplete=len(table) - len(complete)))
        if not found:
            continue
        means = [f["area"] for f in found]
        tested = versus_best(means, [f["values"] for f in found], [f["unit"] for f in found]) if tests and paired else \
            [(i == max(range(len(means)), key=means.__getitem__), math.nan, math.nan) for i in range(len(means))]
        ranks = pd.Series(means).rank(ascending=False, method="average")
        rows = [CurveArea(**f, rank=float(rank), best=bool(best), p=p, p_holm=p_holm)
                for f, rank, (best, p, p_holm) in zip(found, ranks, tested)]
        rows.sort(key=lambda r: (-r.area, natural_key(r.method)))
        out.append(CurveRanking(protocol=protocol, pair=pair, ks=ks, rows=tuple(rows),
                                left_out=dict(sorted(left_out.items(), key=lambda item: natural_key(item[0])))))
    return out


CURVES_INTRO = ("Normalised area under the few-shot curve, in %: the trapezoidal area under UAR against k "
                "divided by the k range, i.e. a mean UAR over the k span. It is computed per unit (a source "
                "seed, its mean UAR at each k over its episode draws, with two or more seeds; else an episode "
                "draw index, the r-th draw at every k, of the one source model), frozen-layer settings averaged "
                "within an episode draw as in the summary table; ± is the half-width of the 95 % t-interval "
                "over those units. Areas compare only methods run on the same k list: a method whose k list "
                "differs from its group's is left out and named. Rank 1 = best (ties share the average rank). "
                "Like the summary table, this board runs no paired test here; the web page "
                "(`--format html`) tests each method against the best.")
CURVES_INTRO_NO_TESTS = ("Normalised area under the few-shot curve, in %: the trapezoidal area under UAR against k "
                         "divided by the k range, i.e. a mean UAR over the k span, averaged over the units of the "
                         "*n* column (frozen-layer settings averaged within an episode draw). Means and ranks only "
                         "(`--no-tests`). Areas compare only methods run on the same k list: a method whose k "
                         "list differs from its group's is left out and named. Rank 1 = best.")


def curve_section(results: list, figure_dir: Path | None = None, tests: bool = True) -> list[str]:
    """Markdown lines of the "Few-shot curves: area under UAR against k" section
    (:func:`~ser_bench.reporting.curves.rank_curves`): one table per protocol and source → target, methods
    best first. [] unless some protocol breaks its results down by k and some method ran two or more k.
    With ``figure_dir`` (and tests) the curves are drawn there as ``fewshot_curves.png``/``.svg`` and linked."""
    from ser_bench.reporting.stats import describe_n
    from ser_bench.reporting.tidy import breakdown_table

    frame = breakdown_table(ok_results(results), axes=("k",)) if ok_results(results) else None
    rankings = rank_curves(frame, tests=tests, paired=False) if frame is not None and not frame.empty else []
    if not rankings:
        return []
    protocols = {r.protocol for r in rankings}
    lines = ["## Few-shot curves: area under UAR against k", "", CURVES_INTRO if tests else CURVES_INTRO_NO_TESTS, ""]
    for ranking in rankings:
        name = ranking.pair if len(protocols) == 1 else f"{ranking.protocol} · {ranking.pair}"
        lines += [f"### {md.text(name)} (k = {', '.join(map(str, ranking.ks))})", ""]
        lines += ["| rank | method | area (UAR %) | n |", "|---|---|---|---|"]
        for row in ranking.rows:
            cells = [f"{row.rank:g}", md.cell(row.method), interval_text(row.area, row.lo, row.hi),
                     md.cell(describe_n(row.n, row.unit) + (f" ({row.incomplete} without every k left out)"
                                                            if row.incomplete else ""))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if ranking.left_out:
            lines += ["Left out (not comparable on this k list): " + "; ".join(
                f"{md.text(m)} ({md.text(why)})" for m, why in ranking.left_out.items()) + ".", ""]
    if figure_dir is not None and tests:
        from ser_bench.reporting.figures import plot_curve_ranking

        plot_curve_ranking(rankings, Path(figure_dir) / "fewshot_curves")
        lines += ["![Few-shot curves: UAR against k, one line per method, frozen-layer settings pooled, 95 % "
                  "bands over the units above](fewshot_curves.png)", ""]
    return lines
