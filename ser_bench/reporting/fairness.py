"""The board's section on fairness by speaker sex: UAR for female and male test speakers and the gap.

Speaker-balanced: a speaker's UAR is computed on that speaker's test clips (from the split's per-speaker
confusion matrix, ``SplitResult.speakers``), averaged over every split and seed that tests the speaker,
then averaged over the speakers of each sex, each speaker weighing the same; the gap (female − male) is
therefore not an artefact of one sex having more clips or more folds. Its 95 % interval comes from a
bootstrap over speakers, resampled within each sex (:mod:`ser_bench.reporting.bootstrap`): the claim
generalises over speakers, not clips. Only speakers whose corpus records their sex count.
"""
from __future__ import annotations

import math

import numpy as np

from ser_bench.reporting import md
from ser_bench.reporting.split_metrics import kept_splits, splits_by_row
from ser_bench.reporting.tidy import DASH, pair_name

SEXES = {"female": "female", "f": "female", "woman": "female", "male": "male", "m": "male", "man": "male"}


def speaker_uar(confusion) -> float:
    """Mean recall over the classes a speaker's test clips hold (rows of ``confusion`` with any clip)."""
    matrix = np.asarray(confusion, dtype=float)
    totals = matrix.sum(axis=1)
    present = totals > 0
    if not present.any():
        return math.nan
    return float(np.mean(np.diag(matrix)[present] / totals[present]))


def by_sex(results: list) -> dict:
    """``{(method, source, target): {"female": {speaker: UAR}, "male": {...}}}``: each speaker's UAR
    averaged over the splits that test it, for the methods whose splits record speakers with their sex."""
    if not any(s.speakers and any(v.get("sex") for v in s.speakers.values()) for _, s in kept_splits(results)):
        return {}
    seen: dict = {}
    for key, _, split in splits_by_row(results):
        for speaker, found in (split.speakers or {}).items():
            sex = SEXES.get(str(found.get("sex") or "").lower())
            uar = speaker_uar(found["confusion"])
            if sex is None or math.isnan(uar):
                continue
            seen.setdefault(key, {"female": {}, "male": {}})[sex].setdefault(speaker, []).append(uar)
    return {key: {sex: {spk: float(np.mean(v)) for spk, v in speakers.items()} for sex, speakers in found.items()}
            for key, found in seen.items()}


def _gap(female, male):
    return female.mean(axis=-1) - male.mean(axis=-1)


def gap_of(sexes: dict, interval: bool = True) -> dict:
    """The numbers of one row of :func:`by_sex`: ``uar_female``, ``uar_male`` (speaker-balanced means, NaN
    without speakers of that sex), ``speakers_female``, ``speakers_male``, ``sex_gap`` (female − male) and
    its bootstrap interval ``sex_gap_low``, ``sex_gap_high`` (NaN below two speakers of each sex, or
    without ``interval``)."""
    from ser_bench.reporting.bootstrap import stratified_interval

    female = np.asarray(list(sexes["female"].values()), dtype=float)
    male = np.asarray(list(sexes["male"].values()), dtype=float)
    mean_f = float(female.mean()) if len(female) else math.nan
    mean_m = float(male.mean()) if len(male) else math.nan
    lo, hi = stratified_interval([female, male], _gap) if interval else (math.nan, math.nan)
    return {"uar_female": mean_f, "uar_male": mean_m, "speakers_female": len(female), "speakers_male": len(male),
            "sex_gap": mean_f - mean_m, "sex_gap_low": lo, "sex_gap_high": hi}


def fairness_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "UAR by speaker sex" section; [] unless some split records speakers' sex."""
    from ser_bench.reporting.bootstrap import RESAMPLES

    found = by_sex(results)
    if not found:
        return []
    lines = ["## UAR by speaker sex", "",
             "UAR % of the female and of the male test speakers, speaker-balanced: each speaker's UAR on their own "
             "test clips, averaged over the splits and seeds that test them, then over the speakers of each sex "
             "(the count in brackets). The gap is female − male in UAR points" +
             (f", with a 95 % percentile interval from {RESAMPLES} bootstrap resamples of the speakers within each "
              "sex (it generalises over speakers; none below two speakers of each sex). An interval that excludes "
              "0 says the method serves one sex better on these speakers." if tests else " (means only, `--no-tests`).")
             + " Only speakers whose corpus records their sex count.", "",
             "| method | source → target | female | male | gap (f − m) |", "|---|---|---|---|---|"]
    for (method, source, target), sexes in found.items():
        row = gap_of(sexes, interval=tests)
        cells = [f"{100 * row[f'uar_{sex}']:.1f} ({row[f'speakers_{sex}']})" if row[f"speakers_{sex}"] else DASH
                 for sex in ("female", "male")]
        gap, lo = row["sex_gap"], row["sex_gap_low"]
        cells.append(DASH if math.isnan(gap) else f"{100 * gap:+.1f}" + (
            "" if math.isnan(lo) else f" [{100 * lo:+.1f}, {100 * row['sex_gap_high']:+.1f}]"))
        lines.append("| " + " | ".join([md.cell(method), md.cell(pair_name(source or None, target)), *cells]) + " |")
    return [*lines, ""]
