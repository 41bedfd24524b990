"""identity: the features themselves as the embedding (no network, nothing to train).

The encoder of the classical baselines (``logreg``, ``linear_svm``): their head fits a classifier on
the normalised features of the support set. It has no trainable parameters and no feature layers, so
few-shot settings that freeze layers beyond 0 fail with the usual "cannot freeze" error.
"""
from __future__ import annotations

from functools import lru_cache

from ser_bench import hookimpl
from ser_bench.plugin_api.types import EncoderSpec


@lru_cache(maxsize=None)
def module_class():
    from torch import nn

    class Identity(nn.Module):
        def embed(self, x):
            return x

        def forward(self, x):
            return x

        def feature_layers(self):
            return []

    return Identity


def build(input_dim: int):
    """An identity map on ``input_dim`` features (the size is not needed, only accepted)."""
    return module_class()()


@hookimpl
def ser_bench_encoders():
    return [EncoderSpec(name="identity", build=build, kind="embedding",
                        summary="the normalised features as they are (for the classical baselines)")]
