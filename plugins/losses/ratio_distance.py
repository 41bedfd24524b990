"""ratio_distance: Feng & Chaspari's ratio distance loss (Eq. 1), added to the pair BCE.

With D_s the mean Euclidean distance between embeddings g(.) of same-class pairs of a batch and D_d
that of different-class pairs, Eq. 1 is L_ratio = (D_d + D_s) / (D_d - D_s).

The guard. Write u = (D_d - D_s) / (D_d + D_s) in [-1, 1]; then L_ratio = 1/u. As printed, the loss
is unbounded below when D_d < D_s (u < 0): minimising it would *reward* mixing the classes, and it
blows up as u -> 0. We keep 1/u for u >= delta and continue it below delta with its tangent line,
(2 delta - u) / delta^2, which is continuous with a continuous slope, still decreasing in u (so
gradients always push different classes apart and same classes together) and bounded by
(2 delta + 1) / delta^2 at u = -1. A batch with no same-class or no different-class pair adds 0.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import all_pairs, pair_distances
from ser_bench.plugin_api.params import defaults_of
from ser_bench.model.twins import batched_twin
from ser_bench.plugin_api.types import LossSpec

from .bce_pair import pair_bce, pair_bce_batched


def ratio_term(z, y, delta: float = 0.1):
    """Guarded Eq. 1 on embeddings ``z`` with labels ``y`` (see the module docstring)."""
    import torch

    if len(y) < 2:
        return z.sum() * 0.0
    i, j, same = all_pairs(y)
    if same.all() or not same.any():
        return z.sum() * 0.0
    d = pair_distances(z, i, j)
    d_s, d_d = d[same].mean(), d[~same].mean()
    u = (d_d - d_s) / (d_d + d_s)
    return torch.where(u >= delta, 1.0 / u.clamp_min(delta), (2 * delta - u) / delta**2)


def ratio_term_batched(z, y, delta: float = 0.1):
    """:func:`ratio_term` for M stacked models at once (``z``: ``[M, B, d]``, ``y``: ``[M, B]``), one value
    per model, each with the gradients :func:`ratio_term` gives that model alone."""
    import torch

    from ser_bench.model.batched_losses import masked_means

    if y.size(1) < 2:
        return z.sum((1, 2)) * 0.0
    i, j = torch.triu_indices(y.size(1), y.size(1), offset=1, device=y.device)
    same = y[:, i] == y[:, j]
    # ratio_term returns 0 for a batch without both kinds of pair; here such a model computes on
    # placeholder means (so that nothing is NaN) and its term is replaced by 0, which passes no gradient.
    lacking = same.all(-1) | ~same.any(-1)
    d = (z.index_select(1, i) - z.index_select(1, j)).pow(2).sum(-1).clamp_min(1e-12).sqrt()  # pair_distances, per model
    d_s, d_d = masked_means(d, same)
    d_s, d_d = torch.where(lacking, 1.0, d_s), torch.where(lacking, 2.0, d_d)
    u = (d_d - d_s) / (d_d + d_s)
    term = torch.where(u >= delta, 1.0 / u.clamp_min(delta), (2 * delta - u) / delta**2)
    return torch.where(lacking, 0.0, term)


@batched_twin
def build(weight: float = 1.0, delta: float = 0.1, balance: bool = True):
    """``loss(model, x, y)`` = pair BCE + ``weight`` x guarded ratio distance term."""
    def loss(model, x, y):
        z = model.embed(x)
        return pair_bce(model, z, y, balance) + weight * ratio_term(z, y, delta)

    def batched(model, x, y):
        z = model.embed(x)
        return pair_bce_batched(model, z, y, balance) + weight * ratio_term_batched(z, y, delta)

    loss.batched = batched
    return loss


@hookimpl
def ser_bench_losses():
    return [LossSpec(
        name="ratio_distance", build=build, params=defaults_of(build, "losses"), pretrain_loss="bce_pair",
        search_space={"weight": "0.01..10:log", "delta": "0.02..0.5:log"},
        summary="pair BCE + ratio distance loss (D_d+D_s)/(D_d-D_s), guarded for D_d < D_s",
        reference="Feng & Chaspari (2020), Eq. 1",
    )]
