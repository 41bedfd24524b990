"""siamese: the support-set decision rule of Feng & Chaspari (2020) for Siamese encoders.

Each test clip is paired with every support clip; the score of class c is the sum ("sum", the paper's
log-sum) or the mean ("mean", fair to unequal support classes) over the support clips of class c of
log P(same). The argmax wins; classes without support clips never do. Needs a Siamese encoder trained
with a pair loss (its ``pair_logits`` must mean "same emotion").

Class probabilities: a softmax over those class scores, with a temperature fitted on the support set
scored leave-one-out (each support clip paired with the other support clips).
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.types import HeadSpec


def _on_device(x):
    """The rule makes its score tables with torch's factories: off the CPU, they are made on the data's device."""
    import contextlib

    import torch

    return contextlib.nullcontext() if x.device.type == "cpu" else torch.device(x.device)


def predict(model, x_test, x_support, y_support, n_classes, rule: str = "mean", **_):
    """Class of each test clip by the log-sum (``rule="sum"``) or log-mean rule over its support pairs,
    computed on the device of the tensors (the model's: run --device)."""
    from ser_bench.plugin_kit.helpers import decide

    with _on_device(x_test):
        return decide(model, x_test, x_support, y_support, n_classes, rule)


def _left_out_scores(model, x_support, y_support, n_classes, rule, index):
    """The class scores of the support clips ``index``, each paired with every support clip but itself."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        z_s = model.embed(x_support)
        rows = torch.arange(len(index), device=z_s.device)
        logp = F.logsigmoid(model.pair_logits(z_s[index][:, None, :], z_s[None, :, :]))  # (clips, support)
        logp[rows, index] = 0.0  # not its pair with itself
        scores = torch.zeros(len(index), n_classes, dtype=logp.dtype, device=z_s.device).index_add_(1, y_support, logp)
        counts = torch.bincount(y_support, minlength=n_classes).to(logp.dtype).repeat(len(index), 1)
        counts[rows, y_support[index]] -= 1
        if rule == "mean":
            scores = scores / counts.clamp_min(1)
        return scores.masked_fill(counts == 0, float("-inf"))


def probabilities(model, x_test, x_support, y_support, n_classes, rule: str = "mean", **_):
    """Softmax over the class scores of :func:`predict`'s rule, temperature fitted leave-one-out."""
    from ser_bench.plugin_kit.helpers import decision_scores, tempered_probabilities

    with _on_device(x_test):
        scores = decision_scores(model, x_test, x_support, y_support, n_classes, rule)
        return tempered_probabilities(
            scores, y_support, lambda index: _left_out_scores(model, x_support, y_support, n_classes, rule, index))


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="siamese", predict=predict, needs="pair", probabilities=probabilities,
                     summary="log P(same) summed (paper) or averaged over each class's support pairs",
                     calibration="softmax over the rule's per-class log P(same) scores, temperature fitted by "
                                 "leave-one-out on the support set",
                     reference="Feng & Chaspari (2020), A Siamese neural network with modified distance loss "
                               "for transfer learning in speech emotion recognition")]
