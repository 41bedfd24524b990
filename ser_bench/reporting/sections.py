"""Markdown for the statistical sections of a board: paired comparisons and average ranks.

Shared by ``ser-bench leaderboard`` and recipes, so that every table states its unit, its test and its
correction the same way.
"""
from __future__ import annotations

import math

from ser_bench.reporting.md import cell, text
from ser_bench.reporting.tidy import DASH

ALPHA = 0.05


def _points(value: float) -> str:
    return DASH if value is None or math.isnan(value) else f"{100 * value:+.1f}"


def _detectable(value) -> str:
    """``±3.2`` (UAR points); ``∞`` when no difference was detectable; a dash without a test."""
    if value is None or math.isnan(value):
        return DASH
    return "∞" if math.isinf(value) else f"±{100 * value:.1f}"


def _p(value) -> str:
    return DASH if value is None or math.isnan(value) else f"{value:.3g}"


def interval_text(mean: float, lo: float, hi: float) -> str:
    """A UAR fraction as a board shows it: ``"61.0 ± 7.8"`` (%), ``"61.0"`` without an interval, a dash for NaN."""
    if math.isnan(mean):
        return DASH
    if math.isnan(lo):
        return f"{100 * mean:.1f}"
    return f"{100 * mean:.1f} ± {100 * (hi - lo) / 2:.1f}"


def significant(row: dict) -> bool:
    """Whether a paired comparison survives Holm's correction at the 5 % level."""
    return row.get("p_holm") is not None and not math.isnan(row["p_holm"]) and row["p_holm"] < ALPHA


def paired_markdown(rows: list[dict]) -> list[str]:
    """Markdown lines for paired comparisons (Holm already applied over ``rows``): a note on units and
    tests, then one row per comparison."""
    n_tests = sum(not math.isnan(r["p_value"]) for r in rows)
    lines = [f"Difference = treatment - baseline in UAR points on identical episodes (episode hashes checked), "
             "averaged within an episode draw over frozen-layer settings, then within a source seed. With two "
             "or more seeds the unit is the source seed: one-sample t-test of the per-seed differences, effect "
             "size d_z = mean / sd of the per-seed differences. With one seed the unit is the episode draw of "
             "that one source model: Wilcoxon signed-rank test, effect size = matched-pairs rank-biserial r; such "
             "a p-value says nothing about other source models. 95 % CI: t-interval over the units. Detectable "
             "(power 0.8): the smallest true difference the test had an 80 % chance to find at two-sided α = 0.05, "
             "given the observed sd of the unit differences and n (noncentral t, Cohen 1988; over episode draws "
             "divided by √(3/π), the Wilcoxon test's asymptotic relative efficiency to the t-test under "
             "normality, 3/π ≈ 0.955; ∞: too few draws for the test to reach p < 0.05); n.s. reads as: no "
             "difference larger than the detectable one at 80 % power. "
             f"p (Holm): adjusted over the {n_tests} test{'' if n_tests == 1 else 's'} in this table; "
             f"*significant* only when it is below {ALPHA}.", "",
             "| source → target | baseline | treatment | n | unit | mean difference | 95 % CI | detectable (power 0.8) "
             "| per-seed differences "
             "| effect size | treatment better / worse / tied | statistic | p | p (Holm) | significant |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["ci95"]
        ci = DASH if math.isnan(lo) else f"[{_points(lo)}, {_points(hi)}]"
        per_seed = cell(", ".join(f"{seed}: {_points(v)}" for seed, v in r["per_seed"].items()))
        effect = f"{r['effect_name']} = {r['effect_size']:+.2f}" if not math.isnan(r["effect_size"]) else DASH
        letter = "t" if r["unit"].startswith(("source seeds", "training seeds")) else "W"
        stat = DASH if math.isnan(r["statistic"]) else f"{letter} = {r['statistic']:.2f}"
        lines.append(f"| {cell(r['group'])} | {cell(r['baseline'])} | {cell(r['treatment'])} | {r['n']} | "
                     f"{cell(r['unit'])} | "
                     f"{_points(r['mean_difference'])} | {ci} | {_detectable(r.get('detectable'))} | {per_seed} | {effect} | "
                     f"{r['treatment_better']} / {r['baseline_better']} / {r['ties']} | {stat} | "
                     f"{_p(r['p_value'])} | {_p(r['p_holm'])} | {'**yes**' if significant(r) else 'no'} |")
    return lines


def ranks_markdown(analysis, figure: str | None = None) -> list[str]:
    """Markdown lines for a :class:`ser_bench.reporting.ranks.RankAnalysis`: what a block is, the Friedman test, the
    critical difference, the table of average ranks, what was left out, and the figure's link."""
    friedman = ("No Friedman test (it needs three or more methods)" if math.isnan(analysis.friedman_statistic)
                else f"Friedman chi² = {analysis.friedman_statistic:.2f}, p = {_p(analysis.friedman_p)} "
                     "(scipy, corrected for ties)")
    tests = (f"{friedman}. Nemenyi critical difference at α = {analysis.alpha}: "
             f"CD = {analysis.critical_difference:.2f}; two methods whose average ranks differ by more than CD "
             "differ significantly over these settings." if analysis.tested else
             "No Friedman test and no critical difference (`--no-tests`): the ranks alone say nothing about "
             "significance.")
    lines = [f"Blocks: each protocol and source → target, and for few-shot each k ({analysis.n_blocks} blocks). "
             "Within a block, methods are ranked by mean UAR over the block's units (1 = best; ties share the "
             f"average rank). {tests}", "",
             "| method | average rank | n blocks |", "|---|---|---|"]
    lines += [f"| {cell(m)} | {r:.2f} | {analysis.n_blocks} |" for m, r in analysis.average_ranks.items()]
    lines.append("")
    if analysis.dropped_methods:
        lines += ["Not ranked (not run in every block): " + "; ".join(
            f"{text(m)} ({n} of {analysis.n_blocks + len(analysis.dropped_blocks)} blocks)"
            for m, n in sorted(analysis.dropped_methods.items())) + ".", ""]
    if analysis.dropped_blocks:
        lines += ["Blocks with fewer than two methods, left out: " + "; ".join(map(text, analysis.dropped_blocks))
                  + ".", ""]
    if figure:
        lines += [f"![Critical-difference diagram: average ranks, CD = {analysis.critical_difference:.2f}]"
                  f"({figure})", ""]
    return lines
