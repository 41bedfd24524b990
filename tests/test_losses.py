"""Losses against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from ser_bench_plugins.losses.bce_pair import pair_bce
from ser_bench_plugins.losses.ratio_distance import ratio_term

Z = torch.tensor([[0.0], [1.0], [3.0], [4.0]])


class ConstantPairModel(torch.nn.Module):
    """embed = identity; every pair gets logit ``c``."""

    def __init__(self, c=0.0):
        super().__init__()
        self.c = c

    def embed(self, x):
        return x

    def pair_logits(self, a, b):
        return torch.full(torch.broadcast_shapes(a.shape, b.shape)[:-1], self.c)


def test_ratio_distance_matches_eq1_by_hand():
    # same pairs (0,1), (2,3): distances 1, 1 -> D_s = 1; different pairs: 3, 4, 2, 3 -> D_d = 3.
    loss = ratio_term(Z, torch.tensor([0, 0, 1, 1]))
    assert loss.item() == pytest.approx((3 + 1) / (3 - 1))


def test_ratio_distance_guard_when_different_pairs_are_closer():
    # same pairs (0,2), (1,3): 3, 3 -> D_s = 3; different: 1, 4, 2, 1 -> D_d = 2; u = -1/5.
    z = Z.clone().requires_grad_(True)
    loss = ratio_term(z, torch.tensor([0, 1, 0, 1]), delta=0.1)
    u = (2 - 3) / (2 + 3)
    assert loss.item() == pytest.approx((2 * 0.1 - u) / 0.1**2)  # tangent continuation, 40
    assert loss.item() > 0 and math.isfinite(loss.item())
    loss.backward()
    # Moving sample 2 (class 0) towards sample 0 (class 0) must lower the loss: same class closer.
    assert z.grad[2, 0] > 0


def test_ratio_guard_is_continuous_at_delta():
    # Two tight pairs far apart; whatever u they give, 1/u (above delta) and the tangent line (below)
    # must meet at delta = u.
    d_d = 1.2
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, d_d], [1.0, d_d]])
    y = torch.tensor([0, 0, 1, 1])
    d = torch.cdist(z, z)
    d_s_val = (d[0, 1] + d[2, 3]) / 2
    d_d_val = (d[0, 2] + d[0, 3] + d[1, 2] + d[1, 3]) / 4
    u = ((d_d_val - d_s_val) / (d_d_val + d_s_val)).item()
    value = ratio_term(z, y, delta=u).item()
    assert value == pytest.approx(1 / u, rel=1e-5)
    assert ratio_term(z, y, delta=u + 1e-6).item() == pytest.approx(1 / u, rel=1e-3)


def test_ratio_distance_is_zero_without_both_pair_kinds():
    assert ratio_term(Z, torch.tensor([1, 1, 1, 1])).item() == 0.0
    assert ratio_term(Z[:1], torch.tensor([0])).item() == 0.0


def test_pair_bce_balanced_constant_logit_is_log2():
    model = ConstantPairModel(0.0)
    value = pair_bce(model, Z, torch.tensor([0, 0, 1, 2]))
    assert value.item() == pytest.approx(math.log(2))


def test_pair_bce_balancing_by_hand():
    # 4 samples, labels 0,0,1,1: 2 same pairs, 4 different; logit c for every pair.
    c = 1.0
    model = ConstantPairModel(c)
    same_term = -math.log(1 / (1 + math.exp(-c)))
    diff_term = -math.log(1 - 1 / (1 + math.exp(-c)))
    expected_balanced = 0.5 * same_term + 0.5 * diff_term
    expected_plain = (2 * same_term + 4 * diff_term) / 6
    y = torch.tensor([0, 0, 1, 1])
    assert pair_bce(model, Z, y, balance=True).item() == pytest.approx(expected_balanced)
    assert pair_bce(model, Z, y, balance=False).item() == pytest.approx(expected_plain)


def test_pair_gathering_gives_the_gradients_of_plain_indexing_bit_for_bit():
    """Pairs are gathered with index_select for speed; the results committed in results/ were computed
    with ``z[i]``: the loss and every gradient must be the same floats, not merely close, on the one
    thread every model trains on (with more, torch may split the backward's sums differently)."""
    from ser_bench.model.pairs import all_pairs, pair_distances

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _pair_gathering_cases(all_pairs, pair_distances)
    finally:
        torch.set_num_threads(threads)


def _pair_gathering_cases(all_pairs, pair_distances):
    gen = torch.Generator().manual_seed(3)
    for n, d in [(128, 16), (37, 32), (2, 16)]:
        z0 = torch.randn(n, d, generator=gen)
        y = torch.randint(0, 4, (n,), generator=gen)
        weights = torch.randn(d, d, generator=gen)
        i, j, _ = all_pairs(y)

        pair_weights = torch.randn(len(i), generator=gen)

        def grads(loss_of):
            z = z0.clone().requires_grad_()
            loss = loss_of(z)
            loss.backward()
            return loss.detach(), z.grad

        for plain, fast in [  # distances (ratio_distance, contrastive), and bce_pair's |z_a - z_b| layer
            (lambda z: (z[i] - z[j]).pow(2).sum(-1).clamp_min(1e-12).sqrt(), lambda z: pair_distances(z, i, j)),
            (lambda z: torch.relu((z[i] - z[j]).abs() @ weights).sum(-1),
             lambda z: torch.relu((z.index_select(0, i) - z.index_select(0, j)).abs() @ weights).sum(-1)),
        ]:
            a = grads(lambda z: (plain(z) * pair_weights).pow(2).mean())
            b = grads(lambda z: (fast(z) * pair_weights).pow(2).mean())
            assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
