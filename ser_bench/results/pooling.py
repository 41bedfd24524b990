"""Pooled scoring over the folds of a leave-speakers-out protocol: the test speakers' confusion matrices
summed over every fold and seed, UAR read off the sum, and a 95 % interval from a bootstrap over test
speakers. The results layer uses it for a pooled cell's own summary; boards use it through
:mod:`ser_bench.reporting.pooled`."""
from __future__ import annotations

import math

import numpy as np

POOLED = "test speakers, pooled over folds"
RESAMPLES = 2000
SEED = 0


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


