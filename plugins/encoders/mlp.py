"""mlp: a plain embedding network for the embedding losses (no pair decision part).

Linear(d, 64)-ReLU-Linear(64, 32)-ReLU-Linear(32, 16): the same sizes as the Siamese feature
extractor, without the last ReLU so the embedding can take any sign. The blocks are the layers that
few-shot fine-tuning may freeze.
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    from torch import nn

    from ser_bench.plugin_kit.helpers import block_encoder

    class EmbeddingMLP(block_encoder()):
        def __init__(self, input_dim: int, hidden=(64, 32, 16)) -> None:
            super().__init__()
            sizes = [input_dim, *hidden]
            blocks = []
            for n, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                last = n == len(sizes) - 2
                blocks.append(nn.Linear(a, b) if last else nn.Sequential(nn.Linear(a, b), nn.ReLU()))
            self.blocks = nn.ModuleList(blocks)

    return EmbeddingMLP


def build(input_dim: int, hidden=(64, 32, 16)):
    """A fresh embedding MLP for ``input_dim`` features."""
    return module_class()(input_dim, tuple(hidden))


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(name="mlp", build=build, kind="embedding", params=defaults_of(build, "encoders"), batchable=True,
                        search_space={"hidden": "[64,32,16]|[64,32,32]|[128,64,32]|[128,64,64]"},
                        summary="embedding MLP 64-32-16 for embedding and classifier losses")]
