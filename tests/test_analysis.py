"""Paired comparisons and the trained-model cache."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import wilcoxon

from ser_bench.analysis import paired_comparison, rank_biserial
from ser_bench.model_cache import DiskModelCache


def episodes(loss, uars, hashes=None):
    return pd.DataFrame({"pair": "a → b", "loss": loss, "seed": 0, "k": 2, "repeat": range(len(uars)), "frozen": 0,
                         "uar": uars, "hash": hashes or [f"h{i}" for i in range(len(uars))]})


def test_paired_wilcoxon_on_a_constructed_example():
    base = [0.50, 0.52, 0.48, 0.55, 0.60, 0.40, 0.45, 0.50]
    diffs = [0.05, 0.03, 0.04, -0.01, 0.06, 0.02, 0.07, 0.08]
    frame = pd.concat([episodes("bce_pair", base), episodes("ratio_distance", list(np.add(base, diffs)))])
    (result,) = paired_comparison(frame, "bce_pair", "ratio_distance")
    assert result["units"] == 8 and result["treatment_better"] == 7 and result["baseline_better"] == 1
    assert result["mean_difference"] == pytest.approx(np.mean(diffs))
    assert result["p_value"] == pytest.approx(wilcoxon(diffs).pvalue)
    # ranks of |d|: 0.01 -> 1 (negative), the rest 2..8 positive: r = (35 - 1) / 36
    assert result["rank_biserial"] == pytest.approx(34 / 36)


def test_unpaired_episodes_are_refused():
    frame = pd.concat([episodes("bce_pair", [0.5, 0.6]), episodes("ratio_distance", [0.5, 0.7], ["h0", "other"])])
    with pytest.raises(ValueError, match="not paired"):
        paired_comparison(frame, "bce_pair", "ratio_distance")


def test_rank_biserial_extremes():
    assert rank_biserial([0.1, 0.2, 0.3]) == 1.0 and rank_biserial([-0.1, -0.2]) == -1.0 and rank_biserial([0, 0]) == 0.0


def test_model_cache_trains_once_and_retrains_a_corrupt_entry(tmp_path):
    cache = DiskModelCache(tmp_path)
    trained = []

    def build():
        torch.manual_seed(0)
        return torch.nn.Linear(3, 2)

    def train(model):
        trained.append(1)
        with torch.no_grad():
            model.weight.add_(1.0)

    first = cache.get_or_train("abc123", build, train)
    second = cache.get_or_train("abc123", build, train)
    assert len(trained) == 1 and cache.hits == 1 and torch.equal(first.weight, second.weight)
    next(tmp_path.rglob("abc123.pt")).write_bytes(b"garbage")
    third = cache.get_or_train("abc123", build, train)
    assert len(trained) == 2 and torch.equal(third.weight, first.weight)
