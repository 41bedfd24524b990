"""prototype: nearest class mean of the support embeddings (Euclidean).

Snell, Swersky & Zemel (2017), Prototypical networks for few-shot learning, NeurIPS. Only classes
present in the support set have a prototype, so only they are predicted. Class probabilities: a softmax
over the negative distances to the class means, its temperature fitted on the support set scored
leave-one-out (each clip against the means recomputed without it).
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


def probabilities(model, x_test, x_support, y_support, n_classes, **_):
    """Softmax over the negative Euclidean distances to the class means, temperature fitted leave-one-out."""
    import torch

    from ser_bench.plugin_kit.helpers import embed, tempered_probabilities

    z_s, z_t = embed(model, x_support), embed(model, x_test)
    present = torch.unique(y_support)
    centres = torch.stack([z_s[y_support == c].mean(0) for c in present])  # as predict computes them
    counts = torch.stack([(y_support == c).sum() for c in present]).to(z_s.dtype)

    def scores(distances):
        out = torch.full((len(distances), n_classes), float("-inf"), dtype=distances.dtype, device=distances.device)
        out[:, present] = -distances
        return out

    def left_out(index):
        z = z_s[index]
        own = torch.searchsorted(present, y_support[index])  # the column of each clip's class
        n = counts[own][:, None]
        centre = (centres[own] * n - z) / (n - 1)  # its class mean without it (the class has >= 2 clips)
        distances = torch.cdist(z, centres)
        distances[torch.arange(len(z), device=z.device), own] = (z - centre).norm(dim=1)
        return scores(distances)

    return tempered_probabilities(scores(torch.cdist(z_t, centres)), y_support, left_out)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="prototype", predict=predict, probabilities=probabilities,
                     summary="nearest class mean of the support embeddings (Euclidean)",
                     calibration="softmax over negative distances to the class means, temperature fitted by "
                                 "leave-one-out on the support set",
                     reference="Snell, Swersky & Zemel (2017), Prototypical networks for few-shot learning")]
