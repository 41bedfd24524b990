"""Classification metrics: UAR (the primary one), accuracy, macro-F1, per-class recall, confusion."""
from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Metrics over class indices ``0..len(labels)-1``; classes absent from ``y_true`` are left out of UAR
    and macro-F1 (as scikit-learn's ``labels=present``), a class never predicted has precision 0.

    Everything comes from one confusion matrix, with scikit-learn's own formulas (recall tp / true,
    F1 2 tp / (true + predicted), zero where a denominator is 0): ``tests/test_metrics.py`` checks
    equality with ``recall_score``, ``f1_score``, ``accuracy_score`` and ``confusion_matrix`` on random
    inputs. Calling those four per split cost a third of a few-shot cell's time in input validation.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(labels)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or not len(y_true):
        raise ValueError(f"need two equal, non-empty 1-d label arrays (got {y_true.shape} and {y_pred.shape})")
    if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k:
        raise ValueError(f"class indices must lie in 0..{k - 1}")
    confusion = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    true_sum = confusion.sum(axis=1).astype(np.float64)
    pred_sum = confusion.sum(axis=0).astype(np.float64)
    present = np.flatnonzero(true_sum > 0)
    recall = np.divide(tp, true_sum, out=np.zeros(k), where=true_sum > 0)
    denom = true_sum + pred_sum
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return {
        "uar": float(np.average(recall[present])),
        "accuracy": float(np.average(y_true == y_pred)),
        "macro_f1": float(np.average(f1[present])),
        "recall": {labels[i]: float(recall[i]) for i in present},
        "confusion": confusion.tolist(),
    }


def confusion_by_speaker(y_true, y_pred, speakers, sexes, n_classes: int) -> dict:
    """``{speaker: {"confusion": k x k counts (rows: true classes), "sex": ...}}`` of one test set, speakers
    as text in sorted order; ``sexes`` (one per clip, or None) gives each speaker's recorded sex, left out
    where the manifest has none. The matrices sum to the split's own: boards pool them over folds and
    resample them by speaker."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    names, which = np.unique(np.asarray([str(s) for s in speakers]), return_inverse=True)
    k2 = n_classes * n_classes
    # One bincount over (speaker, true, predicted): linear in the clips, whatever the number of speakers.
    cells = np.bincount(which * k2 + y_true * n_classes + y_pred, minlength=len(names) * k2)
    cells = cells.reshape(len(names), n_classes, n_classes)
    recorded: list = [set() for _ in names]
    if sexes is not None:
        for i, value in zip(which.tolist(), np.asarray(sexes, dtype=object).tolist()):
            if isinstance(value, str) and value:
                recorded[i].add(value.lower())
    out = {}
    for i, speaker in enumerate(names.tolist()):
        found: dict = {"confusion": cells[i].tolist()}
        if len(recorded[i]) == 1:
            found["sex"] = next(iter(recorded[i]))
        out[speaker] = found
    return out


def ccc(a, b) -> float:
    """Lin's concordance correlation coefficient."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    cov = np.mean((a - a.mean()) * (b - b.mean()))
    return float(2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2 + 1e-12))


def continuous_metrics(model, x_support, x_test, support_manifest, test_manifest, targets) -> dict:
    """CCC and Spearman's rho of each continuous target predicted from embeddings by a ridge probe fitted
    on the support set (how well the embedding orders arousal/valence)."""
    import warnings

    import torch
    from scipy.linalg import LinAlgWarning
    from scipy.stats import spearmanr
    from sklearn.linear_model import Ridge

    with torch.no_grad():
        z_s, z_t = model.embed(x_support).numpy(), model.embed(x_test).numpy()
    out = {}
    for target in targets:
        truth = test_manifest[target].to_numpy(dtype=float)
        with warnings.catch_warnings():
            # A collapsed embedding (every clip at nearly one point) makes the ridge system ill-conditioned:
            # the probe then predicts about a constant, which CCC and rho score as such; nothing to act on.
            warnings.simplefilter("ignore", LinAlgWarning)
            pred = Ridge(alpha=1.0).fit(z_s, support_manifest[target].to_numpy(dtype=float)).predict(z_t)
        # rho is undefined when either side is constant (a collapsed probe, or a test set of one value)
        rho = spearmanr(pred, truth).statistic if np.ptp(pred) > 0 and np.ptp(truth) > 0 else float("nan")
        out[target] = {"ccc": ccc(pred, truth), "spearman": float(rho)}
    return out
