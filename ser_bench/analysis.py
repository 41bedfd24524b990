"""Statistics over result files: few-shot curves with confidence intervals and paired loss comparisons.

A paired comparison only pairs episodes that are provably identical (equal split hashes: same
speakers, same labelled clips, same test set), so "loss B helps" is a test on matched data rather than
a difference of two means.
"""
from __future__ import annotations

import numpy as np

from .leaderboard import natural_key, tidy
from .metrics import mean_ci95


def fewshot_table(results: list[dict]):
    """Tidy few-shot rows (one per episode) with a ``pair`` column naming source → target."""
    frame = tidy(results)
    if frame.empty:
        return frame
    frame = frame[frame["protocol"] == "fewshot"].copy()
    frame["pair"] = frame["source"] + " → " + frame["target"]
    frame["k"] = frame["k"].astype(int)
    frame["frozen"] = frame["frozen"].astype(int)
    return frame


def curves(frame):
    """Mean and 95 % CI of UAR over repeats for each (pair, loss, frozen, k)."""
    import pandas as pd

    rows = []
    for (pair, loss, frozen, k), group in frame.groupby(["pair", "loss", "frozen", "k"]):
        per_repeat = group.groupby(["seed", "repeat"])["uar"].mean()
        mean, lo, hi = mean_ci95(per_repeat)
        rows.append({"pair": pair, "loss": loss, "frozen": frozen, "k": k, "uar": mean, "lo": lo, "hi": hi,
                     "n": len(per_repeat)})
    return pd.DataFrame(rows)


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014): (sum of positive ranks - negative) / total."""
    from scipy.stats import rankdata

    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    ranks = rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def paired_comparison(frame, baseline: str, treatment: str, by=("pair",), column: str = "loss") -> list[dict]:
    """Wilcoxon signed-rank test of ``treatment - baseline`` UAR on identical episodes.

    ``baseline`` and ``treatment`` are values of ``column``: ``loss``, or ``variant`` (the loss with
    its differing settings, e.g. ``ratio_distance (weight=0.3)``). The paired unit is (seed, k,
    repeat): the episode draw, averaged over frozen-layer settings, since those share the draw and are
    not independent. Raises ``ValueError`` if supposedly paired episodes differ (their split hashes
    disagree).
    """
    from scipy.stats import wilcoxon

    out = []
    for key, group in frame[frame[column].isin([baseline, treatment])].groupby(list(by)):
        a = group[group[column] == baseline].set_index(["seed", "k", "repeat", "frozen"])
        b = group[group[column] == treatment].set_index(["seed", "k", "repeat", "frozen"])
        common = a.index.intersection(b.index)
        if len(common) == 0:
            continue
        mismatched = (a.loc[common, "hash"] != b.loc[common, "hash"]).sum()
        if mismatched:
            raise ValueError(f"{mismatched} episodes of {key} differ between {baseline} and {treatment}: "
                             "they are not paired")
        units_a = a.loc[common, "uar"].groupby(level=["seed", "k", "repeat"]).mean()
        units_b = b.loc[common, "uar"].groupby(level=["seed", "k", "repeat"]).mean()
        diff = (units_b - units_a).to_numpy()
        mean, lo, hi = mean_ci95(diff)
        if len(diff) >= 2 and np.any(diff != 0):
            test = wilcoxon(diff, zero_method="wilcox")
            stat, p = float(test.statistic), float(test.pvalue)
        else:
            stat, p = float("nan"), float("nan")
        out.append({
            "group": key if isinstance(key, str) else " / ".join(map(str, key)),
            "baseline": baseline, "treatment": treatment, "units": int(len(diff)),
            "episodes": int(len(common)), "mean_difference": mean, "ci95": [lo, hi],
            "treatment_better": int((diff > 0).sum()), "baseline_better": int((diff < 0).sum()),
            "ties": int((diff == 0).sum()), "wilcoxon_statistic": stat, "p_value": p,
            "rank_biserial": rank_biserial(diff),
        })
    return out


def paired_against(results: list[dict], baseline: str) -> list[dict]:
    """Every other few-shot method of ``results`` against ``baseline``, on identical episodes.

    Methods are the leaderboard's (a loss, plus its settings where results differ in them); pairs of
    methods that share no episode (other seeds, other k) are left out.
    """
    from .errors import SerBenchError

    frame = fewshot_table(results)
    variants = sorted(set(frame["variant"])) if not frame.empty else []
    if baseline not in variants:
        raise SerBenchError(f"no few-shot results for {baseline!r} to compare against; methods here: "
                            f"{', '.join(variants) or 'none'}")
    rows = [row for variant in variants if variant != baseline
            for row in paired_comparison(frame, baseline, variant, column="variant")]
    return sorted(rows, key=lambda row: (row["group"], natural_key(row["treatment"])))


def paired_markdown(rows: list[dict]) -> list[str]:
    """Markdown lines for paired comparisons: a note on the unit and test, then one row per comparison."""
    lines = ["Unit: one episode draw (seed, k, repeat), UAR averaged over frozen-layer settings; difference = "
             "treatment - baseline in UAR points; Wilcoxon signed-rank test, effect size = matched-pairs "
             "rank-biserial correlation (-1..1).", "",
             "| source → target | baseline | treatment | units | mean difference | 95 % CI | "
             "treatment better / worse / tied | Wilcoxon W | p | rank-biserial r |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in rows:
        lines.append(f"| {p['group']} | {p['baseline']} | {p['treatment']} | {p['units']} | "
                     f"{100 * p['mean_difference']:+.1f} | [{100 * p['ci95'][0]:+.1f}, {100 * p['ci95'][1]:+.1f}] | "
                     f"{p['treatment_better']} / {p['baseline_better']} / {p['ties']} | "
                     f"{p['wilcoxon_statistic']:.0f} | {p['p_value']:.3g} | {p['rank_biserial']:+.2f} |")
    return lines
