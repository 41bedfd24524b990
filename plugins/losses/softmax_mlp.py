"""softmax_mlp: the softmax MLP reference, cross-entropy through a linear classifier on an MLP.

The same objective as ``cross_entropy`` (its factory is reused), but on the plain embedding ``mlp`` by
default rather than the Siamese MLP, and scored by a logistic-regression head on the support set.
A strong, simple baseline: a metric-learning loss earns its row by beating it.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import LossSpec

from .cross_entropy import build


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="softmax_mlp", build=build, params=defaults_of(build, "losses"), needs_context=True,
                     search_space={"label_smoothing": "0.0..0.3"}, default_encoder="mlp", default_head="linear",
                     encoder_kinds=("embedding", "siamese"),
                     output="embedding",
                     summary="baseline: softmax MLP (cross-entropy) with a logistic-regression head",
                     reference="the supervised reference; the baselines any SER paper should beat")]
