"""multi_similarity: multi-similarity loss with its pair miner.

Wang et al. (2019), Multi-Similarity Loss with General Pair Weighting for Deep Metric Learning, CVPR;
via pytorch-metric-learning's ``MultiSimilarityLoss`` and ``MultiSimilarityMiner``.
"""
from ser_bench import hookimpl

from .pml_base import pml_loss_spec

SPEC = pml_loss_spec(
    "multi_similarity", "MultiSimilarityLoss", {"alpha": 2.0, "beta": 50.0, "base": 0.5},
    distance="CosineSimilarity", miner="MultiSimilarityMiner", miner_params={"epsilon": 0.1},
    summary="multi-similarity loss with its miner (pytorch-metric-learning)",
    reference="Wang et al. (2019), CVPR",
    search_space={"alpha": "0.5..10:log", "beta": "10..100:log", "base": "0.1..1.0"},
)


@hookimpl
def ser_bench_losses():
    return [SPEC]
