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

POOLED = "test speakers, pooled over folds"
RESAMPLES = 2000
SEED = 0
Z_POWER = 2.8016  # z(0.975) + z(0.8): a difference of 2.8 standard errors is found 80 % of the time at α = 0.05


def uar_of(confusion) -> np.ndarray:
    """UAR of confusion matrices ``(..., C, C)`` (rows: true classes), over the classes with clips."""
    matrix = np.asarray(confusion, dtype=float)
    totals = matrix.sum(axis=-1)
    diagonal = np.diagonal(matrix, axis1=-2, axis2=-1)
    recall = np.divide(diagonal, totals, out=np.zeros_like(diagonal), where=totals > 0)
    present = (totals > 0).sum(axis=-1)
    return np.divide(recall.sum(axis=-1), present, out=np.full(present.shape, np.nan), where=present > 0)


def by_speaker(speaker_records) -> dict:
    """``{speaker: summed confusion matrix}`` over the ``speakers`` records (one per split) given."""
    out: dict = {}
    for record in speaker_records:
        for speaker, found in (record or {}).items():
            matrix = np.asarray(found["confusion"], dtype=np.int64)
            out[speaker] = out[speaker] + matrix if speaker in out else matrix
    return out


def _resampled(matrices: np.ndarray, rng, resamples: int = RESAMPLES) -> np.ndarray:
    """Pooled UARs of ``resamples`` bootstrap resamples of the speakers (axis 0 of ``matrices``)."""
    picks = rng.integers(0, len(matrices), size=(resamples, len(matrices)))
    return uar_of(matrices[picks].sum(axis=1))


def pooled_estimate(speaker_records, interval: bool = True) -> tuple[float, float, float, dict]:
    """``(pooled UAR, low, high, {speaker: summed matrix})``; the interval is the 95 % percentile interval of
    :data:`RESAMPLES` speaker resamples (NaN below two speakers, or without ``interval``)."""
    found = by_speaker(speaker_records)
    if not found:
        return math.nan, math.nan, math.nan, {}
    speakers = sorted(found)
    matrices = np.stack([found[s] for s in speakers])
    mean = float(uar_of(matrices.sum(axis=0)))
    if not interval or len(speakers) < 2:
        return mean, math.nan, math.nan, found
    values = _resampled(matrices, np.random.default_rng(SEED))
    lo, hi = np.nanquantile(values, [0.025, 0.975])
    return mean, float(lo), float(hi), found


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
