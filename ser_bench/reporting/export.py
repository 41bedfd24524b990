"""The board as data: one row per method x setting x source x target, numeric columns only where a number
belongs. Every view (markdown, HTML, csv, json, parquet) is rendered from :func:`board_frame`.

Columns (the README's data dictionary lists them with their meaning):

- ``level``: ``cell`` (a summary-table cell: every few-shot k pooled) or ``k`` (few-shot by k and frozen
  layers); filter on it before aggregating, the two levels describe the same episodes twice.
- identity: ``protocol``, ``method`` (the full row label), ``loss``, ``variant``, ``source`` ("" when the
  protocol has none, IDT), ``target``, ``pair``, ``k``, ``frozen`` (NaN at level ``cell``).
- numbers: ``uar``, ``ci_low``, ``ci_high`` (fractions; the 95 % t-interval over ``n`` units of kind
  ``unit``; NaN with one unit), ``n``, ``unit``, ``p``, ``p_holm`` (paired test against the best row of
  the same level, protocol, pair, k and frozen; Holm over that group; NaN for the best row itself),
  ``best``, ``significant`` (``p_holm < 0.05``: worse than the best, corrected), ``detectable`` (the
  smallest difference from the best its test had 80 % power to detect, a fraction; inf where the test
  cannot reach p < 0.05, NaN untested), ``tuned``,
  ``tuning_trials``, ``validation_uar`` and ``validation_default_uar`` (tuned rows at level ``cell``: the
  validation UAR of the chosen and of the default settings, averaged over the row's cells; NaN otherwise),
  ``splits``, ``cells``.
- settings: ``encoder``, ``feature``, ``head``, ``decision``, ``normalise``, ``labels``, ``seeds``, and every
  key of the nested settings as ``loss_params.<key>``, ``training.<key>``, ``protocol_params.<key>``,
  ``encoder_params.<key>``, ``feature_params.<key>`` (an ssl model, its revision and hash, layers,
  pooling, dtype, device; lists as JSON text).

Without tests (``ser-bench leaderboard --no-tests``) the frame has no ``p``, ``p_holm``, ``best``,
``detectable``, ``significant``, ``ci_low`` or ``ci_high`` columns: nothing is tested and nothing is imported from scipy.

The CSV is made to be opened in a spreadsheet, so a text cell that a spreadsheet would run as a formula
(one beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: names and settings come from
result files, which anyone can edit) is written with a leading apostrophe, OWASP's advice against CSV
injection; numbers, negative ones included, are written as numbers.
"""
from __future__ import annotations

import json

from ser_bench.errors import SerBenchError
from ser_bench.reporting.columns import SPLIT_MEASURES
from ser_bench.reporting.stats import estimate, versus_best
from ser_bench.reporting.tidy import layouts, pair_name, per_split, split_rows
from ser_bench.reporting.validation_gap import GAP_COLUMNS, mean_of

ALPHA = 0.05
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula
NESTED_SETTINGS = ("loss_params", "training", "protocol_params", "encoder_params", "feature_params")
FLAT_SETTINGS = ("encoder", "feature", "head", "decision", "normalise")
FAIRNESS = ("uar_female", "uar_male", "speakers_female", "speakers_male", "sex_gap", "sex_gap_low", "sex_gap_high")
NO_FAIRNESS = dict.fromkeys(FAIRNESS, float("nan"))
NO_GAP = dict.fromkeys(GAP_COLUMNS, float("nan"))
GROUP = ["level", "protocol", "pair", "k", "frozen"]  # a family of comparisons against its best row


def _settings(result) -> dict:
    p = result.params
    out = {key: p.get(key, "") for key in FLAT_SETTINGS}
    out["labels"] = ",".join(p.labels)
    for key in NESTED_SETTINGS:
        for name, value in sorted((p.get(key) or {}).items()):
            out[f"{key}.{name}"] = json.dumps(value) if isinstance(value, (list, dict)) else value
    return out


def board_frame(results: list, tests: bool = True, intervals: bool = True):
    """The board of ``results`` (:class:`~ser_bench.results.record.Result`) as a DataFrame: see the module
    docstring for the columns. Rows are sorted by level, protocol, pair, k, frozen, then best UAR first.

    ``tests=False`` runs no paired test and leaves out ``p``, ``p_holm``, ``best`` and ``significant`` (the
    markdown board shows none of them); ``intervals=False`` leaves out ``ci_low`` and ``ci_high`` too."""
    import numpy as np
    import pandas as pd

    ok, frame = split_rows(results)
    by_cell = {r.cell_id: r for r in ok}
    rows = []
    levels = [("cell", frame, ["method", "source", "target"])]
    for protocol, layout in layouts(ok).items():
        axes = list(layout["breakdown"])
        broken = frame[frame["protocol"] == protocol] if axes else frame.iloc[:0]
        if not broken.empty:
            broken = broken.assign(**{axis: broken[axis].astype(int) for axis in axes})
            # by variant: the k-list a method was run with labels its summary row, not its per-k rows
            levels.append(("k", broken, ["variant", "source", "target", *axes]))
    measured = [c for c in SPLIT_MEASURES if frame[c].notna().any()]  # none for results that predate them
    fairness = _fairness(results, intervals) if measured or any(s.speakers for r in ok for s in r.splits) else {}
    for level, data, keys in levels:
        for key, group in data.groupby(keys, sort=False):
            est = estimate(group, interval=intervals)
            first = by_cell[group["cell_id"].iloc[0]]
            row = dict(zip(keys, key))
            rows.append({
                "level": level, "protocol": first.params.protocol, "method": group["method"].iloc[0],
                "loss": first.params.loss, "variant": group["variant"].iloc[0], "source": row["source"],
                "target": row["target"], "pair": pair_name(row["source"] or None, row["target"]),
                "k": float(row.get("k", np.nan)), "frozen": float(row.get("frozen", np.nan)),
                "uar": est.mean, "ci_low": est.lo, "ci_high": est.hi, "n": est.n, "unit": est.unit,
                "unit_values": est.values, "tuned": first.params.trials > 0, "tuning_trials": first.params.trials,
                "splits": len(group), "cells": group["cell_id"].nunique(),
                "seeds": ",".join(map(str, sorted(set(group["seed"])))), **_settings(first),
                **{axis: row[axis] for axis in keys[3:] if axis not in ("k", "frozen")},  # a plugin's own axes
                **_unit_means(group, measured),
                **(fairness.get((group["method"].iloc[0], row["source"], row["target"]), NO_FAIRNESS)
                   if level == "cell" else NO_FAIRNESS),
                **(mean_of([by_cell[c] for c in dict.fromkeys(group["cell_id"])]) if level == "cell" else NO_GAP),
            })
    board = pd.DataFrame(rows)
    if tests:
        board = _with_tests(board)
    if not intervals:
        board = board.drop(columns=["ci_low", "ci_high"])
    order = {"cell": 0, "k": 1}
    protocol_order = {protocol: layout["order"] for protocol, layout in layouts(ok).items()}
    board = board.assign(_l=board["level"].map(order), _p=board["protocol"].map(protocol_order))
    board = board.sort_values(["_l", "_p", "pair", "k", "frozen", "uar"], ascending=[True] * 5 + [False],
                              na_position="first", kind="stable")
    return board.drop(columns=["_l", "_p", "unit_values"]).reset_index(drop=True)


def _unit_means(group, measured: list) -> dict:
    """Each per-split measurement's mean over the row's unit, as UAR's (NaN where no split holds it, and for
    the columns not ``measured`` by any result)."""
    from ser_bench.reporting.split_metrics import measure_estimate

    base = per_split(group)  # once per row, not once per measurement
    out = dict.fromkeys(SPLIT_MEASURES, float("nan"))
    for column in measured:
        est = measure_estimate(base, column, interval=False)
        if est is not None:
            out[column] = est.mean
    return out


def _fairness(results: list, intervals: bool) -> dict:
    """``{(method, source, target): {"uar_female", "uar_male", "speakers_female", "speakers_male", "sex_gap",
    "sex_gap_low", "sex_gap_high"}}`` (see :mod:`ser_bench.reporting.fairness`)."""
    from ser_bench.reporting.fairness import by_sex, gap_of

    return {key: gap_of(sexes, interval=intervals) for key, sexes in by_sex(results).items()}


def _with_tests(board):
    """``p``, ``p_holm``, ``best``, ``detectable`` and ``significant`` for every row: each group's rows against
    its best."""
    import numpy as np

    found = {}
    for _, group in board.groupby(GROUP, dropna=False, sort=False):
        tests = versus_best(list(group["uar"]), list(group["unit_values"]), list(group["unit"]), detectable=True)
        found.update(zip(group.index, tests))
    best, p, p_holm, detectable = zip(*(found[i] for i in board.index))
    board = board.assign(p=np.array(p, dtype=float), p_holm=np.array(p_holm, dtype=float), best=list(best),
                         detectable=np.array(detectable, dtype=float))
    return board.assign(significant=board["p_holm"] < ALPHA)


def to_csv(results: list, tests: bool = True) -> str:
    """:func:`board_frame` as CSV (no index; empty cells for NaN); ``tests=False``: means only, without
    intervals or tests. Text that a spreadsheet would run as a formula is escaped (:func:`defuse_formulas`)."""
    import csv

    frame = defuse_formulas(board_frame(results, tests=tests, intervals=tests))
    # Python's csv quotes a field holding "\n" but not one holding a bare "\r", which spreadsheets read as a
    # line break: then every text field is quoted (a well-formed board has none, and keeps its bytes).
    text = [c for c in frame.columns if frame[c].dtype.kind == "O"]  # object or string columns
    if any("\r" in str(c) for c in frame.columns) or any(isinstance(v, str) and "\r" in v
                                                         for c in text for v in frame[c]):
        return frame.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)
    return frame.to_csv(index=False)


def defuse_formulas(frame):
    """``frame`` with every text cell that begins as a formula (:data:`FORMULA_STARTS`) prefixed with an
    apostrophe, which spreadsheets show as text and do not run; numbers are left as they are (``-0.5`` in a
    numeric column stays a number). The same frame when no cell needs it."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind != "O":  # numbers, true/false: never text
            continue
        risky = [isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values]
        if any(risky):
            out = out.copy() if out is frame else out
            out[column] = [f"'{v}" if r else v for v, r in zip(values, risky)]
    return out


def to_json(results: list, tests: bool = True) -> str:
    """:func:`board_frame` as a JSON array of row objects (NaN as null); ``tests=False`` as for :func:`to_csv`."""
    return board_frame(results, tests=tests, intervals=tests).to_json(orient="records", indent=1)


def write_parquet(results: list, path) -> None:
    """:func:`board_frame` as a Parquet file (needs pyarrow; an error saying how to get it otherwise)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SerBenchError("--format parquet needs pyarrow: pip install pyarrow (or use --format csv)") from None
    board_frame(results).to_parquet(path, index=False)
