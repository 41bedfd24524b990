"""contrastive: pull same-class pairs together, push different-class pairs beyond a margin.

Hadsell, Chopra & LeCun (2006), Dimensionality reduction by learning an invariant mapping, CVPR; via
pytorch-metric-learning's ``ContrastiveLoss`` (distance and miner are parameters).
"""
from ser_bench import hookimpl

from .pml_base import pml_loss_spec

SPEC = pml_loss_spec(
    "contrastive", "ContrastiveLoss", {"pos_margin": 0.0, "neg_margin": 1.0}, distance="LpDistance",
    summary="contrastive loss on all pairs (pytorch-metric-learning)",
    reference="Hadsell, Chopra & LeCun (2006), CVPR",
    search_space={"pos_margin": "0.0..0.5", "neg_margin": "0.25..2:log"},
)


@hookimpl
def ser_bench_losses():
    return [SPEC]
