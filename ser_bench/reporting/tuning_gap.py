"""The board's section on tuned rows: the validation UAR of the settings tuning chose, beside their test UAR.

Tuning keeps the trial with the best validation UAR (``tuning.best_value`` of each cell). That number is
optimistic twice over: it is the largest of N noisy scores (the more trials, the more it owes to luck),
and validation speakers may be unlike the test speakers (out of domain, held-out *source* speakers
validate a model tested on another corpus). The test UAR is the honest figure; the gap between the two
says how far the choice carried. A row whose validation UAR lies above the upper end of its test UAR's
95 % interval (the summary table's interval, over the same unit) is marked: the settings were chosen on
numbers the test speakers do not reproduce, and a reader should not trust that tuning helped there
without a tuned-against-default comparison on the test speakers.

The validation UAR of a row is the mean over its cells (one per source seed) of each cell's
``best_value``; with the defaults' own validation UAR (``default_value``, the first trial) beside it, the
gain tuning saw on validation can be read against what the test shows.
"""
from __future__ import annotations

import math

from ser_bench.reporting import md
from ser_bench.reporting.tidy import DASH, ok_results
from ser_bench.reporting.validation_gap import far_above, mean_of


def tuning_gap_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Tuning: validation against test" section; [] unless some result was tuned."""
    rows = gap_rows(results, tests)
    if not rows:
        return []
    lines = ["## Tuning: validation against test", "",
             "For each tuned row: the validation UAR % of the settings tuning chose (the best of its trials, "
             "averaged over the row's cells), the validation UAR of the default settings (its first trial), "
             "and the test UAR of the summary table. The best of many noisy validation scores is optimistic, "
             "and validation speakers can differ from the test speakers (out of domain they are held-out "
             "source speakers), so the test UAR is the figure to quote; the gap is validation − test in UAR "
             "points." + (" ⚠ marks a row whose chosen validation UAR lies above the upper end of its test "
                          "UAR's 95 % interval: the choice did not carry to the test speakers, and tuning "
                          "cannot be credited there without a tuned-against-default test on them."
                          if tests else " (means only, `--no-tests`: nothing is marked)."), "",
             "| method | source → target | trials | validation (chosen) | validation (defaults) | test | gap | |",
             "|---|---|---|---|---|---|---|---|"]
    marked = 0
    for row in rows:
        warn = far_above(row["validation_uar"], row["test_high"])
        marked += warn
        lines.append("| " + " | ".join([
            md.cell(row["method"]), md.cell(row["pair"]), str(row["trials"]), _pct(row["validation_uar"]),
            _pct(row["validation_default_uar"]), _pct(row["test"]),
            DASH if math.isnan(row["test"]) else f"{100 * (row['validation_uar'] - row['test']):+.1f}",
            "⚠" if warn else ""]) + " |")
    if tests:
        lines += ["", f"{marked} of {len(rows)} tuned rows have a validation UAR above their test interval."]
    return [*lines, ""]


def gap_rows(results: list, tests: bool = True) -> list[dict]:
    """One dict per tuned row of the summary table (method, source → target), in the board's order
    (protocol, pair, best test UAR first): ``method``, ``pair``, ``trials``, ``validation_uar``,
    ``validation_default_uar``, ``test`` and ``test_high`` (the upper end of its 95 % interval; NaN
    without ``tests`` or with one unit). Only the test UAR is estimated: nothing else of the board is."""
    from ser_bench.reporting.stats import estimate
    from ser_bench.reporting.tidy import layouts, pair_name, split_rows

    if not any(r.params.trials for r in ok_results(results)):
        return []
    ok, frame = split_rows(results)
    tuned = {r.cell_id: r for r in ok if r.params.trials}
    frame = frame[frame["cell_id"].isin(tuned)]
    order = {protocol: layout["order"] for protocol, layout in layouts(ok).items()}
    rows = []
    for (method, source, target), group in frame.groupby(["method", "source", "target"], sort=False):
        cells = [tuned[c] for c in dict.fromkeys(group["cell_id"])]
        seen = mean_of(cells)
        if math.isnan(seen["validation_uar"]):
            continue
        est = estimate(group, interval=tests)
        rows.append({"method": method, "pair": pair_name(source or None, target), "trials": cells[0].params.trials,
                     **seen, "test": est.mean, "test_high": est.hi, "_order": order[cells[0].params.protocol]})
    rows.sort(key=lambda r: (r["_order"], r["pair"], -r["test"]))  # stable: ties keep the frame's order
    return [{k: v for k, v in r.items() if k != "_order"} for r in rows]


def _pct(value: float) -> str:
    return DASH if math.isnan(value) else f"{100 * value:.1f}"
