"""continuous_slope: the continuous metric loss of Das et al. (2022) on arousal and/or valence.

Over all pairs i < j of a batch, with dy = y_i - y_j the label difference and dz the embedding
difference, fit the least-squares slope through the origin b = sum(dy dz) / sum(dy^2) and minimise
|b - 1| + mean((b dy - dz)^2): embedding differences proportional (slope one) to label differences.

dz, two choices: ``signed_mean`` (default) is mean_d(z_i - z_j), what Das et al.'s code does; it keeps
the sign, so the embedding must *order* clips along the label, not only space them. ``norm`` is
||z_i - z_j|| against |dy|: distances match label gaps, direction free. The default follows the
paper's code so that results are comparable with it. ``dimension="both"`` fits arousal to the first
half of the embedding and valence to the second and adds the two losses.
Das, A. et al. (2022), Continuous Metric Learning For Transferable Speech Emotion Recognition and
Embedding Across Low-resource Languages, NLDL.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_kit.helpers import all_pairs
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import LossSpec

DIMENSIONS = {"arousal": ("arousal",), "valence": ("valence",), "both": ("arousal", "valence")}


def slope_loss(z, y, difference: str = "signed_mean"):
    """The loss for one label dimension ``y`` (shape ``(n,)``) and embedding ``z`` (``(n, d)``)."""
    if len(y) < 2:
        return z.sum() * 0.0
    i, j, _ = all_pairs(y)
    dy = y[i] - y[j]
    if difference == "signed_mean":
        dz = (z.index_select(0, i) - z.index_select(0, j)).mean(-1)
    elif difference == "norm":
        dz = (z.index_select(0, i) - z.index_select(0, j)).pow(2).sum(-1).clamp_min(1e-12).sqrt()
        dy = dy.abs()
    else:
        raise SerBenchError(f"continuous_slope: difference must be 'signed_mean' or 'norm', not {difference!r}")
    denominator = dy.pow(2).sum()
    if denominator <= 0:  # every label equal: no slope to fit
        return z.sum() * 0.0
    b = (dy * dz).sum() / denominator
    return (b - 1).abs() + (b * dy - dz).pow(2).mean()


def build(dimension: str = "arousal", difference: str = "signed_mean"):
    """``loss(model, x, y)`` with ``y`` the arousal and/or valence of each clip."""
    if dimension not in DIMENSIONS:
        raise SerBenchError(f"continuous_slope: dimension must be one of {', '.join(DIMENSIONS)}")

    def loss(model, x, y):
        z = model.embed(x)
        if dimension != "both":
            return slope_loss(z, y, difference)
        half = z.shape[1] // 2
        return slope_loss(z[:, :half], y[:, 0], difference) + slope_loss(z[:, half:], y[:, 1], difference)

    loss.targets = DIMENSIONS[dimension]
    return loss


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="continuous_slope", build=build, params=defaults_of(build, "losses"),
                     output="embedding", default_head="prototype", encoder_kinds=("siamese", "embedding"),
                     summary="Das et al. continuous metric loss: slope-one fit of embedding vs arousal/valence gaps",
                     reference="Das et al. (2022), NLDL")]
