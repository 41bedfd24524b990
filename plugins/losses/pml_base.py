"""Shared adapter from pytorch-metric-learning losses, miners and distances to ser-bench losses.

A ser-bench loss is ``loss(model, x, y)``; a pytorch-metric-learning (PML) loss is
``loss(embeddings, labels, indices_tuple)``. :func:`make_pml_loss` builds the PML objects by name and
wraps them in a ``torch.nn.Module``, so losses with their own weights (ArcFace-style proxies) are
optimised with the encoder.
"""
from __future__ import annotations

import difflib
import inspect
from functools import lru_cache

from ser_bench.errors import SerBenchError


def _lookup(module, name: str, what: str):
    if not name or not hasattr(module, name) or not inspect.isclass(getattr(module, name)):
        names = sorted(n for n in dir(module) if inspect.isclass(getattr(module, n)) and not n.startswith("Base"))
        close = difflib.get_close_matches(name or "", names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise SerBenchError(f"pytorch-metric-learning has no {what} {name!r}.{hint} Available: {', '.join(names)}")
    return getattr(module, name)


@lru_cache(maxsize=None)
def wrapper_class():
    """The ``torch.nn.Module`` wrapper, created on first use (listing plugins must not import torch)."""
    import torch

    class PMLLoss(torch.nn.Module):
        """Embeds the batch once, mines tuples if a miner is set, applies the PML loss."""

        def __init__(self, loss, miner=None) -> None:
            super().__init__()
            self.loss = loss
            self.miner = miner

        def forward(self, model, x, y):
            z = model.embed(x)
            if len(y) < 2:
                return z.sum() * 0.0
            tuples = self.miner(z, y) if self.miner is not None else None
            return self.loss(z, y, tuples)

    return PMLLoss


def make_pml_loss(loss_name: str, loss_params: dict | None = None, *, context=None, distance: str | None = None,
                  distance_params: dict | None = None, miner: str | None = None, miner_params: dict | None = None):
    """A ser-bench loss from PML class names and keyword parameters.

    ``num_classes`` and ``embedding_size`` are filled from ``context`` when the PML loss asks for them.
    """
    from pytorch_metric_learning import distances, losses, miners

    cls = _lookup(losses, loss_name, "loss")
    kwargs = dict(loss_params or {})
    wanted = inspect.signature(cls.__init__).parameters
    if context is not None:
        if "num_classes" in wanted:
            kwargs.setdefault("num_classes", context.num_classes)
        if "embedding_size" in wanted:
            kwargs.setdefault("embedding_size", context.embedding_dim)
    if distance:
        kwargs["distance"] = _lookup(distances, distance, "distance")(**(distance_params or {}))
    try:
        loss = cls(**kwargs)
        mined = _lookup(miners, miner, "miner")(**(miner_params or {})) if miner else None
    except TypeError as exc:
        raise SerBenchError(f"bad parameters for {loss_name}: {exc}") from None
    return wrapper_class()(loss, mined)


# The spec parameters that choose PML's distance and miner; every other one goes to the PML loss.
_ADAPTER_PARAMS = ("distance", "distance_params", "miner", "miner_params")


def pml_loss_spec(name: str, pml_class: str, defaults: dict, *, distance: str, miner: str | None = None,
                  miner_params: dict | None = None, summary: str, reference: str, search_space: dict | None = None):
    """A :class:`~ser_bench.plugin_api.types.LossSpec` for one PML loss with its default distance and miner.

    The spec's parameters are the PML loss's keyword arguments plus ``distance``, ``distance_params``,
    ``miner`` and ``miner_params`` (class names and keyword arguments from pytorch-metric-learning).
    ``search_space`` holds the ranges ``run --tune`` searches (see :mod:`ser_bench.plugin_api.search`).

    The table row is the one source of the defaults: they become the spec's ``params`` and the factory
    starts from them, so ``build()`` alone means the declared defaults (not PML's own, which differ,
    e.g. the triplet margin) and ``build(margin=0.5)`` changes only the margin.
    """
    from ser_bench.plugin_api.types import LossSpec

    params = {**defaults, "distance": distance, "distance_params": {}, "miner": miner,
              "miner_params": dict(miner_params or {})}

    def build(**given):
        chosen = {**params, **given}
        return make_pml_loss(pml_class, {k: v for k, v in chosen.items() if k not in _ADAPTER_PARAMS},
                             **{k: chosen[k] for k in _ADAPTER_PARAMS})

    return LossSpec(name=name, build=build, params=params, output="embedding", default_head="prototype",
                    encoder_kinds=("siamese", "embedding"), summary=summary, reference=reference,
                    search_space=dict(search_space or {}))
