"""Building blocks for the ``batched`` method of batchable losses (see :mod:`ser_bench.model.batched`).

Each computes the losses of M models at once, with PyTorch's own backward formula evaluated for each
model as it is for that model alone, so that the gradients are bit for bit each model's own.
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench.model.stacked import as_slab


@lru_cache(maxsize=None)
def _bce_function():
    import torch
    import torch.nn.functional as F

    class BatchedBCEWithLogits(torch.autograd.Function):
        @staticmethod
        def forward(ctx, logits, target, weight):
            ctx.save_for_backward(logits, target, weight)
            return F.binary_cross_entropy_with_logits(logits, target, weight, reduction="none").mean(-1)

        @staticmethod
        def backward(ctx, grad):
            logits, target, weight = ctx.saved_tensors
            # binary_cross_entropy_with_logits_backward: (sigmoid(x) - t) * grad * weight / numel. The
            # sigmoid runs on a slab so that its scalar tail falls where it does for one model alone.
            grad_input = (torch.sigmoid(as_slab(logits)) - target).mul_(grad.unsqueeze(-1))
            if weight is not None:
                grad_input.mul_(weight)
            return grad_input.div_(logits.size(-1)), None, None

    return BatchedBCEWithLogits


def bce_with_logits_mean(logits, target, weight=None):
    """``[F.binary_cross_entropy_with_logits(logits[m], target[m], weight[m]) for m]`` for ``[M, P]`` inputs.

    Gradients are bit for bit each model's own; the returned values (the mean over P) may differ from
    the lone call's in the last bit, which no gradient depends on.
    """
    return _bce_function().apply(logits, target, weight)


def cross_entropy_mean(logits, target, label_smoothing: float = 0.0):
    """``[F.cross_entropy(logits[m], target[m], label_smoothing=...) for m]`` for ``[M, B, C]`` logits.

    Follows ``cross_entropy_loss``'s composition (log-softmax, mean NLL, and for label smoothing the mean
    of ``-log_probs.sum(classes)``), so that gradients are bit for bit each model's own.
    """
    import torch.nn.functional as F

    models, rows, classes = logits.shape
    log_probs = F.log_softmax(logits, -1)
    # nll_loss's mean backward, -(grad / rows) at the target, is the mean's grad / rows negated by nll_loss
    nll = F.nll_loss(log_probs.reshape(-1, classes), target.reshape(-1), reduction="none").view(models, rows).mean(-1)
    if label_smoothing <= 0:
        return nll
    smooth = -log_probs.sum(-1)
    return (1 - label_smoothing) * nll + smooth.sum(-1) / rows * (label_smoothing / classes)


@lru_cache(maxsize=None)
def _masked_means_function():
    import torch

    class BatchedMaskedMeans(torch.autograd.Function):
        @staticmethod
        def forward(ctx, values, mask):
            # values[m][mask[m]] holds a different count per model: every model's selection is gathered at
            # once (model after model), then each is averaged on its own, as the lone .mean() sums it.
            counts = mask.sum(-1)
            total = mask.size(-1)
            means = []
            for selected, lengths in ((values[mask], counts.tolist()), (values[~mask], (total - counts).tolist())):
                start, out = 0, []
                for length in lengths:
                    out.append(selected[start:start + length].mean())
                    start += length
                means.append(torch.stack(out))
            ctx.save_for_backward(mask, counts)
            return means[0], means[1]

        @staticmethod
        def backward(ctx, grad_inside, grad_outside):
            mask, counts = ctx.saved_tensors
            total = mask.size(-1)
            # MeanBackward (grad / count) scattered back by IndexBackward; a model without one of the two
            # groups gets no gradient from it.
            inside = torch.where(counts > 0, grad_inside / counts.clamp_min(1), 0.0)
            outside = torch.where(counts < total, grad_outside / (total - counts).clamp_min(1), 0.0)
            return torch.where(mask, inside.unsqueeze(-1), outside.unsqueeze(-1)), None

    return BatchedMaskedMeans


def masked_means(values, mask):
    """``(values[m][mask[m]].mean(), values[m][~mask[m]].mean())`` for every model, as two ``[M]`` tensors."""
    return _masked_means_function().apply(values, mask)
