"""Which scoring a cell's result gets: each split's UAR averaged over the board's unit (per-split: in IDT,
per held-out speaker), or one UAR over the predictions of every fold (pooled, with a bootstrap over test
speakers; :mod:`ser_bench.reporting.pooled`). Recorded in every result (``Result.scoring``), said by the run
whenever it is not the default, never chosen silently."""
from __future__ import annotations

# Protocols whose folds hold out groups of speakers and together test every speaker once (IDT, speaker
# folds): the layouts whose unit is several splits per seed. Pooling their folds' predictions is UAR over
# the corpus; pooling few-shot episodes (which test the same speakers again and again) would not be.
POOLABLE_UNITS = ("held-out speakers", "folds")


def choose_scoring(splits, layout: dict) -> dict:
    """``{"rule": "per-split" | "pooled", "why": ...}`` for a cell's ``splits`` under its protocol's board
    ``layout``: pooled where the protocol's folds hold out speakers and some fold's test set lacks a class of
    the label set (its UAR, over fewer classes, could not enter a per-split mean), else per-split."""
    lacking = [s for s in splits if s.missing_test_classes]
    if not lacking:
        return {"rule": "per-split", "why": "every split's test set covers every class"}
    if layout.get("unit") not in POOLABLE_UNITS or not all(s.speakers for s in splits):
        return {"rule": "per-split", "why": f"{len(lacking)} of {len(splits)} splits' test sets lack some class and "
                "are left out; this protocol's splits do not each hold out speakers once, so they are not pooled"}
    return {"rule": "pooled", "why": f"{len(lacking)} of {len(splits)} folds' test sets lack some class (their "
            "speakers were not heard in every emotion): UAR is computed over the predictions of every fold, "
            "with an interval from a bootstrap over test speakers"}
