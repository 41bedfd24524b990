"""Pooled scoring over the folds of a leave-speakers-out protocol, with intervals from a bootstrap over
test speakers.

Where single speakers do not cover every emotion (natural speech: podcasts, talk shows), a held-out
speaker's own UAR is over fewer classes and a per-speaker mean is not comparable; SER papers on such
corpora report UAR over the concatenated predictions of every fold (e.g. the MSP-Podcast and IEMOCAP
literature: Busso et al. 2008; Lotfian & Busso 2019). Here: the test speakers' confusion matrices
(``SplitResult.speakers``) are summed over every fold and seed, and UAR is read off the sum. The interval
resamples whole test speakers (the unit a claim generalises over, as in a cluster bootstrap: Field & Welsh
2007) and recomputes the pooled UAR; a comparison of two methods resamples the same speakers for both.
"""
from __future__ import annotations

import math

import numpy as np

from ser_bench.results.pooling import POOLED, RESAMPLES, SEED, by_speaker, pooled_estimate, uar_of

__all__ = ["POOLED", "RESAMPLES", "by_speaker", "paired_bootstrap", "pooled_estimate", "uar_of"]

Z_POWER = 2.8016  # z(0.975) + z(0.8): a difference of 2.8 standard errors is found 80 % of the time at α = 0.05


def paired_bootstrap(a: dict, b: dict) -> tuple[float, float]:
    """Two-sided bootstrap p-value of pooled UAR ``a`` − ``b`` (``{speaker: matrix}`` each) over the speakers
    both hold, resampling the same speakers for both, and the difference detectable with 80 % power
    (2.8 bootstrap standard errors). NaN below two shared speakers."""
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, len(common), size=(RESAMPLES, len(common)))
    ma, mb = np.stack([a[s] for s in common]), np.stack([b[s] for s in common])
    diff = uar_of(ma[picks].sum(axis=1)) - uar_of(mb[picks].sum(axis=1))
    diff = diff[~np.isnan(diff)]
    if not len(diff) or np.all(diff == 0):
        return 1.0, math.nan
    p = min(1.0, 2 * min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0))))
    return max(p, 1.0 / RESAMPLES), float(Z_POWER * np.std(diff, ddof=1))
