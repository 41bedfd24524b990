"""Class probabilities of evaluation heads, and how well calibrated they are.

Metrics (numpy in, floats out): :func:`expected_calibration_error` (top-label ECE with equal-width
confidence bins, Guo et al. 2017, On calibration of modern neural networks), :func:`brier_score`
(multi-class, Brier 1950) and the mean negative log-likelihood, together :func:`calibration_metrics`.

Temperature scaling for heads that score classes by a distance or a score of their own (``prototype``,
``knn``, ``siamese``): :func:`tempered_probabilities` gives ``softmax(scores / T)``, with ``T`` fitted
by :func:`fit_temperature` on the support set scored leave-one-out (each support clip scored against the
support set without itself). At most :data:`CAP` support clips, drawn with a fixed seed and stratified by
class (:func:`leave_one_out_clips`), are scored, so the cost stays small for large support sets. Where no
clip can be scored that way (every class has a single support clip) or a single class is present,
``T = 1`` and the returned :class:`Temperature` says why; the probability tensor carries it as its
``temperature`` attribute (:func:`temperature_of`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BINS = 15  # confidence bins of the ECE
CAP = 256  # support clips scored leave-one-out to fit a temperature, at most
SEED = 0  # the draw of those clips when the support set holds more
BOUNDS = (1e-3, 1e3)  # the temperatures searched (a bounded search over log T)
FLOOR = 1e-12  # probabilities are clipped here for the log-likelihood
ROW_SUM_TOLERANCE = 1e-5  # how far a row of probabilities may sum from 1


@dataclass(frozen=True)
class Temperature:
    """A fitted (or fallen-back) softmax temperature.

    ``value``: T; ``clips``: the support clips scored leave-one-out to fit it (0 when none was);
    ``fallback``: why T = 1 was used without a fit, ``""`` when it was fitted.
    """

    value: float
    clips: int
    fallback: str = ""

    def record(self) -> dict:
        """What a result may record."""
        return {"value": self.value, "clips": self.clips, "fallback": self.fallback}


def _numpy(values, dtype=None):
    if hasattr(values, "detach"):  # a torch tensor, wherever it lives
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def _checked(probabilities, truth):
    p = _numpy(probabilities, np.float64)
    y = _numpy(truth)
    if p.ndim != 2 or y.ndim != 1 or len(p) != len(y) or not len(y):
        raise ValueError(f"need an (n, classes) probability array and n class indices, n > 0 "
                         f"(got {p.shape} and {y.shape})")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"class indices must be integers, not {y.dtype}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"class indices must lie in 0..{p.shape[1] - 1}")
    if not np.isfinite(p).all():
        raise ValueError("probabilities must be finite")
    if (p < -ROW_SUM_TOLERANCE).any() or (p > 1 + ROW_SUM_TOLERANCE).any():
        raise ValueError("probabilities must lie in 0..1")
    worst = np.abs(p.sum(axis=1) - 1).max()
    if worst > ROW_SUM_TOLERANCE:
        raise ValueError(f"each row of probabilities must sum to 1 (one is {worst:.3g} away)")
    return p, y.astype(np.int64)


def expected_calibration_error(probabilities, truth, bins: int = BINS) -> float:
    """Top-label expected calibration error (Guo et al. 2017): the confidence of a clip is its largest
    probability, its prediction that class; clips fall into ``bins`` equal-width confidence bins
    ``(m / bins, (m + 1) / bins]`` (a confidence of 0 into the first), and the ECE is the mean over bins,
    weighted by their clip counts, of ``|accuracy - mean confidence|``."""
    p, y = _checked(probabilities, truth)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    where = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, int(bins) - 1)
    counts = np.bincount(where, minlength=int(bins))
    gap = np.abs(np.bincount(where, weights=correct, minlength=int(bins))
                 - np.bincount(where, weights=confidence, minlength=int(bins)))
    return float(gap.sum() / counts.sum())  # sum over bins of n_m / n * |acc_m - conf_m|


def brier_score(probabilities, truth) -> float:
    """Multi-class Brier score (Brier 1950): the mean over clips of the sum over classes of the squared
    difference to the one-hot truth; 0 (certain and right) to 2 (certain and wrong). With two classes
    this is twice scikit-learn's ``brier_score_loss`` of the positive class."""
    p, y = _checked(probabilities, truth)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def calibration_metrics(probabilities, truth, bins: int = BINS) -> dict:
    """``{"ece", "brier", "bins", "nll"}`` of the test clips: :func:`expected_calibration_error`,
    :func:`brier_score`, the number of ECE bins and the mean negative log-likelihood of the true class
    (its probability clipped at 1e-12). Raises ``ValueError`` for probabilities that are not finite or
    whose rows do not sum to 1."""
    p, y = _checked(probabilities, truth)
    nll = -np.log(np.clip(p[np.arange(len(y)), y], FLOOR, None)).mean()
    return {"ece": expected_calibration_error(p, y, bins), "brier": brier_score(p, y), "bins": int(bins),
            "nll": float(nll) + 0.0}  # + 0.0: a certain, right answer scores 0, not -0


def leave_one_out_clips(y_support, cap: int = CAP, seed: int = SEED):
    """Indices (sorted, a numpy array) of the support clips to score leave-one-out: those whose class has
    another support clip. More than ``cap`` of them: ``cap`` drawn with ``seed``, stratified by class
    (each class its share of ``cap``, the remainders going to the largest fractions)."""
    labels = _numpy(y_support).astype(np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    scorable = classes[counts >= 2]
    pool = np.flatnonzero(np.isin(labels, scorable))
    if len(pool) <= cap:
        return pool
    members = [np.flatnonzero(labels == c) for c in scorable]
    share = np.array([len(m) for m in members], dtype=np.float64) * cap / len(pool)
    quota = np.floor(share).astype(np.int64)
    quota[np.argsort(-(share - quota), kind="stable")[:cap - int(quota.sum())]] += 1
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(m, int(q), replace=False) for m, q in zip(members, quota)]))


def fit_temperature(scores, labels, bounds: tuple[float, float] = BOUNDS) -> Temperature:
    """The temperature T minimising the mean negative log-likelihood of ``labels`` under
    ``softmax(scores / T)``, found by a bounded search over log T (``scipy.optimize.minimize_scalar``).

    ``scores``: ``(n, classes)``, higher meaning more likely, ``-inf`` for classes that cannot be
    predicted; the true class of each row must score finitely. No rows: T = 1, said in ``fallback``.
    Rows that a small T already gets right with certainty (to float precision) leave the likelihood flat
    below some T; the search then stops anywhere in that flat stretch, every point of which fits as well.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    s = _numpy(scores, np.float64)
    y = _numpy(labels).astype(np.int64)
    if s.ndim != 2 or y.shape != (len(s),):
        raise ValueError(f"need (n, classes) scores and n labels (got {s.shape} and {y.shape})")
    if not len(y):
        return Temperature(1.0, 0, "no support clip could be scored leave-one-out")
    own = s[np.arange(len(y)), y]
    if not np.isfinite(own).all() or np.isnan(s).any():
        raise ValueError("the true class of every clip must score finitely (and no score may be NaN)")

    def nll(log_t: float) -> float:
        z = s / math.exp(log_t)
        return float((logsumexp(z, axis=1) - z[np.arange(len(y)), y]).mean())

    found = minimize_scalar(nll, bounds=(math.log(bounds[0]), math.log(bounds[1])), method="bounded")
    return Temperature(float(math.exp(found.x)), len(y))


def tempered_probabilities(scores, y_support, left_out, cap: int = CAP, seed: int = SEED):
    """``softmax(scores / T)`` of the test clips (a float64 tensor on the device of ``scores``), T fitted
    on the support set scored leave-one-out.

    ``scores``: ``(test clips, classes)``, higher meaning more likely and ``-inf`` for classes absent from
    the support set (they get probability 0). ``left_out(indices)`` scores the support clips ``indices``
    (a ``LongTensor`` on the device of ``y_support``) each against the support set without itself, as
    ``(len(indices), classes)``; it is called once, on at most ``cap`` clips (:func:`leave_one_out_clips`).
    A single class in the support set, or no class with two clips: T = 1 without a fit. The tensor
    carries the :class:`Temperature` as its ``temperature`` attribute (:func:`temperature_of`).
    """
    import torch

    chosen = leave_one_out_clips(y_support, cap, seed)
    if len(torch.unique(y_support)) < 2:
        temperature = Temperature(1.0, 0, "a single class in the support set: its probability is 1 whatever T")
    elif not len(chosen):
        temperature = Temperature(1.0, 0, "no class has two support clips: none can be scored leave-one-out")
    else:
        index = torch.as_tensor(chosen, dtype=torch.long, device=y_support.device)
        temperature = fit_temperature(left_out(index), y_support[index])
    probabilities = torch.softmax(scores.to(torch.float64) / temperature.value, dim=1)
    probabilities.temperature = temperature  # type: ignore[attr-defined]
    return probabilities


def temperature_of(probabilities) -> Temperature | None:
    """The :class:`Temperature` that :func:`tempered_probabilities` fitted for these probabilities, or
    ``None`` (probabilities made otherwise, or a copy: the attribute stays with the tensor returned)."""
    return getattr(probabilities, "temperature", None)
