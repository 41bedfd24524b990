"""Evaluation heads: how test clips get a class from the labelled support set.

``siamese`` is the paper's log-sum rule over P(same) and needs a Siamese encoder trained with a pair
loss; the others work on any embedding: nearest class ``prototype`` (mean support embedding),
``knn`` (majority of the 5 nearest support clips) and ``linear`` (a logistic-regression probe fitted on
the standardised support embeddings).
"""
from __future__ import annotations

from .decision import predict as siamese_predict


def _embed(model, x):
    import torch

    with torch.no_grad():
        return model.embed(x)


def prototype(model, x_test, x_support, y_support, n_classes, **_):
    """Nearest class mean of the support embeddings (Euclidean)."""
    import torch

    z_s, z_t = _embed(model, x_support), _embed(model, x_test)
    present = torch.unique(y_support)
    centres = torch.stack([z_s[y_support == c].mean(0) for c in present])
    return present[torch.cdist(z_t, centres).argmin(1)]


def knn(model, x_test, x_support, y_support, n_classes, k: int = 5, **_):
    """Majority vote of the ``k`` nearest support embeddings (ties: the nearest neighbour's class)."""
    import torch

    z_s, z_t = _embed(model, x_support), _embed(model, x_test)
    k = min(k, len(y_support))
    nearest = torch.cdist(z_t, z_s).topk(k, largest=False).indices
    votes = torch.zeros(len(z_t), n_classes).scatter_add_(1, y_support[nearest], torch.ones(len(z_t), k))
    votes[torch.arange(len(z_t)), y_support[nearest[:, 0]]] += 0.5
    return votes.argmax(1)


def linear(model, x_test, x_support, y_support, n_classes, **_):
    """Logistic regression on the standardised support embeddings."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    z_s, z_t = _embed(model, x_support).numpy(), _embed(model, x_test).numpy()
    labels = y_support.numpy()
    if len(set(labels)) == 1:
        return torch.full((len(z_t),), int(labels[0]))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(z_s, labels)
    return torch.as_tensor(probe.predict(z_t))


def siamese(model, x_test, x_support, y_support, n_classes, rule: str = "sum", **_):
    """The support-set log-sum rule of :mod:`ser_bench.decision`."""
    return siamese_predict(model, x_test, x_support, y_support, n_classes, rule)


HEADS = {"siamese": siamese, "prototype": prototype, "knn": knn, "linear": linear}


def get_head(registry, name: str):
    """The prediction function of head ``name``:
    ``predict(model, x_test, x_support, y_support, n_classes, rule=...) -> class index tensor``."""
    if name not in HEADS:
        from .errors import SerBenchError

        raise SerBenchError(f"unknown head {name!r}; heads are {', '.join(HEADS)}")
    return HEADS[name]


def incompatibility(head: str, loss_spec, encoder_spec) -> str | None:
    """Why ``head`` cannot evaluate this loss/encoder pair, or ``None`` when it can."""
    if head not in HEADS:
        return f"unknown head {head!r}; heads are {', '.join(HEADS)}"
    if encoder_spec.kind not in loss_spec.encoder_kinds:
        return (f"loss {loss_spec.name!r} trains {'/'.join(loss_spec.encoder_kinds)} encoders, "
                f"not the {encoder_spec.kind} encoder {encoder_spec.name!r}")
    if head == "siamese" and (encoder_spec.kind != "siamese" or loss_spec.output != "pair"):
        return (f"the siamese head needs a Siamese encoder trained with a pair loss; loss {loss_spec.name!r} "
                f"trains {loss_spec.output}s and encoder {encoder_spec.name!r} is {encoder_spec.kind}")
    return None
