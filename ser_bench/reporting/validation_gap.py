"""The validation UAR tuning saw, per result and per board row (:mod:`ser_bench.reporting.tuning_gap`
shows it on the board; :mod:`ser_bench.reporting.export` exports it)."""
from __future__ import annotations

import math

GAP_COLUMNS = ("validation_uar", "validation_default_uar")


def tuned_values(result) -> dict:
    """``{"validation_uar", "validation_default_uar"}`` of one result (fractions; NaN when the result was
    not tuned or its tuning recorded no such value)."""
    found = (result.tuning or {}) if result.params.trials else {}
    return {"validation_uar": _fraction(found.get("best_value")),
            "validation_default_uar": _fraction(found.get("default_value"))}


def mean_of(results: list) -> dict:
    """:func:`tuned_values` averaged over ``results`` (the cells of one board row), NaN where none has it."""
    out = {}
    for column in GAP_COLUMNS:
        values = [v for v in (tuned_values(r)[column] for r in results) if not math.isnan(v)]
        out[column] = sum(values) / len(values) if values else math.nan
    return out


def far_above(validation: float, test_high: float) -> bool:
    """Whether a validation UAR lies above the upper end of the test UAR's 95 % interval."""
    return not (math.isnan(validation) or math.isnan(test_high)) and validation > test_high


def _fraction(value) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)
