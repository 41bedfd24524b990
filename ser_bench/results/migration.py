"""Reading results of an older schema: the migrations from each schema to the next (:data:`MIGRATIONS`,
applied by :meth:`ser_bench.results.record.Result.from_json`), and what such results cannot gain by
migration, and why (told by ``ser-bench results check`` and ``results migrate``, so that a dash on a board
has a reason a user can act on)."""
from __future__ import annotations

from typing import Callable


def _from_1(payload: dict) -> dict:
    """Schema 1 (ser-bench 0.1) -> 2: splits did not record their loss state, support counts or episode
    hash. Nothing is invented: the missing fields stay absent (``None``), which every reader treats as
    "not recorded"; only the version moves."""
    return {**payload, "schema_version": 2}


def _from_2(payload: dict) -> dict:
    """Schema 2 -> 3: splits did not record their test set by speaker, nor embedding, calibration or
    invariance measurements. What the file already holds is carried over: a split whose test set is one
    held-out speaker (``info.test_speaker``, IDT's folds) has that speaker's confusion matrix, which is the
    split's own (the speaker's sex was not recorded, so it stays unknown). Nothing else is invented."""
    splits = payload.get("splits")
    if isinstance(splits, list):
        splits = [_one_speaker(s) for s in splits]
        payload = {**payload, "splits": splits}
    return {**payload, "schema_version": 3}


def _one_speaker(split):
    if not isinstance(split, dict) or "speakers" in split:
        return split
    speaker = (split.get("info") or {}).get("test_speaker") if isinstance(split.get("info"), dict) else None
    confusion = (split.get("metrics") or {}).get("confusion") if isinstance(split.get("metrics"), dict) else None
    if speaker is None or not confusion or isinstance(speaker, (dict, list)):
        return split
    return {**split, "speakers": {str(speaker): {"confusion": confusion}}}


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _from_1, 2: _from_2}  # from version N to N + 1


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
