"""siamese: the support-set decision rule of Feng & Chaspari (2020) for Siamese encoders.

Each test clip is paired with every support clip; the score of class c is the sum ("sum", the paper's
log-sum) or the mean ("mean", fair to unequal support classes) over the support clips of class c of
log P(same). The argmax wins; classes without support clips never do. Needs a Siamese encoder trained
with a pair loss (its ``pair_logits`` must mean "same emotion").
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, rule: str = "mean", **_):
    """Class of each test clip by the log-sum (``rule="sum"``) or log-mean rule over its support pairs,
    computed on the device of the tensors (the model's: run --device)."""
    import contextlib

    import torch

    from ser_bench.plugin_kit.helpers import decide

    # The rule makes its score tables with torch's factories: off the CPU, they are made on the data's device.
    where = contextlib.nullcontext() if x_test.device.type == "cpu" else torch.device(x_test.device)
    with where:
        return decide(model, x_test, x_support, y_support, n_classes, rule)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="siamese", predict=predict, needs="pair",
                     summary="log P(same) summed (paper) or averaged over each class's support pairs",
                     reference="Feng & Chaspari (2020), A Siamese neural network with modified distance loss "
                               "for transfer learning in speech emotion recognition")]
