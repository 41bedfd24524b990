"""siamese-mlp: the Siamese network of Feng & Chaspari (2020).

Feature extractor g = Linear(d,64)-ReLU-Linear(64,32)-ReLU-Linear(32,16)-ReLU; decision part on a pair
|g(a) - g(b)| -> Linear(16,16)-ReLU -> Linear(16,1) -> sigmoid = P(same class). The three blocks of g
are the layers that few-shot fine-tuning may freeze (``feature_layers()``).
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    """The ``torch.nn.Module`` class, created on first use so that listing plugins never imports torch."""
    from torch import nn

    from ser_bench.plugin_kit.helpers import block_encoder

    class SiameseMLP(block_encoder()):
        """Siamese MLP: ``embed`` gives g(x), ``pair_logits`` the logit of P(same class) for pairs."""

        def __init__(self, input_dim: int, hidden=(64, 32, 16), decision_hidden: int = 16) -> None:
            super().__init__()
            sizes = [input_dim, *hidden]
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(sizes[:-1], sizes[1:])
            )
            self.decision = nn.Sequential(nn.Linear(sizes[-1], decision_hidden), nn.ReLU(),
                                          nn.Linear(decision_hidden, 1))

        def pair_logits(self, z_a, z_b):
            """Logits of P(same) for embeddings that broadcast against each other (e.g. (Q,1,d) and (1,S,d))."""
            return self.decision((z_a - z_b).abs()).squeeze(-1)

    return SiameseMLP


def build(input_dim: int, hidden=(64, 32, 16), decision_hidden: int = 16):
    """A fresh :class:`SiameseMLP` for ``input_dim`` features."""
    return module_class()(input_dim, tuple(hidden), decision_hidden)


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(
        name="siamese-mlp", build=build, kind="siamese", batchable=True, default=True,
        params=defaults_of(build, "encoders"),
        # The last size is the embedding the losses shape; the paper's 64-32-16 is the first option.
        search_space={"hidden": "[64,32,16]|[64,32,32]|[128,64,32]|[128,64,64]"},
        summary="Siamese MLP 64-32-16 with a 16-unit decision layer on |g(a)-g(b)|",
        reference="Feng & Chaspari (2020), A Siamese Neural Network with Modified Distance Loss "
                  "for Transfer Learning in Speech Emotion Recognition",
    )]
