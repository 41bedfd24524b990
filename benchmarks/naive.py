"""Reference one-pair-at-a-time implementations, kept only to benchmark the vectorised ones against."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def naive_class_scores(model, x_query, x_support, y_support, n_classes):
    """The log-sum rule with one forward pass per (query, support) pair."""
    with torch.no_grad():
        scores = torch.zeros(len(x_query), n_classes)
        for q in range(len(x_query)):
            for s in range(len(x_support)):
                za, zb = model.embed(x_query[q:q + 1]), model.embed(x_support[s:s + 1])
                scores[q, y_support[s]] += F.logsigmoid(model.pair_logits(za, zb))[0]
        return scores


def naive_pair_bce(model, x, y):
    """Unbalanced pair BCE embedding both members of every pair separately."""
    losses = []
    for i in range(len(y)):
        for j in range(i + 1, len(y)):
            logit = model.pair_logits(model.embed(x[i:i + 1]), model.embed(x[j:j + 1]))
            losses.append(F.binary_cross_entropy_with_logits(logit, (y[i] == y[j]).float().reshape(1)))
    return torch.stack(losses).mean()
