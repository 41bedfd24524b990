"""Few-shot curves over the right unit, the module boundaries of the statistics, and the model cache."""
from __future__ import annotations


import pandas as pd
import pytest
import torch

from ser_bench.reporting.analysis import curves
from ser_bench.model.model_cache import DiskModelCache


def test_curves_have_source_seeds_as_their_unit_when_there_are_several():
    rows = [{"pair": "a → b", "loss": "bce_pair", "seed": seed, "k": 2, "repeat": r, "frozen": 0,
             "uar": 0.4 + 0.1 * seed + 0.01 * r} for seed in (0, 1, 2) for r in range(5)]
    (curve,) = curves(pd.DataFrame(rows)).to_dict("records")
    assert (curve["n"], curve["unit"]) == (3, "source seeds") and curve["uar"] == pytest.approx(0.52)
    # seed means 0.42, 0.52, 0.62: half-width t(0.975, 2) * 0.1 / sqrt 3
    assert (curve["hi"] - curve["lo"]) / 2 == pytest.approx(4.3027 * 0.1 / 3 ** 0.5, rel=1e-4)
    (one,) = curves(pd.DataFrame([r for r in rows if r["seed"] == 0])).to_dict("records")
    assert (one["n"], one["unit"]) == (5, "episode draws of one source model")


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
