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
from ser_bench.reporting.validation_gap import far_above


def tuning_gap_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Tuning: validation against test" section; [] unless some result was tuned."""
    if not any(r.params.trials for r in ok_results(results)):
        return []
    from ser_bench.reporting.export import board_frame

    board = board_frame(results, tests=False, intervals=tests)
    rows = board[(board["level"] == "cell") & board["tuned"]]
    rows = rows[rows["validation_uar"].notna()]
    if rows.empty:
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
    for _, row in rows.iterrows():
        test_high = row["ci_high"] if tests else math.nan
        warn = far_above(row["validation_uar"], test_high)
        marked += warn
        lines.append("| " + " | ".join([
            md.cell(row["method"]), md.cell(row["pair"]), str(int(row["tuning_trials"])),
            _pct(row["validation_uar"]), _pct(row["validation_default_uar"]), _pct(row["uar"]),
            DASH if math.isnan(row["uar"]) else f"{100 * (row['validation_uar'] - row['uar']):+.1f}",
            "⚠" if warn else ""]) + " |")
    if tests:
        lines += ["", f"{marked} of {len(rows)} tuned rows have a validation UAR above their test interval."]
    return [*lines, ""]


def _pct(value: float) -> str:
    return DASH if math.isnan(value) else f"{100 * value:.1f}"
