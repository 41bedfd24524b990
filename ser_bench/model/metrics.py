"""Classification metrics: UAR (the primary one), accuracy, macro-F1, per-class recall, confusion."""
from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Metrics over class indices ``0..len(labels)-1``; classes absent from ``y_true`` are left out of UAR."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    present = sorted(set(y_true.tolist()))
    recalls = recall_score(y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=0)
    return {
        "uar": float(recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "recall": {labels[i]: float(recalls[i]) for i in present},
        "confusion": confusion_matrix(y_true, y_pred, labels=list(range(len(labels)))).tolist(),
    }


def ccc(a, b) -> float:
    """Lin's concordance correlation coefficient."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    cov = np.mean((a - a.mean()) * (b - b.mean()))
    return float(2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2 + 1e-12))


def continuous_metrics(model, x_support, x_test, support_manifest, test_manifest, targets) -> dict:
    """CCC and Spearman's rho of each continuous target predicted from embeddings by a ridge probe fitted
    on the support set (how well the embedding orders arousal/valence)."""
    import torch
    from scipy.stats import spearmanr
    from sklearn.linear_model import Ridge

    with torch.no_grad():
        z_s, z_t = model.embed(x_support).numpy(), model.embed(x_test).numpy()
    out = {}
    for target in targets:
        truth = test_manifest[target].to_numpy(dtype=float)
        pred = Ridge(alpha=1.0).fit(z_s, support_manifest[target].to_numpy(dtype=float)).predict(z_t)
        rho = spearmanr(pred, truth).statistic if np.std(pred) > 0 else float("nan")
        out[target] = {"ccc": ccc(pred, truth), "spearman": float(rho)}
    return out
