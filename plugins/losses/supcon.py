"""supcon: supervised contrastive loss on cosine similarities with a temperature.

Khosla et al. (2020), Supervised Contrastive Learning, NeurIPS; via pytorch-metric-learning's
``SupConLoss``.
"""
from ser_bench import hookimpl

from .pml_base import pml_loss_spec

SPEC = pml_loss_spec(
    "supcon", "SupConLoss", {"temperature": 0.1}, distance="CosineSimilarity",
    summary="supervised contrastive loss (pytorch-metric-learning)",
    reference="Khosla et al. (2020), Supervised Contrastive Learning, NeurIPS",
    search_space={"temperature": "0.02..1:log"},
)


@hookimpl
def ser_bench_losses():
    return [SPEC]
