"""knn: majority vote of the k nearest support embeddings (Euclidean).

Ties go to the class of the single nearest support clip (it gets half a vote more). Only classes in
the support set receive votes, so only they are predicted; k shrinks to the support size.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, k: int = 5, **_):
    """Majority class of the ``k`` nearest support clips (ties: the nearest clip's class)."""
    import torch

    from ser_bench.plugin_kit.helpers import embed

    z_s, z_t = embed(model, x_support), embed(model, x_test)
    k = min(int(k), len(y_support))
    nearest = torch.cdist(z_t, z_s).topk(k, largest=False).indices
    on = z_t.device  # the model's device (run --device)
    votes = torch.zeros(len(z_t), n_classes, device=on).scatter_add_(1, y_support[nearest],
                                                                     torch.ones(len(z_t), k, device=on))
    votes[torch.arange(len(z_t), device=on), y_support[nearest[:, 0]]] += 0.5
    return votes.argmax(1)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="knn", predict=predict, params=defaults_of(predict, "heads"), search_space={"k": "1..15:int"},
                     summary="majority of the k nearest support embeddings (k = 5)",
                     reference="Cover & Hart (1967), Nearest neighbor pattern classification")]
