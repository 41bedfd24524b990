"""Statistics over the right units: paired tests across source seeds, Holm's correction, units of n."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_1samp, wilcoxon

from ser_bench.reporting.stats import (DRAWS, SEEDS, estimate, holm, holm_adjust, paired_against, paired_comparison,
                             rank_biserial)


def episodes(loss, uars, seed=0, hashes=None, frozen=0, episode_hashes=None):
    n = len(uars)
    return pd.DataFrame({"pair": "a → b", "loss": loss, "variant": loss, "protocol": "fewshot", "seed": seed, "k": 2,
                         "repeat": range(n), "frozen": frozen, "split": [f"r{i}-f{frozen}" for i in range(n)],
                         "uar": uars, "hash": hashes or [f"s{seed}-h{i}" for i in range(n)],
                         "episode_hash": episode_hashes or [None] * n})


def test_holm_on_the_textbook_example():
    # The worked example of Wikipedia's "Holm-Bonferroni method" article: p = 0.01, 0.04, 0.03, 0.005.
    # Sorted: 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04 -> raised to 0.06 (monotone).
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # a comparison without a test is not counted in the family: 0.01 * 2, then max(0.02, 0.04)
    adjusted = holm_adjust([0.01, math.nan, 0.04])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)
    rows = holm([{"p_value": 0.041, "name": i} for i in range(9)])
    assert all(r["p_holm"] == pytest.approx(0.369) for r in rows)  # 9 x 0.041, every one no longer below 0.05


def test_pairing_across_seeds_tests_the_per_seed_differences():
    rng = np.random.default_rng(0)
    per_seed = {0: 0.05, 1: -0.01, 2: 0.03}
    frames = []
    for seed, delta in per_seed.items():
        for frozen in (0, 1):
            base = list(rng.uniform(0.3, 0.6, 4))
            noise = rng.normal(0, 0.01, 4)
            noise -= noise.mean()  # the seed's mean difference is exactly delta
            frames += [episodes("bce_pair", base, seed=seed, frozen=frozen),
                       episodes("ratio_distance", list(np.add(base, delta + noise)), seed=seed, frozen=frozen)]
    (row,) = paired_comparison(pd.concat(frames), "bce_pair", "ratio_distance")
    diffs = list(per_seed.values())
    assert row["n"] == 3 and row["unit"] == SEEDS and row["episodes"] == 24 and row["draws"] == 12
    assert row["per_seed"] == pytest.approx({"0": 0.05, "1": -0.01, "2": 0.03})
    assert row["mean_difference"] == pytest.approx(np.mean(diffs))
    assert row["p_value"] == pytest.approx(ttest_1samp(diffs, 0).pvalue)
    assert row["effect_name"] == "d_z" and row["effect_size"] == pytest.approx(np.mean(diffs) / np.std(diffs, ddof=1))
    half = (row["ci95"][1] - row["ci95"][0]) / 2
    assert half == pytest.approx(4.303 * np.std(diffs, ddof=1) / np.sqrt(3), rel=1e-3)
    assert row["p_holm"] is None  # set over a table's comparisons by holm()


def test_one_seed_falls_back_to_wilcoxon_over_episode_draws():
    base = [0.50, 0.52, 0.48, 0.55, 0.60, 0.40, 0.45, 0.50]
    diffs = [0.05, 0.03, 0.04, -0.01, 0.06, 0.02, 0.07, 0.08]
    frame = pd.concat([episodes("bce_pair", base), episodes("ratio_distance", list(np.add(base, diffs)))])
    (row,) = paired_comparison(frame, "bce_pair", "ratio_distance")
    assert row["n"] == 8 and row["unit"] == DRAWS and row["treatment_better"] == 7 and row["baseline_better"] == 1
    assert row["mean_difference"] == pytest.approx(np.mean(diffs))
    assert row["p_value"] == pytest.approx(wilcoxon(diffs).pvalue)
    # ranks of |d|: 0.01 -> 1 (negative), the rest 2..8 positive: r = (35 - 1) / 36
    assert row["effect_name"] == "rank-biserial r" and row["effect_size"] == pytest.approx(34 / 36)


def test_episode_hashes_decide_what_is_paired():
    # Source clips mixed into fine-tuning change the split hash but not the episode hash: still paired.
    a = episodes("bce_pair", [0.5, 0.6], hashes=["x0", "x1"], episode_hashes=["e0", "e1"])
    b = episodes("rehearsal", [0.6, 0.7], hashes=["y0", "y1"], episode_hashes=["e0", "e1"])
    (row,) = paired_comparison(pd.concat([a, b]), "bce_pair", "rehearsal")
    assert row["mean_difference"] == pytest.approx(0.1)
    c = episodes("other", [0.6, 0.7], hashes=["x0", "x1"], episode_hashes=["e0", "another draw"])
    with pytest.raises(ValueError, match="not paired"):
        paired_comparison(pd.concat([a, c]), "bce_pair", "other")
    # without episode hashes, the split hashes must agree
    with pytest.raises(ValueError, match="not paired"):
        paired_comparison(pd.concat([episodes("bce_pair", [0.5, 0.6]),
                                     episodes("ratio_distance", [0.5, 0.7], hashes=["s0-h0", "other"])]),
                          "bce_pair", "ratio_distance")


def test_paired_against_corrects_over_every_comparison_it_returns():
    base = [0.50, 0.52, 0.48, 0.55, 0.51, 0.49]
    frame = pd.concat([episodes("bce_pair", base), episodes("up", [u + 0.03 for u in base]),
                       episodes("down", [u - 0.02 for u in base]), episodes("same", base)])
    rows = paired_against(frame, "bce_pair")
    assert [r["treatment"] for r in rows] == ["down", "same", "up"]
    assert [r["p_value"] for r in rows[::2]] == pytest.approx([1 / 32, 1 / 32])
    assert math.isnan(rows[1]["p_value"]) and math.isnan(rows[1]["p_holm"])  # no test: not in the family
    assert [r["p_holm"] for r in rows[::2]] == pytest.approx([2 / 32, 2 / 32])


def test_rank_biserial_extremes():
    assert rank_biserial([0.1, 0.2, 0.3]) == 1.0 and rank_biserial([-0.1, -0.2]) == -1.0 and rank_biserial([0, 0]) == 0.0


def test_estimate_states_its_unit():
    # the unit of several splits per seed is the one the protocol's board layout declares (tidy's protocol_unit)
    idt = pd.DataFrame({"protocol": "idt", "seed": [0, 0, 1, 1], "split": ["loso-1", "loso-2"] * 2,
                        "repeat": None, "k": None, "uar": [0.8, 0.6, 0.6, 0.4], "protocol_unit": "held-out speakers"})
    est = estimate(idt)
    assert (est.n, est.unit, est.values) == (2, "held-out speakers", {"loso-1": pytest.approx(0.7),
                                                                      "loso-2": pytest.approx(0.5)})
    assert estimate(idt.drop(columns="protocol_unit")).unit == "folds"  # no layout: folds
    oodt = pd.DataFrame({"protocol": "oodt", "seed": [0], "split": ["oodt"], "repeat": None, "k": None, "uar": [0.4]})
    est = estimate(oodt)
    assert (est.n, est.unit, est.mean) == (1, SEEDS, 0.4) and math.isnan(est.lo)


# The leaderboard avoids importing scipy.stats (~0.6 s) where scipy.special or pandas give the same numbers:
# each shortcut is checked here against scipy.stats itself, to the bit.

def test_t_quantile_is_scipy_stats_t_ppf_to_the_bit():
    from scipy import stats

    from ser_bench.results.summary import t_quantile

    rng = np.random.default_rng(12)
    dfs = np.array([*range(1, 301), 500, 1000, 10 ** 6, *rng.uniform(0.5, 300, 100)])
    qs = np.array([0.975, 0.5, 0.9, 0.995, 0.025, *rng.uniform(0.001, 0.999, 15)])
    expected = stats.t.ppf(qs[None, :], dfs[:, None])
    found = np.array([[t_quantile(q, df) for q in qs] for df in dfs])
    assert np.array_equal(found, expected)


def test_mean_ci95_equals_the_interval_computed_with_scipy_stats():
    from scipy import stats

    from ser_bench.results.summary import mean_ci95

    rng = np.random.default_rng(3)
    for trial in range(300):
        values = rng.uniform(0.2, 0.9, int(rng.integers(2, 80)))
        if trial % 3 == 0:
            values = np.round(values, 2)  # ties and short decimals, as UARs often are
        mean = float(values.mean())
        half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
        assert mean_ci95(values) == (mean, mean - half, mean + half)
        alone = mean_ci95(values, interval=False)
        assert alone[0] == mean and math.isnan(alone[1]) and math.isnan(alone[2])
    assert mean_ci95([0.4])[0] == 0.4 and math.isnan(mean_ci95([0.4])[1])


def test_average_ranks_equal_scipy_rankdata_and_tests_are_optional():
    from scipy import stats

    from ser_bench.reporting.ranks import rank_analysis

    rng = np.random.default_rng(5)
    for trial in range(100):
        n, k = int(rng.integers(2, 12)), int(rng.integers(2, 9))
        # whole numbers make ties within a block common; tiny differences must not be taken for ties
        matrix = rng.integers(0, 4, size=(n, k)).astype(float) if trial % 2 else rng.random((n, k))
        if trial % 5 == 0:
            matrix[0, :2] = [0.3, 0.1 + 0.2]
        scores = pd.DataFrame(matrix, index=[f"block {i}" for i in range(n)], columns=[f"m{j}" for j in range(k)])
        expected = np.vstack([stats.rankdata(-row) for row in matrix]).mean(axis=0)
        with np.errstate(all="ignore"):
            tested = rank_analysis(scores)
        alone = rank_analysis(scores, tests=False)
        for analysis in (tested, alone):
            assert analysis.average_ranks.to_dict() == pd.Series(expected, index=scores.columns).to_dict()
        assert tested.tested and not math.isnan(tested.critical_difference)
        assert not alone.tested and math.isnan(alone.critical_difference) and math.isnan(alone.friedman_p)
        if k >= 3:
            with np.errstate(all="ignore"):
                friedman = stats.friedmanchisquare(*matrix.T)
            assert tested.friedman_statistic == pytest.approx(friedman.statistic, nan_ok=True)
