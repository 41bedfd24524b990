"""Building blocks for encoder plugins (created on first use: importing this module never imports torch)."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def block_encoder():
    """Base class for encoders made of ``self.blocks``, a ``ModuleList`` applied in order.

    It provides ``embed`` (and ``forward``) and ``feature_layers`` (the blocks, which few-shot
    fine-tuning may freeze from the first one on). Subclass it inside your factory::

        class MyEncoder(block_encoder()):
            def __init__(self, input_dim):
                super().__init__()
                self.blocks = nn.ModuleList([nn.Linear(input_dim, 16)])
    """
    from torch import nn

    class BlockEncoder(nn.Module):
        def embed(self, x):
            for block in self.blocks:
                x = block(x)
            return x

        def forward(self, x):
            return self.embed(x)

        def feature_layers(self):
            return list(self.blocks)

    return BlockEncoder
