"""pml: any pytorch-metric-learning loss by class name, with its keyword parameters.

``--loss pml:CircleLoss --loss-param m=0.4``; ``distance``/``miner`` (and ``*_params``) choose PML
distances and miners. Losses with their own weights (``ArcFaceLoss``, ``CosFaceLoss``,
``ProxyAnchorLoss``, ...) get ``num_classes`` and ``embedding_size`` from the run and their weights are
optimised with the encoder. Musgrave, Belongie & Lim (2020), PyTorch Metric Learning, arXiv:2008.09164.
"""
from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import LossSpec

from .pml_base import make_pml_loss


def build(context=None, variant: str = "", distance=None, distance_params=None, miner=None, miner_params=None,
          **loss_params):
    """The PML loss called ``variant`` (``pml:NAME`` on the command line)."""
    if not variant:
        raise SerBenchError("name the pytorch-metric-learning loss: --loss pml:CircleLoss (or pml:ArcFaceLoss, ...)")
    return make_pml_loss(variant, loss_params, context=context, distance=distance, distance_params=distance_params,
                         miner=miner, miner_params=miner_params)


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="pml", build=build, params={}, needs_context=True, output="embedding",
                     default_head="prototype", encoder_kinds=("siamese", "embedding"),
                     summary="any pytorch-metric-learning loss: --loss pml:CLASS --loss-param key=value",
                     reference="Musgrave, Belongie & Lim (2020), PyTorch Metric Learning")]
