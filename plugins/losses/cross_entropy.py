"""cross_entropy: the ordinary supervised reference, a softmax classifier on the embedding.

A linear layer (embedding -> classes) trained with cross-entropy; the layer belongs to the loss, so it
is optimised with the encoder. Evaluated by default with a linear probe on the support set, which for
OODT (support = the source) is the softmax classifier refitted on the same data.
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.model.twins import batched_twin
from ser_bench.plugin_api.types import LossSpec


@lru_cache(maxsize=None)
def module_class():
    import torch
    import torch.nn.functional as F

    class SoftmaxCrossEntropy(torch.nn.Module):
        def __init__(self, embedding_dim: int, num_classes: int, label_smoothing: float) -> None:
            super().__init__()
            self.classifier = torch.nn.Linear(embedding_dim, num_classes)
            self.label_smoothing = label_smoothing

        def forward(self, model, x, y):
            return F.cross_entropy(self.classifier(model.embed(x)), y, label_smoothing=self.label_smoothing)

        def batched(self, model, x, y):
            """The losses of M stacked models on ``[M, B, d]`` (see :mod:`ser_bench.model.batched`), each
            with the gradients ``forward`` gives that model alone."""
            from ser_bench.model.batched_losses import cross_entropy_mean

            return cross_entropy_mean(self.classifier(model.embed(x)), y, self.label_smoothing)

    return SoftmaxCrossEntropy


@batched_twin
def build(context, label_smoothing: float = 0.0):
    """Cross-entropy through a fresh linear classifier sized by the run's classes and embedding."""
    return module_class()(context.embedding_dim, context.num_classes, label_smoothing)


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="cross_entropy", build=build, params=defaults_of(build, "losses"), needs_context=True,
                     search_space={"label_smoothing": "0.0..0.3"}, output="embedding", default_head="linear",
                     encoder_kinds=("siamese", "embedding"),
                     summary="softmax classifier (cross-entropy), the supervised reference",
                     reference="the standard supervised baseline")]
