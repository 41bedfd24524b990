"""layer-weighted: a learnable weighted sum over a model's layers, then an embedding MLP (SUPERB-style).

For ``--feature ssl --feature-param ssl.layers=stack``: the features hold every layer's pooled vector,
one after the other; the encoder mixes them with softmax-normalised weights (one per layer, all equal
at the start) and embeds the mix with the MLP of ``mlp`` (64-32-16). It is trained by the cell's loss
on the stored features, with no new extraction. ``layers`` (the layer indices the features stack) is
filled from the cell's ssl feature; with any other feature there is one "layer" and the encoder is
the plain MLP. The first block (the weights and the first layer of the MLP) is what few-shot
fine-tuning freezes first.
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    import torch
    from torch import nn

    from ser_bench.plugin_kit.helpers import block_encoder

    class LayerMix(nn.Module):
        """(batch, layers x width) -> (batch, width): the softmax(weights)-weighted sum of the layer blocks."""

        def __init__(self, layers: int) -> None:
            super().__init__()
            self.layers = layers
            self.weights = nn.Parameter(torch.zeros(layers))

        def forward(self, x):
            blocks = x.reshape(x.shape[0], self.layers, -1)
            return (torch.softmax(self.weights, 0)[None, :, None] * blocks).sum(1)

    class LayerWeighted(block_encoder()):
        def __init__(self, input_dim: int, layers: int, hidden=(64, 32, 16)) -> None:
            super().__init__()
            if input_dim % layers:
                raise ValueError(f"layer-weighted: {input_dim} features do not split into {layers} equal layers")
            sizes = [input_dim // layers, *hidden]
            blocks = []
            for n, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                last = n == len(sizes) - 2
                blocks.append(nn.Linear(a, b) if last else nn.Sequential(nn.Linear(a, b), nn.ReLU()))
            blocks[0] = nn.Sequential(LayerMix(layers), blocks[0])
            self.blocks = nn.ModuleList(blocks)

        def layer_weights(self):
            """The learnt mix: one weight per layer, summing to 1."""
            return torch.softmax(self.blocks[0][0].weights.detach(), 0)

    return LayerWeighted


def build(input_dim: int, layers=(), hidden=(64, 32, 16)):
    """A fresh encoder for ``input_dim`` features stacking ``len(layers)`` layers (none given: one)."""
    return module_class()(input_dim, max(1, len(layers)), tuple(hidden))


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(
        name="layer-weighted", build=build, kind="embedding", params=defaults_of(build, "encoders"),
        search_space={"hidden": "[64,32,16]|[128,64,32]"},
        summary="learnable softmax-weighted sum over stacked ssl layers, then an MLP 64-32-16",
        reference="Yang et al. (2021), SUPERB: Speech processing Universal PERformance Benchmark",
    )]
