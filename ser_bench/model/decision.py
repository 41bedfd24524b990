"""The support-set decision rule for Siamese encoders (Feng & Chaspari 2020).

The score of class c for a query q is the sum ("sum", the paper's log-sum) or the mean ("mean") over
support samples s of class c of log P(same | q, s); the prediction is the argmax. All query-support
pairs are scored as one tensor operation per block of queries.
"""
from __future__ import annotations

RULES = ("sum", "mean")


def class_scores(model, x_query, x_support, y_support, n_classes: int, rule: str = "sum",
                 block: int = 256):
    """``(Q, n_classes)`` scores; a class without support samples scores ``-inf``."""
    import torch
    import torch.nn.functional as F

    if rule not in RULES:
        raise ValueError(f"decision rule must be one of {RULES}, not {rule!r}")
    with torch.no_grad():
        z_s = model.embed(x_support)
        counts = torch.bincount(y_support, minlength=n_classes).to(z_s.dtype)
        out = []
        for start in range(0, len(x_query), block):
            z_q = model.embed(x_query[start:start + block])
            logp = F.logsigmoid(model.pair_logits(z_q[:, None, :], z_s[None, :, :]))  # (q, S)
            scores = torch.zeros(len(z_q), n_classes, dtype=logp.dtype).index_add_(1, y_support, logp)
            if rule == "mean":
                scores = scores / counts.clamp_min(1)
            out.append(scores.masked_fill(counts == 0, float("-inf")))
        return torch.cat(out) if out else torch.zeros(0, n_classes)


def predict(model, x_query, x_support, y_support, n_classes: int, rule: str = "sum"):
    """Predicted class index of each query."""
    return class_scores(model, x_query, x_support, y_support, n_classes, rule).argmax(1)
