"""Batched twins of the built-in losses: an optimisation inside ser-bench, not part of the plugin contract.

A built-in loss whose factory is marked with :func:`batched_twin` builds an object that also has
``batched(model, x, y) -> Tensor[M]``: the losses of M models trained together
(:mod:`ser_bench.model.batched`), with ``model`` the M stacked encoders, ``x`` of shape ``[M, B, d]`` and
``y`` ``[M, B, ...]``, whose gradients are bit for bit those each model gets from ``loss(model_m, x_m,
y_m)`` alone; a loss that is a module has its parameters in ``nn.Linear`` layers only, and the loss draws
no random numbers (a sampled pair would change with the batching). ``check_loss`` trains such a loss
both ways and compares the weights. Training is batched where the encoder is batchable too
(``EncoderSpec.batchable``); any other loss trains one model at a time, with the same numbers.

This module imports nothing, so that marking a factory costs a plugin nothing at start-up.
"""
from __future__ import annotations


def batched_twin(build):
    """Mark a loss factory whose built object has a bit-for-bit ``batched`` twin (see the module)."""
    build.has_batched_twin = True
    return build


def has_batched_twin(spec) -> bool:
    """Whether the loss ``spec`` builds an object with a batched twin and trains by gradient."""
    return bool(getattr(spec.build, "has_batched_twin", False)) and spec.trains
