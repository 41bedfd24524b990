"""Statistics over tidy rows (see :mod:`ser_bench.reporting.tidy`): the unit a mean generalises over, paired tests
over that unit, and Holm's correction for the comparisons a table shows.

The unit of n is what a claim generalises over (DESIGN.md, section 6):

- IDT: the held-out speaker (fold); several seeds are averaged within a fold first.
- OODT: the source-model seed (one seed: no interval).
- few-shot: the source-model seed when there are two or more (a seed's value is the mean over its
  episode draws, frozen-layer settings averaged within a draw first); with one seed the episode draw,
  which says nothing about other source models, and the unit's name says so.

Paired tests follow the same rule (the two-stage summary-statistics approach): differences are averaged
within an episode draw, then within a seed, and the per-seed differences are tested across seeds with a
one-sample t-test. With a balanced design this is the exact test of the grand mean of a random-effects
model with seeds as the random factor, and it does not pretend that the episodes of one source model
are independent. With one seed it falls back to a Wilcoxon signed-rank test over episode draws.

Beside each paired comparison stands the smallest true difference its test had 80 % power to detect at
two-sided α = 0.05 (:func:`detectable_difference`), so that "not significant" reads as "no difference
larger than this", not as "no difference".
"""
from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from ser_bench.results.summary import mean_ci95

SEEDS = "source seeds"
TRAINING_SEEDS = "training seeds"  # one split per seed and no source (a corpus's own partitions)
SPEAKERS = "held-out speakers"
FOLDS = "folds"
DRAWS = "episode draws of one source model"
POOLED_UNIT = "test speakers, pooled over folds"  # reporting.pooled.POOLED, without importing it
DRAW = ["seed", "k", "repeat"]  # the identity of an episode draw; frozen-layer settings share it
ALPHA = 0.05  # two-sided level of every paired test
POWER = 0.8  # the power at which a comparison's detectable difference is stated (Cohen 1988)
WILCOXON_ARE = 3 / math.pi  # asymptotic relative efficiency of the signed-rank test to the t-test, normal data


@dataclass
class Estimate:
    """A mean with its 95 % t-interval over ``n`` units of kind ``unit`` (per-unit values kept)."""

    mean: float
    lo: float
    hi: float
    n: int
    unit: str
    values: dict = field(default_factory=dict)

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


def _has(frame, column) -> bool:
    return column in frame and frame[column].notna().any()


def unit_values(rows):
    """Per-unit UAR of one leaderboard cell's tidy rows (one protocol, one method, one source → target).

    Returns ``(values, unit)``: a Series indexed by unit and the unit's name (see the module docstring).
    The protocol is read from the rows' shape, so a plugin protocol gets the rule its splits fit:
    episodes (a ``repeat``) -> draws and seeds; several splits per seed -> folds; one split -> seeds (source
    seeds, or training seeds where no row has a source: the seed then varies only the model's training).
    """
    if _has(rows, "repeat"):
        draws = rows.groupby(DRAW, dropna=False)["uar"].mean()
        seeds = draws.groupby(level="seed").mean()
        return (seeds, SEEDS) if len(seeds) >= 2 else (draws, DRAWS)
    if rows.groupby("seed")["split"].nunique().max() > 1:
        folds = rows.groupby(["split", "seed"])["uar"].mean().groupby(level="split").mean()
        units = set(rows["protocol_unit"]) if "protocol_unit" in rows else {FOLDS}
        return folds, units.pop() if len(units) == 1 else FOLDS
    with_source = not _has(rows, "source") or (rows["source"].fillna("") != "").any()
    return rows.groupby("seed")["uar"].mean(), SEEDS if with_source else TRAINING_SEEDS


def estimate(rows, interval: bool = True) -> Estimate:
    """Mean UAR and 95 % t-interval over the unit of :func:`unit_values` (``interval=False``: the mean
    alone, ``lo`` and ``hi`` NaN). Rows of cells scored pooled over their folds (``scoring``) give the UAR
    of every fold's predictions with a bootstrap interval over test speakers instead
    (:func:`~ser_bench.reporting.pooled.pooled_estimate`); their ``values`` are the speakers' matrices."""
    if _has(rows, "scoring") and (rows["scoring"] == "pooled").all() and "speakers" in rows:
        from ser_bench.reporting.pooled import POOLED, pooled_estimate

        mean, lo, hi, found = pooled_estimate(list(rows["speakers"]), interval=interval)
        return Estimate(mean, lo, hi, len(found), POOLED, found)
    values, unit = unit_values(rows)
    mean, lo, hi = mean_ci95(values.to_numpy(), interval=interval)
    return Estimate(mean, lo, hi, len(values), unit, {str(k): float(v) for k, v in values.items()})


def describe_n(n: int, unit: str) -> str:
    """``n = 3 source seeds`` (in the singular for one)."""
    if n == 1:
        unit = {SEEDS: "source seed", TRAINING_SEEDS: "training seed", SPEAKERS: "held-out speaker", FOLDS: "fold",
                DRAWS: "episode draw of one source model"}.get(unit, unit)
    return f"n = {n} {unit}"


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014): (sum of positive ranks - negative) / total."""
    from scipy.stats import rankdata

    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    ranks = rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


EPISODE = ["seed", "k", "repeat", "frozen"]  # what two methods are matched on within a comparison


def _matched(subset, by: list, column: str, baseline: str, treatment: str):
    """One row per episode both methods ran (``uar_a``: baseline, ``uar_b``: treatment), over every group
    of ``by`` at once, checked to be the same episodes (equal episode hashes; else ``ValueError``, naming
    the first group in sorted order that differs). Groups with a missing key are left out, as groupby does."""
    subset = subset.dropna(subset=by)
    keys = list(dict.fromkeys([*by, *EPISODE]))  # `by` may hold k
    a = subset.loc[subset[column] == baseline, [*keys, "uar", "hash", "episode_hash"]]
    b = subset.loc[subset[column] == treatment, [*keys, "uar", "hash", "episode_hash"]]
    pairs = a.merge(b, on=keys, suffixes=("_a", "_b"))
    repeated = pairs.duplicated(keys).sum()
    if repeated:
        raise ValueError(f"{repeated} matches repeat an episode: several results of {baseline} or {treatment} (settings that "
                         f"differ within one {column}?) for one episode cannot be paired")
    # The episode hash ignores source clips mixed into fine-tuning; older results have only the split hash.
    both = pairs["episode_hash_a"].notna().to_numpy() & pairs["episode_hash_b"].notna().to_numpy()
    ids_a = np.where(both, pairs["episode_hash_a"].astype(object), pairs["hash_a"].astype(object))
    ids_b = np.where(both, pairs["episode_hash_b"].astype(object), pairs["hash_b"].astype(object))
    mismatched = pd.Series(ids_a != ids_b, index=pairs.index, dtype=bool).groupby([pairs[c] for c in by]).sum()
    if mismatched.any():
        key = mismatched[mismatched > 0].index[0]
        raise ValueError(f"{int(mismatched[key])} episodes of {key if isinstance(key, tuple) else (key,)} differ "
                         f"between {baseline} and {treatment}: they are not paired")
    return pairs


@lru_cache(maxsize=256)
def detectable_effect(n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The standardised mean difference d = δ / sd that a two-sided one-sample t-test over ``n`` units has
    ``power`` to detect at level ``alpha``; NaN for n < 2.

    Exact, not the normal approximation: the power at d is P(|T| > t_crit) for T noncentral t with n - 1
    degrees of freedom and noncentrality d·√n (scipy.stats.nct), t_crit the t quantile at 1 - alpha / 2,
    solved for d with Brent's method (scipy.optimize.brentq). It agrees with statsmodels'
    ``TTestPower().solve_power``; n = 3, α = 0.05, power 0.8: d = 3.26.
    """
    from scipy.optimize import brentq
    from scipy.stats import nct, t

    if n < 2:
        return math.nan
    df = n - 1
    critical = float(t.ppf(1 - alpha / 2, df))

    def shortfall(d: float) -> float:
        nc = d * math.sqrt(n)
        # P(T < -c; nc) = P(T > c; -nc): the survival function is the accurate one in that far tail
        lower = float(nct.sf(critical, df, -nc))
        return float(nct.sf(critical, df, nc)) + (0.0 if math.isnan(lower) else lower) - power

    high = 1.0
    while shortfall(high) < 0:
        high *= 2
    return float(brentq(shortfall, 0.0, high, xtol=1e-10))


def detectable_difference(sd: float, n: int, unit: str = SEEDS, alpha: float = ALPHA,
                          power: float = POWER) -> float:
    """The smallest true mean difference a paired comparison over ``n`` units whose differences have
    standard deviation ``sd`` had ``power`` to detect at two-sided level ``alpha``, in the units of ``sd``.

    Over seeds, folds or speakers (a one-sample t-test): ``sd`` × :func:`detectable_effect`. NaN when
    n < 2 or ``sd`` is 0 or NaN (no test is run).

    Over the episode draws of one source model (a Wilcoxon signed-rank test): the t-test's value divided by
    √(3/π). The signed-rank test's asymptotic relative efficiency to the t-test under normal differences is
    3/π ≈ 0.955 (Lehmann, *Nonparametrics*, 1975): it needs n·π/3 units where the t-test needs n, so at
    equal n its detectable difference is larger by √(π/3), the detectable difference scaling as 1/√n. The
    factor is asymptotic; at small n it is an approximation. Below 6 draws the exact test cannot reach
    p < 0.05 at all (its smallest two-sided p is 2 / 2^n), and no difference is detectable: infinity.
    """
    if n < 2 or not sd > 0:
        return math.nan
    if unit == DRAWS:
        if 2 / 2 ** n > alpha:
            return math.inf
        return sd * detectable_effect(n, alpha, power) / math.sqrt(WILCOXON_ARE)
    return sd * detectable_effect(n, alpha, power)


def paired_comparison(frame, baseline: str, treatment: str, by=("pair",), column: str = "variant") -> list[dict]:
    """``treatment - baseline`` UAR on identical few-shot episodes, tested over the right unit.

    ``baseline`` and ``treatment`` are values of ``column`` (``variant``: the loss with its differing
    settings, as the leaderboard names it; or ``loss``). Episodes are matched on (seed, k, repeat,
    frozen) and must have equal episode hashes (else ``ValueError``). The difference is averaged within an
    episode draw (over frozen-layer settings), then within a seed. With two or more seeds the per-seed
    differences are tested with a one-sample t-test (effect size d_z = mean / sd of the per-seed
    differences); with one seed the draws are tested with a Wilcoxon signed-rank test (effect size:
    matched-pairs rank-biserial correlation), and the unit says the draws share one source model.
    ``detectable``: the smallest true difference the test had 80 % power to detect at two-sided α = 0.05,
    given the observed sd of the unit differences and n (:func:`detectable_difference`; NaN without a test).
    ``p_holm`` is left ``None``: it depends on the family of comparisons shown (:func:`holm`).
    """
    from scipy.stats import ttest_1samp, wilcoxon

    out = []
    by = list(by)
    pairs = _matched(frame[frame[column].isin([baseline, treatment])], by, column, baseline, treatment)
    # Matched once for every group: a board's comparisons are many small groups.
    differences = (pairs["uar_b"] - pairs["uar_a"]).to_numpy()
    draw = [*by, "seed", "k", "repeat"]
    draws_all = pd.Series(differences).groupby([pairs[c].to_numpy() for c in draw]).mean()
    draws_all.index.names = [f"by{i}" for i in range(len(by))] + ["seed", "k", "repeat"]  # `by` may hold k
    episodes = {k if isinstance(k, tuple) else (k,): int(v) for k, v in pairs.groupby(by).size().items()}
    groups = list(range(len(by)))
    per_seed_all = draws_all.groupby(level=[*groups, len(by)]).mean()
    draw_values, seed_values = draws_all.to_numpy(), per_seed_all.to_numpy()
    seed_labels = per_seed_all.index.get_level_values("seed")
    seeds_of = per_seed_all.groupby(level=groups).indices
    draws_of = draws_all.groupby(level=groups)
    for label in draws_of.size().index:  # in sorted order, as groupby gives them
        positions, seeds = draws_of.indices[label], seeds_of[label]
        key = label if isinstance(label, tuple) else (label,)
        row = {"group": " / ".join(map(str, key)),
               "baseline": baseline, "treatment": treatment, "episodes": episodes[key], "draws": int(len(positions)),
               "per_seed": {str(seed_labels[i]): float(seed_values[i]) for i in seeds}, "p_holm": None}
        if len(seeds) >= 2:
            diff = seed_values[seeds]
            sd = float(np.std(diff, ddof=1))
            test = ttest_1samp(diff, 0.0) if sd > 0 else None
            row.update(unit=SEEDS, test="one-sample t-test across seeds", effect_name="d_z",
                       effect_size=float(diff.mean() / sd) if sd > 0 else math.nan,
                       statistic=float(test.statistic) if test else math.nan,
                       p_value=float(test.pvalue) if test else math.nan)
        else:
            diff = draw_values[positions]
            test = wilcoxon(diff, zero_method="wilcox") if len(diff) >= 2 and np.any(diff != 0) else None
            row.update(unit=DRAWS, test="Wilcoxon signed-rank over episode draws", effect_name="rank-biserial r",
                       effect_size=rank_biserial(diff), statistic=float(test.statistic) if test else math.nan,
                       p_value=float(test.pvalue) if test else math.nan)
        mean, lo, hi = mean_ci95(diff)
        sd = float(np.std(diff, ddof=1)) if len(diff) >= 2 else math.nan
        row.update(n=int(len(diff)), mean_difference=mean, ci95=[lo, hi],
                   detectable=detectable_difference(sd, len(diff), row["unit"]), treatment_better=int((diff > 0).sum()),
                   baseline_better=int((diff < 0).sum()), ties=int((diff == 0).sum()))
        out.append(row)
    return out


def paired_against(frame, baseline: str, column: str = "variant") -> list[dict]:
    """Every other method of a few-shot ``frame`` against ``baseline`` on identical episodes, Holm-corrected
    over all of these comparisons. Methods sharing no episode with it (other seeds, other k) are left out."""
    from ser_bench.errors import SerBenchError
    from ser_bench.reporting.tidy import natural_key

    methods = sorted(set(frame[column])) if not frame.empty else []
    if baseline not in methods:
        raise SerBenchError(f"no few-shot results for {baseline!r} to compare against; methods here: "
                            f"{', '.join(methods) or 'none'}")
    rows = [row for method in methods if method != baseline
            for row in paired_comparison(frame, baseline, method, column=column)]
    return holm(sorted(rows, key=lambda row: (row["group"], natural_key(row["treatment"]))))


def holm_adjust(p_values) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels); NaN (no test) stays NaN and is not counted in the family."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        # statsmodels' Holm calls gc.collect() on every call (to free large arrays); with pandas and scipy
        # loaded that is ~50 ms a call, the bulk of a board's time. Frozen objects are skipped by the
        # collector, and unfreezing puts them back: the arithmetic is statsmodels' own, untouched.
        gc.freeze()
        try:
            out[tested] = multipletests(p[tested], method="holm")[1]
        finally:
            gc.unfreeze()
    return out


def holm(rows: list[dict]) -> list[dict]:
    """``rows`` (paired comparisons) with ``p_holm`` set: Holm over every row given, i.e. every
    comparison one table shows."""
    adjusted = holm_adjust([r["p_value"] for r in rows])
    return [{**r, "p_holm": float(p)} for r, p in zip(rows, adjusted)]


def versus_best(means, unit_values, units, detectable: bool = False) -> list[tuple]:
    """Each row of one comparison family (a board column) against its best row: ``(best, p, p_holm)``
    per row, in order; with ``detectable``, ``(best, p, p_holm, detectable)``, the last the smallest
    difference from the best that the row's test had 80 % power to detect (:func:`detectable_difference`
    at the sd of its unit differences; NaN where no test ran), so that "n.s." reads as "no difference
    larger than that".

    ``unit_values[i]`` maps a unit (seed, held-out speaker, episode draw) to row i's UAR there, as
    :func:`estimate` records it; rows are paired on the units they share, which in one column of a board
    are the same speakers, seeds or draws (the draws of a seed are the same episodes for every method).
    Seeds, speakers and folds are tested with a one-sample t-test of the differences, draws of one source
    model with a Wilcoxon signed-rank test, as in :func:`paired_comparison`. Holm over the rows tested.
    A row sharing fewer than two units with the best, or of another unit kind, is not tested (NaN).
    """
    from scipy.stats import ttest_1samp, wilcoxon

    if not len(means):
        return []
    best = int(np.nanargmax(means)) if not all(math.isnan(m) for m in means) else 0
    p_values, sizes = [], []
    for i, (values, unit) in enumerate(zip(unit_values, units)):
        common = sorted(set(values) & set(unit_values[best]))
        if i == best or unit != units[best] or len(common) < 2:
            p_values.append(math.nan)
            sizes.append(math.nan)
            continue
        if unit == POOLED_UNIT:  # the same speakers resampled for both (reporting.pooled)
            from ser_bench.reporting.pooled import paired_bootstrap

            p, size = paired_bootstrap(values, unit_values[best])
            p_values.append(p)
            sizes.append(size if detectable else math.nan)
            continue
        diff = np.array([values[k] - unit_values[best][k] for k in common])
        sizes.append(detectable_difference(float(np.std(diff, ddof=1)), len(diff), unit) if detectable else math.nan)
        if unit == DRAWS:
            p = float(wilcoxon(diff, zero_method="wilcox").pvalue) if np.any(diff != 0) else 1.0
        else:
            p = float(ttest_1samp(diff, 0.0).pvalue) if np.std(diff, ddof=1) > 0 else \
                (1.0 if np.all(diff == 0) else 0.0)
        p_values.append(p)
    adjusted = holm_adjust(p_values)
    if detectable:
        return [(i == best, p, float(q), d) for i, (p, q, d) in enumerate(zip(p_values, adjusted, sizes))]
    return [(i == best, p, float(q)) for i, (p, q) in enumerate(zip(p_values, adjusted))]
