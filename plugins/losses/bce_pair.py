"""bce_pair: the Siamese baseline, binary cross-entropy on same/different pairs (Feng & Chaspari 2020).

Every pair i < j of the batch is used once; same-class pairs are weighted so that they count as much
as different-class pairs in total (with 4 balanced classes only a quarter of pairs are "same").
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import all_pairs
from ser_bench.plugin_api.params import defaults_of
from ser_bench.model.twins import batched_twin
from ser_bench.plugin_api.types import LossSpec


def pair_bce(model, z, y, balance: bool = True):
    """Pair BCE on precomputed embeddings ``z``; 0 when the batch has fewer than two samples."""
    import torch
    import torch.nn.functional as F

    if len(y) < 2:
        return z.sum() * 0.0
    i, j, same = all_pairs(y)
    logits = model.pair_logits(z.index_select(0, i), z.index_select(0, j))
    target = same.float()
    weight = None
    if balance:
        n_same = target.sum()
        n_diff = len(target) - n_same
        if n_same > 0 and n_diff > 0:
            weight = torch.where(same, 0.5 / n_same, 0.5 / n_diff) * len(target)
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight)


def pair_bce_batched(model, z, y, balance: bool = True):
    """:func:`pair_bce` for M stacked models at once (``z``: ``[M, B, d]``, ``y``: ``[M, B]``), one loss
    per model, each with the gradients :func:`pair_bce` gives that model alone."""
    import torch

    from ser_bench.model.batched_losses import bce_with_logits_mean

    if y.size(1) < 2:
        return z.sum((1, 2)) * 0.0
    i, j = torch.triu_indices(y.size(1), y.size(1), offset=1, device=y.device)
    same = y[:, i] == y[:, j]
    logits = model.pair_logits(z.index_select(1, i), z.index_select(1, j))
    target = same.float()
    weight = None
    if balance:
        pairs = target.size(1)
        n_same = target.sum(-1, keepdim=True)
        n_diff = pairs - n_same
        weight = torch.where(same, 0.5 / n_same, 0.5 / n_diff) * pairs
        # pair_bce leaves a batch of one kind of pair unweighted: a weight of exactly 1
        weight = torch.where((n_same > 0) & (n_diff > 0), weight, 1.0)
    return bce_with_logits_mean(logits, target, weight)


@batched_twin
def build(balance: bool = True):
    """``loss(model, x, y)``: pair BCE over all pairs of the batch."""
    def loss(model, x, y):
        return pair_bce(model, model.embed(x), y, balance)

    loss.batched = lambda model, x, y: pair_bce_batched(model, model.embed(x), y, balance)
    return loss


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="bce_pair", build=build, params=defaults_of(build, "losses"),
                     summary="Siamese pair binary cross-entropy (all pairs of a batch, class-balanced)",
                     reference="Feng & Chaspari (2020)")]
