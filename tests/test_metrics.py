"""classification_metrics equals scikit-learn's metrics (it computes them from one confusion matrix)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from ser_bench.model.metrics import classification_metrics


def sklearn_metrics(y_true, y_pred, labels):
    present = sorted(set(y_true.tolist()))
    recalls = recall_score(y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=0)
    return {
        "uar": float(recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "recall": {labels[i]: float(recalls[i]) for i in present},
        "confusion": confusion_matrix(y_true, y_pred, labels=list(range(len(labels)))).tolist(),
    }


@pytest.mark.parametrize("seed", range(300))
def test_equal_to_scikit_learn_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    labels = [f"c{i}" for i in range(k)]
    n = int(rng.integers(1, 400))
    # some classes absent from the truth, some never predicted, skewed predictions
    truth_classes = rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False)
    y_true = rng.choice(truth_classes, size=n)
    y_pred = np.where(rng.random(n) < rng.random(), y_true, rng.choice(k, size=n, p=rng.dirichlet(np.ones(k))))
    assert classification_metrics(y_true, y_pred, labels) == sklearn_metrics(y_true, y_pred, labels)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="0..3"):
        classification_metrics([0, 4], [0, 1], ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="equal"):
        classification_metrics([0, 1], [0], ["a", "b"])


def test_spearman_is_undefined_without_a_warning_when_the_test_targets_are_constant():
    """A test set whose clips share one target value (a corpus annotating one arousal level) makes rho
    undefined: NaN, as a constant prediction gives, and no scipy warning in the run's output."""
    import warnings

    import pandas as pd
    import torch

    from ser_bench.model.metrics import continuous_metrics

    class Identity:
        def embed(self, x):
            return x

    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(40, 4)), dtype=torch.float32)
    support = pd.DataFrame({"arousal": rng.normal(size=20)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = continuous_metrics(Identity(), x[:20], x[20:], support, pd.DataFrame({"arousal": np.ones(20)}),
                                   ["arousal"])
    assert np.isnan(found["arousal"]["spearman"]) and found["arousal"]["ccc"] == pytest.approx(0.0, abs=1e-9)
