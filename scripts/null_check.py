"""Null check and detectable differences of the paired comparisons against a baseline in a results folder.

For every paired comparison of a results folder against ``--baseline`` (default ``bce_pair``; the comparisons
of ``ser-bench leaderboard FOLDER --paired bce_pair``), prints the smallest true difference each test had 80 %
power to detect at two-sided alpha = 0.05 (the median and range over the comparisons), then runs a synthetic
null check at the folder's design: many experiments in which one method runs under two names with different
seeds on identical episodes (per-unit UAR drawn from one distribution, at the folder's n and observed sd of
the unit differences), each compared through the real code path (``paired_comparison``, Holm via ``holm``),
and prints how often they are declared different: the false-positive rate, which should be at most alpha.

It also prints the rate of the one-seed fallback (a Wilcoxon test over the episode draws of one source model)
when the two source models differ by as much as the folder's seeds say they do: that test is about two
source models, not two methods, and the rate shows by how much it overstates a method difference.

Usage:

    python scripts/null_check.py [FOLDER] [--baseline bce_pair] [--experiments 2000] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ser_bench.reporting.stats import ALPHA, DRAWS, SEEDS, holm, paired_comparison

BASELINE, TREATMENT = "a", "b"


def binomial_upper(rate: float, trials: int, confidence: float = 0.999) -> float:
    """The rejection rate that ``trials`` experiments with true rate ``rate`` stay below with probability
    ``confidence`` (binomial quantile / trials): the tolerance of a null check."""
    from scipy.stats import binom

    return float(binom.ppf(confidence, trials, rate)) / trials


def null_frame(experiments: int, seeds: int, draws: int, sd: float = 0.05, rng=None, methods=(BASELINE, TREATMENT),
               frozen: int = 1, model_sd: float = 0.0, difference: float = 0.0) -> pd.DataFrame:
    """A tidy few-shot frame (the columns :func:`paired_comparison` reads) of ``experiments`` independent
    null experiments, one per ``pair`` value: every method of ``methods`` runs the same ``draws`` episodes
    (equal episode hashes) of each of ``seeds`` source seeds, with ``frozen`` frozen-layer settings each.

    An episode's UAR = 0.5 + the episode's difficulty (shared by the methods) + noise drawn afresh for each
    method (the same distribution, different draws: different seeds). The noise is scaled so that the
    difference of two methods over the test's unit has sd ``sd``: per seed with two or more seeds, per
    episode draw with one. ``model_sd``: a source-model effect, one offset per method and seed (the sd of
    the difference of two of them), shared by all episodes of that model; under it a method difference is
    still null, but two source models differ. ``difference``: a true difference added to every method but
    the first (0: the null).
    """
    rng = np.random.default_rng(rng)
    m = len(methods)
    shape = (experiments, seeds, draws, frozen)
    # sd of one method's noise per episode-and-setting so that the unit's difference has sd `sd`
    unit_draws = draws * frozen if seeds >= 2 else frozen
    noise_sd = sd * math.sqrt(unit_draws / 2)
    difficulty = rng.normal(0, 0.05, shape)
    uar = 0.5 + difficulty[None] + rng.normal(0, noise_sd, (m, *shape))
    uar += rng.normal(0, model_sd / math.sqrt(2), (m, experiments, seeds))[..., None, None]
    uar[1:] += difference
    idx = np.indices((m, *shape)).reshape(5, -1)
    method, experiment, seed, repeat, setting = idx
    episode = [f"e{e}-s{s}-r{r}" for e, s, r in zip(experiment, seed, repeat)]
    return pd.DataFrame({"protocol": "fewshot", "pair": experiment, "variant": np.asarray(methods)[method],
                         "seed": seed, "k": 2, "repeat": repeat, "frozen": setting, "uar": uar.reshape(-1),
                         "hash": episode, "episode_hash": episode})


def rejection_rate(rows: list[dict], key: str = "p_value") -> float:
    """The share of ``rows`` (paired comparisons) whose ``key`` is below alpha (an untested row is not rejected)."""
    return float(np.mean([r[key] < ALPHA for r in rows]))


def null_rate(experiments: int, seeds: int, draws: int, sd: float = 0.05, rng=None, frozen: int = 1,
              model_sd: float = 0.0) -> float:
    """The false-positive rate of ``paired_comparison`` over :func:`null_frame` experiments."""
    frame = null_frame(experiments, seeds, draws, sd, rng, frozen=frozen, model_sd=model_sd)
    return rejection_rate(paired_comparison(frame, BASELINE, TREATMENT))


def family_rate(experiments: int, methods: int, seeds: int, draws: int, sd: float = 0.05, rng=None) -> float:
    """The family-wise false-positive rate of ``methods`` - 1 null comparisons against one baseline,
    Holm-corrected within each experiment: the share of experiments with any Holm p below alpha."""
    names = [BASELINE, *(f"t{i}" for i in range(1, methods))]
    frame = null_frame(experiments, seeds, draws, sd, rng, methods=names)
    by_experiment: dict = {}
    for name in names[1:]:
        for row in paired_comparison(frame, BASELINE, name):
            by_experiment.setdefault(row["group"], []).append(row)
    return float(np.mean([any(r["p_holm"] < ALPHA for r in holm(rows)) for rows in by_experiment.values()]))


def observed(folder: Path, baseline: str):
    """The paired comparisons of ``folder`` against ``baseline`` (as ``ser-bench leaderboard --paired``
    makes them), each with the sd of its unit differences, and the same comparisons within each seed alone
    (the one-seed fallback: a Wilcoxon test over that source model's episode draws)."""
    from scipy.stats import t

    from ser_bench.reporting.stats import paired_against
    from ser_bench.reporting.tidy import breakdown_table
    from ser_bench.results.store import load_results

    frame = breakdown_table(load_results(folder))
    rows = paired_against(frame, baseline)
    one_seed = [row for seed in sorted(set(frame["seed"])) for row in paired_against(frame[frame["seed"] == seed],
                                                                                  baseline)]
    for row in rows + one_seed:  # the 95 % CI's half-width is t(0.975, n - 1) sd / sqrt(n)
        n, (lo, hi) = row["n"], row["ci95"]
        row["sd"] = (hi - lo) / 2 * math.sqrt(n) / float(t.ppf(0.975, n - 1)) if n >= 2 else math.nan
    return rows, one_seed


def _points(values) -> str:
    values = 100 * np.asarray(values, dtype=float)
    return f"median {np.median(values):.1f}, range {values.min():.1f} to {values.max():.1f} UAR points"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "),
                                     epilog="Prints the figures; writes nothing.")
    parser.add_argument("folder", nargs="?", default="results/sim-demo", type=Path,
                        help="a results folder with few-shot results (default: results/sim-demo)")
    parser.add_argument("--baseline", default="bce_pair", help="the method every other one is compared with")
    parser.add_argument("--experiments", type=int, default=2000, help="null experiments per check (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic experiments")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows, one_seed = observed(args.folder, args.baseline)
    if not rows:
        raise SystemExit(f"{args.folder}: no paired comparison against {args.baseline}")
    print(f"{args.folder}: {len(rows)} paired comparisons against {args.baseline}")
    print(f"{'treatment':<24} {'group':<28} {'n':>3} {'unit':<14} {'mean diff':>9} {'detectable':>10} {'p (Holm)':>9}")
    for r in rows:
        print(f"{r['treatment']:<24} {r['group']:<28} {r['n']:>3} {r['unit'][:14]:<14} "
              f"{100 * r['mean_difference']:>+9.1f} {100 * r['detectable']:>10.1f} {r['p_holm']:>9.3g}")
    tested = [r for r in rows if not math.isnan(r["detectable"])]
    print(f"detectable difference (power 0.8, two-sided alpha {ALPHA}), {rows[0]['unit']}: "
          f"{_points([r['detectable'] for r in tested])}")
    seeds, draws = tested[0]["n"], tested[0]["draws"] // tested[0]["n"]
    one = [r for r in one_seed if not math.isnan(r["detectable"])]
    if one:
        print(f"with one seed ({DRAWS}, n = {one[0]['n']}): {_points([r['detectable'] for r in one])}")

    sd = float(np.median([r["sd"] for r in tested]))
    trials = args.experiments
    bound = binomial_upper(ALPHA, trials)
    print(f"\nnull check: {trials} synthetic experiments each, one method under two names with different seeds "
          f"(tolerance: rate <= {bound:.3f}, the binomial 99.9 % bound at {ALPHA})")
    if seeds >= 2:
        rate = null_rate(trials, seeds, draws, sd, rng)
        print(f"  t-test over {seeds} {SEEDS} ({draws} draws each, sd of per-seed differences {100 * sd:.2f} "
              f"points): false-positive rate {rate:.4f}")
        family = len({r["treatment"] for r in rows}) + 1
        rate = family_rate(max(trials // 4, 100), family, seeds, draws, sd, rng)
        print(f"  Holm over {family - 1} comparisons, all null ({max(trials // 4, 100)} families): "
              f"family-wise false-positive rate {rate:.4f}")
    if one:
        sd_draw = float(np.median([r["sd"] for r in one]))
        rate = null_rate(trials, 1, one[0]["n"], sd_draw, rng)
        print(f"  Wilcoxon over {one[0]['n']} episode draws of one seed (sd of draw differences "
              f"{100 * sd_draw:.2f} points), the two source models equal: false-positive rate {rate:.4f}")
        if seeds >= 2:
            # between-model variance of a difference: var(per-seed difference) - var(draw difference) / draws
            between = max(sd ** 2 - float(np.median([r["sd"] ** 2 for r in one])) / one[0]["n"], 0.0)
            rate = null_rate(trials, 1, one[0]["n"], sd_draw, rng, model_sd=math.sqrt(between))
            print(f"  the same, the two source models differing as these seeds do (sd {100 * math.sqrt(between):.2f} "
                  f"points): rate {rate:.4f} of declaring the methods different: the one-seed test is about "
                  "two source models, not two methods")


if __name__ == "__main__":
    main()
