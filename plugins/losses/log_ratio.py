"""log_ratio: the log-ratio loss of Kim et al. (2019) on arousal and/or valence.

For every dense triplet (a, i, j) of a batch (i, j distinct and different from a):
(log D(f_a, f_i) / D(f_a, f_j) - log D(y_a, y_i) / D(y_a, y_j))^2, with D the squared Euclidean
distance (of embeddings f and of label vectors y); the loss is the mean over triplets. A small
``eps`` inside the logarithms keeps equal labels finite. Kim, Kim, Cho & Kwak (2019), Deep Metric
Learning Beyond Binary Supervision, CVPR.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import LossSpec

DIMENSIONS = {"arousal": ("arousal",), "valence": ("valence",), "both": ("arousal", "valence")}


def log_ratio_loss(z, y, eps: float = 1e-6):
    """Mean squared log-ratio mismatch over all dense triplets of the batch.

    With e[a, i] = log D(f_a, f_i) - log D(y_a, y_i), the triplet term is (e[a, i] - e[a, j])^2. Over
    the m = n - 1 neighbours of an anchor, sum over ordered i != j of (e_i - e_j)^2 equals
    2 m sum(e^2) - 2 (sum e)^2, so the mean over all n m (m - 1) triplets costs O(n^2), not O(n^3).
    """
    import torch

    n = len(z)
    if n < 3:
        return z.sum() * 0.0
    labels = y.reshape(n, -1)
    log_dz = torch.log((z[:, None] - z[None]).pow(2).sum(-1) + eps)
    log_dy = torch.log((labels[:, None] - labels[None]).pow(2).sum(-1) + eps)
    e = (log_dz - log_dy).masked_fill(torch.eye(n, dtype=torch.bool), 0.0)  # the anchor itself drops out
    m = n - 1
    per_anchor = 2 * m * e.pow(2).sum(1) - 2 * e.sum(1).pow(2)
    return per_anchor.sum() / (n * m * (m - 1))


def build(dimension: str = "arousal", eps: float = 1e-6):
    """``loss(model, x, y)`` with ``y`` the arousal and/or valence of each clip."""
    if dimension not in DIMENSIONS:
        raise SerBenchError(f"log_ratio: dimension must be one of {', '.join(DIMENSIONS)}")

    def loss(model, x, y):
        return log_ratio_loss(model.embed(x), y, eps)

    loss.targets = DIMENSIONS[dimension]
    return loss


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="log_ratio", build=build, params=defaults_of(build, "losses"),
                     output="embedding", default_head="prototype", encoder_kinds=("siamese", "embedding"),
                     summary="Kim et al. log-ratio loss on dense triplets, continuous labels",
                     reference="Kim, Kim, Cho & Kwak (2019), CVPR")]
