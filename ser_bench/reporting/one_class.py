"""The board's section on splits whose predictions fell on a single emotion.

A model (or its head) that gives every test clip the same emotion scores a UAR of exactly chance on a
test set holding every class: its mean UAR then looks like a weak method where it is a failed one. Such
splits stay in every mean, interval, test and rank (they are what the run produced, and leaving them out
would flatter the method); this section names them, per row and seed, so that a reader can tell one
collapsed seed from a method that is uniformly weak. Read off each split's confusion matrix: no
retraining, and results of every schema that recorded one.
"""
from __future__ import annotations

import numpy as np

from ser_bench.reporting import md
from ser_bench.reporting.split_metrics import kept_splits, splits_by_row
from ser_bench.reporting.tidy import pair_name


def predicted_one_class(confusion) -> bool:
    """True when every test clip was predicted as the same class while the test set holds two or more
    (rows of ``confusion`` are true classes, columns predicted ones); False without a matrix."""
    if not confusion:
        return False
    matrix = np.asarray(confusion, dtype=float)
    return int((matrix.sum(axis=1) > 0).sum()) >= 2 and int((matrix.sum(axis=0) > 0).sum()) == 1


def one_class_rows(results: list) -> dict:
    """``{(method, source, target): {"splits": n on one class, "of": n splits, "seeds": [seeds]}}`` for the
    board's rows with at least one such split, in the board's order of first appearance."""
    if not any(predicted_one_class(split.metrics.confusion) for _, split in kept_splits(results)):
        return {}
    found: dict = {}
    for key, result, split in splits_by_row(results):
        row = found.setdefault(key, {"splits": 0, "of": 0, "seeds": set()})
        row["of"] += 1
        if predicted_one_class(split.metrics.confusion):
            row["splits"] += 1
            row["seeds"].add(result.params.seed)
    return {key: {**row, "seeds": sorted(row["seeds"])} for key, row in found.items() if row["splits"]}


def one_class_section(results: list) -> list[str]:
    """Markdown lines of the "Predictions on a single emotion" section; [] when no split's predictions
    fell on one class."""
    rows = one_class_rows(results)
    if not rows:
        return []
    lines = ["## Predictions on a single emotion", "",
             "In these splits every test clip was given the same emotion: the model collapsed onto one class, and "
             "the split's UAR is chance by construction. They stay in every mean, interval, test and rank above, "
             "as the run produced them; a row that has them is less reliable than its mean says, and its seeds "
             "show whether one source model or all of them failed.", "",
             "| method | source → target | splits on one emotion | seeds |", "|---|---|---|---|"]
    for (method, source, target), row in rows.items():
        lines.append("| " + " | ".join([md.cell(method), md.cell(pair_name(source or None, target)),
                                         f"{row['splits']} of {row['of']}",
                                         ", ".join(str(seed) for seed in row["seeds"])]) + " |")
    return [*lines, ""]
