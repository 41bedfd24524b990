"""triplet: triplet margin loss on semi-hard mined triplets.

Schroff, Kalenichenko & Philbin (2015), FaceNet, CVPR; via pytorch-metric-learning's
``TripletMarginLoss`` with ``TripletMarginMiner`` (distance and miner are parameters).
"""
from ser_bench import hookimpl

from .pml_base import pml_loss_spec

SPEC = pml_loss_spec(
    "triplet", "TripletMarginLoss", {"margin": 0.2}, distance="LpDistance", miner="TripletMarginMiner",
    miner_params={"margin": 0.2, "type_of_triplets": "semihard"},
    summary="triplet margin loss, semi-hard mining (pytorch-metric-learning)",
    reference="Schroff, Kalenichenko & Philbin (2015), FaceNet, CVPR",
    search_space={"margin": "0.05..1:log"},
)


@hookimpl
def ser_bench_losses():
    return [SPEC]
