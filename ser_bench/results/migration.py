"""What results of an older schema cannot gain by migration, and why: told by ``ser-bench results check``
and ``results migrate``, so that a dash on a board has a reason a user can act on."""
from __future__ import annotations

# What each measurement needs that an older result does not hold.
NEEDS = {
    "retrieval": "retrieval and clustering of the embeddings (P@1, R-precision, MAP@R, NMI, AMI)",
    "invariance": "the speaker and corpus probes",
    "calibration": "calibration (ECE, Brier, NLL)",
}
WHY = ("they are computed from each split's test embeddings and class probabilities, which no result file "
       "stores")


def cannot_gain(older: list) -> list[str]:
    """Lines saying, for the successful ``older`` results (read by migrating them), which measurements they
    lack and cannot gain without recomputing, and how to recompute them; [] when none lacks any."""
    ok = [r for r in older if r.ok]
    lacking: dict = {}
    no_sex = 0
    for result in ok:
        extras = [s.metrics.extra or {} for s in result.splits]
        for part in NEEDS:
            if not any(part in e for e in extras):
                lacking.setdefault(part, []).append(result)
        if not any(any(v.get("sex") for v in (s.speakers or {}).values()) for s in result.splits):
            no_sex += 1
    if not lacking and not no_sex:
        return []
    lines = []
    if lacking:
        parts = "; ".join(f"{NEEDS[part]} ({len(results)} of {len(ok)})" for part, results in lacking.items())
        lines.append(f"cannot gain by migrating: {parts}: {WHY}.")
    if no_sex:
        gained = sum(1 for r in ok if any(s.speakers for s in r.splits))
        lines.append(f"cannot gain UAR by speaker sex ({no_sex} of {len(ok)}): the speakers' sex was not recorded"
                     + (f" ({gained} gain their held-out speaker's confusion matrix, from which pooled scores "
                        "are computed)" if gained else "") + ".")
    lines.append("To gain them, run the same grid again into the same folder: `ser-bench run` recomputes every "
                 "cell whose result is of an older schema (it keeps the others).")
    return lines
