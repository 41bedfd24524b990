"""Tests whose error rates are known: under the null (one method under two names, different seeds, identical
episodes) the paired tests reject at most at the nominal rate, Holm holds the family-wise rate, and a true
difference of the stated detectable size is found about 80 % of the time. Every experiment goes through
``paired_comparison`` itself (scripts/null_check.py builds the frames); run with -s to see the rates."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from ser_bench.reporting.sections import paired_markdown
from ser_bench.reporting.stats import (ALPHA, DRAWS, SEEDS, detectable_difference, detectable_effect, holm,
                                       paired_comparison)

_spec = importlib.util.spec_from_file_location("null_check", Path(__file__).resolve().parents[1] / "scripts"
                                               / "null_check.py")
null_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(null_check)


def _check(name: str, rate: float, trials: int) -> None:
    bound = null_check.binomial_upper(ALPHA, trials)
    print(f"\n{name}: false-positive rate {rate:.4f} over {trials} null experiments (nominal {ALPHA}, bound {bound:.3f})")
    assert rate <= bound, f"{name}: false-positive rate {rate:.4f} over {trials} null experiments exceeds {bound:.3f}"


def test_the_t_test_across_seeds_rejects_a_null_difference_at_most_at_the_nominal_rate():
    trials = 1500
    rate = null_check.null_rate(trials, seeds=3, draws=5, sd=0.03, rng=1, frozen=2)
    _check("t-test over 3 source seeds", rate, trials)


def test_the_wilcoxon_test_over_draws_rejects_a_null_difference_at_most_at_the_nominal_rate():
    trials = 1000
    rate = null_check.null_rate(trials, seeds=1, draws=12, sd=0.04, rng=2)
    _check("Wilcoxon over 12 episode draws of one seed", rate, trials)


def test_holm_holds_the_family_wise_rate_when_every_comparison_is_null():
    trials = 400
    rate = null_check.family_rate(trials, methods=5, seeds=3, draws=4, sd=0.03, rng=3)
    _check("Holm over 4 null comparisons (family-wise)", rate, trials)


def test_one_seed_says_nothing_about_methods_when_source_models_differ():
    # The two names' source models differ (a model effect as large as the draw noise): the methods are equal,
    # the one-seed Wilcoxon test finds the two models different far more often than 5 %, which is why its
    # unit says the draws share one source model and the t-test across seeds is the test of methods.
    rate = null_check.null_rate(300, seeds=1, draws=12, sd=0.04, rng=4, model_sd=0.04)
    print(f"\none-seed Wilcoxon under a source-model effect: rate {rate:.3f}")
    assert rate > null_check.binomial_upper(ALPHA, 300)
    rate = null_check.null_rate(600, seeds=3, draws=12, sd=0.04, rng=5)  # seeds are the unit: held
    assert rate <= null_check.binomial_upper(ALPHA, 600)


def test_the_detectable_effect_is_statsmodels_power_solution():
    from statsmodels.stats.power import TTestPower

    for n in (2, 3, 5, 10, 45):
        # statsmodels' own solver stops at about 1e-5; its power at our root is 0.8 to the last digits (at
        # n = 2 its power is NaN: scipy's noncentral t cdf far in the lower tail, which ours avoids)
        assert detectable_effect(n) == pytest.approx(TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8),
                                                     rel=1e-4)
        if n > 2:
            assert TTestPower().power(detectable_effect(n), nobs=n, alpha=0.05) == pytest.approx(0.8, abs=1e-9)
    assert detectable_effect(3) == pytest.approx(3.2640, abs=1e-4)
    assert detectable_difference(0.02, 3) == pytest.approx(0.02 * 3.2640, abs=1e-5)
    assert math.isnan(detectable_effect(1)) and math.isnan(detectable_difference(0.02, 1))
    assert math.isnan(detectable_difference(0.0, 3)) and math.isnan(detectable_difference(math.nan, 3))
    # over draws: the t value over sqrt(3/pi), the Wilcoxon test's asymptotic relative efficiency
    assert detectable_difference(0.02, 15, DRAWS) == pytest.approx(0.02 * detectable_effect(15) / math.sqrt(3 / math.pi))
    assert detectable_difference(0.02, 5, DRAWS) == math.inf  # 5 draws: the exact test's smallest p is 1/16


@pytest.mark.parametrize("seeds, draws, trials, tolerance", [(3, 5, 800, 0.05), (1, 15, 500, 0.07)])
def test_a_difference_of_the_detectable_size_is_found_about_80_percent_of_the_time(seeds, draws, trials, tolerance):
    sd = 0.03
    unit = SEEDS if seeds >= 2 else DRAWS
    size = detectable_difference(sd, seeds if seeds >= 2 else draws, unit)
    frame = null_check.null_frame(trials, seeds, draws, sd, rng=6, difference=size)
    rows = paired_comparison(frame, null_check.BASELINE, null_check.TREATMENT)
    power = null_check.rejection_rate(rows)
    print(f"\n{unit}: a true difference of {100 * size:.2f} points found in {power:.3f} of {trials} experiments")
    assert abs(power - 0.8) < tolerance, f"power {power:.3f} at the detectable difference, not about 0.8"


def test_every_paired_row_and_table_states_its_detectable_difference():
    frame = null_check.null_frame(2, 3, 4, 0.02, rng=7)
    rows = holm(paired_comparison(frame, null_check.BASELINE, null_check.TREATMENT))
    for row in rows:
        sd = np.std(list(row["per_seed"].values()), ddof=1)
        assert row["detectable"] == pytest.approx(sd * detectable_effect(3))
    lines = paired_markdown(rows)
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    assert header[header.index("95 % CI") + 1] == "detectable (power 0.8)"
    cells = [c.strip() for c in lines[4].strip("|").split("|")]
    assert cells[header.index("detectable (power 0.8)")] == f"±{100 * rows[0]['detectable']:.1f}"
    assert "n.s. reads as: no difference larger than the detectable one at 80 % power" in lines[0]
