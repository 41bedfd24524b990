"""knn: majority vote of the k nearest support embeddings (Euclidean).

Ties go to the class of the single nearest support clip (it gets half a vote more). Only classes in
the support set receive votes, so only they are predicted; k shrinks to the support size.

Class probabilities: a softmax over those votes (the half vote included), so that their argmax is the
vote's winner (a softmax over distances would follow the nearest clips, not the majority), with a
temperature fitted on the support set scored leave-one-out (each clip's k nearest among the others).
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import HeadSpec


def _votes(distances, y_support, n_classes, k):
    """``(queries, n_classes)`` votes of the ``k`` nearest support clips, the nearest one's class +0.5."""
    import torch

    nearest = distances.topk(k, largest=False).indices
    on = distances.device  # the model's device (run --device)
    votes = torch.zeros(len(distances), n_classes, device=on).scatter_add_(1, y_support[nearest],
                                                                           torch.ones(len(distances), k, device=on))
    votes[torch.arange(len(distances), device=on), y_support[nearest[:, 0]]] += 0.5
    return votes


def predict(model, x_test, x_support, y_support, n_classes, k: int = 5, **_):
    """Majority class of the ``k`` nearest support clips (ties: the nearest clip's class)."""
    import torch

    from ser_bench.plugin_kit.helpers import embed

    z_s, z_t = embed(model, x_support), embed(model, x_test)
    return _votes(torch.cdist(z_t, z_s), y_support, n_classes, min(int(k), len(y_support))).argmax(1)


def probabilities(model, x_test, x_support, y_support, n_classes, k: int = 5, **_):
    """Softmax over the votes of :func:`predict`, temperature fitted leave-one-out."""
    import torch

    from ser_bench.plugin_kit.helpers import embed, tempered_probabilities

    z_s, z_t = embed(model, x_support), embed(model, x_test)
    absent = torch.bincount(y_support, minlength=n_classes) == 0

    def scores(votes):
        return votes.masked_fill(absent.to(votes.device), float("-inf"))

    def left_out(index):
        distances = torch.cdist(z_s[index], z_s)
        distances[torch.arange(len(index), device=distances.device), index] = float("inf")  # not itself
        return scores(_votes(distances, y_support, n_classes, min(int(k), len(y_support) - 1)))

    votes = _votes(torch.cdist(z_t, z_s), y_support, n_classes, min(int(k), len(y_support)))
    return tempered_probabilities(scores(votes), y_support, left_out)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="knn", predict=predict, params=defaults_of(predict, "heads"), search_space={"k": "1..15:int"},
                     probabilities=probabilities,
                     calibration="softmax over the k nearest neighbours' votes (the nearest clip's half vote "
                                 "included), temperature fitted by leave-one-out on the support set",
                     summary="majority of the k nearest support embeddings (k = 5)",
                     reference="Cover & Hart (1967), Nearest neighbor pattern classification")]
