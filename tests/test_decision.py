"""The support-set decision rule, by hand."""
from __future__ import annotations

import math

import pytest
import torch

from ser_bench.model.decision import class_scores, predict


class DistanceModel(torch.nn.Module):
    """embed = identity; logit of P(same) = -|a - b| summed over dimensions."""

    def embed(self, x):
        return x

    def pair_logits(self, a, b):
        return -(a - b).abs().sum(-1)


def logsig(v):
    return -math.log1p(math.exp(-v))


def test_log_sum_scores_by_hand():
    model = DistanceModel()
    support = torch.tensor([[0.0], [1.0], [5.0]])
    labels = torch.tensor([0, 0, 1])
    query = torch.tensor([[2.0]])
    scores = class_scores(model, query, support, labels, n_classes=2, rule="sum")
    assert scores[0, 0].item() == pytest.approx(logsig(-2) + logsig(-1))
    assert scores[0, 1].item() == pytest.approx(logsig(-3))
    mean = class_scores(model, query, support, labels, n_classes=2, rule="mean")
    assert mean[0, 0].item() == pytest.approx((logsig(-2) + logsig(-1)) / 2)


def test_sum_favours_the_smaller_class_and_mean_does_not():
    model = DistanceModel()
    # Class 0 has three support samples near the query, class 1 one sample a bit farther.
    support = torch.tensor([[0.9], [1.1], [1.0], [2.5]])
    labels = torch.tensor([0, 0, 0, 1])
    query = torch.tensor([[1.0]])
    assert predict(model, query, support, labels, 2, "sum").item() == 1
    assert predict(model, query, support, labels, 2, "mean").item() == 0


def test_absent_class_never_wins_and_blocks_agree():
    model = DistanceModel()
    support = torch.randn(30, 3)
    labels = torch.randint(0, 2, (30,))
    query = torch.randn(700, 3)
    full = class_scores(model, query, support, labels, n_classes=3, block=10_000)
    blocked = class_scores(model, query, support, labels, n_classes=3, block=64)
    assert torch.allclose(full, blocked)
    assert torch.isinf(full[:, 2]).all() and (full.argmax(1) != 2).all()


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="sum"):
        class_scores(DistanceModel(), torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), 1, "max")
