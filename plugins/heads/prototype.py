"""prototype: nearest class mean of the support embeddings (Euclidean).

Snell, Swersky & Zemel (2017), Prototypical networks for few-shot learning, NeurIPS. Only classes
present in the support set have a prototype, so only they are predicted.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, **_):
    """Class of the nearest support-class mean embedding."""
    import torch

    from ser_bench.plugin_kit.helpers import embed

    z_s, z_t = embed(model, x_support), embed(model, x_test)
    present = torch.unique(y_support)
    centres = torch.stack([z_s[y_support == c].mean(0) for c in present])
    return present[torch.cdist(z_t, centres).argmin(1)]


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="prototype", predict=predict,
                     summary="nearest class mean of the support embeddings (Euclidean)",
                     reference="Snell, Swersky & Zemel (2017), Prototypical networks for few-shot learning")]
