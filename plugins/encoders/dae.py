"""dae: the denoising autoencoder of Das et al. (2022), trained semi-supervised.

Encoder d -> 40 -> 20 -> 10 -> latent (ReLU between, linear latent), mirrored decoder; during training
Gaussian noise (``noise`` standard deviations; features are z-normalised) corrupts the input. The
objective combines the reconstruction error on every clip it sees, labelled or not, with the metric
loss on the labelled ones as Das et al. do, through the log of their weighted sum:
log(w * L_reconstruction + (1 - w) * L_metric). In few-shot fine-tuning the unlabelled clips are the
chosen target speakers' other recordings (never the test speakers'). Das, A. et al. (2022), NLDL.
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

    def stack(sizes, last_activation):
        layers = []
        for n, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if n < len(sizes) - 2 or last_activation:
                layers.append(nn.ReLU())
        return layers

    from ser_bench.plugin_kit.helpers import block_encoder

    class DenoisingAutoencoder(block_encoder()):
        def __init__(self, input_dim: int, hidden=(40, 20, 10), latent: int = 8, noise: float = 0.1,
                     reconstruction_weight: float = 0.5) -> None:
            super().__init__()
            sizes = [input_dim, *hidden, latent]
            encoder = stack(sizes, last_activation=False)
            # Pair each Linear with its activation so that freezing "a layer" freezes both.
            self.blocks = nn.ModuleList(nn.Sequential(*encoder[i:i + 2]) for i in range(0, len(encoder), 2))
            self.decoder = nn.Sequential(*stack(sizes[::-1], last_activation=False))
            self.noise = noise
            self.reconstruction_weight = reconstruction_weight

        def embed(self, x):
            if self.training and self.noise > 0:
                x = x + self.noise * torch.randn_like(x)
            return super().embed(x)

        def combine_loss(self, x, metric_loss, unlabelled=None):
            clips = x if unlabelled is None else torch.cat([x, unlabelled])
            z = super().embed(clips + self.noise * torch.randn_like(clips))
            reconstruction = (self.decoder(z) - clips).pow(2).mean()
            w = self.reconstruction_weight
            return torch.log((w * reconstruction + (1 - w) * metric_loss).clamp_min(1e-8))

    return DenoisingAutoencoder


def build(input_dim: int, hidden=(40, 20, 10), latent: int = 8, noise: float = 0.1, reconstruction_weight: float = 0.5):
    """A fresh denoising autoencoder for ``input_dim`` features (88 for ``egemaps``)."""
    return module_class()(input_dim, tuple(hidden), latent, noise, reconstruction_weight)


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(
        name="dae", build=build, kind="embedding",
        params=defaults_of(build, "encoders"),
        summary="denoising autoencoder (Das et al.), reconstruction + metric loss, semi-supervised",
        reference="Das et al. (2022), NLDL",
    )]
