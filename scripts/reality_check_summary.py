"""Summarise results/reality-check/: tuned against default per method, what tuning saw on validation
against what the test shows, the ratio loss against its base once both are tuned, and average ranks of
the tuned methods; one leaderboard per case.

    python scripts/reality_check_summary.py results/reality-check

Writes ``<folder>/<case>/LEADERBOARD.md`` and ``<folder>/SUMMARY.md``, and prints the summary. Every
difference is paired on the unit a claim generalises over (source seeds for transfer, each seed's value
the mean over its episodes and k; held-out speakers for in-domain), tested with a one-sample t-test on
the paired differences, and Holm-corrected over every comparison of its table.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import ttest_1samp

from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.ranks import rank_analysis
from ser_bench.reporting.stats import estimate, holm_adjust, unit_values
from ser_bench.reporting.tidy import tidy
from ser_bench.reporting.validation_gap import far_above, tuned_values
from ser_bench.results.store import load_results
from ser_bench.results.summary import mean_ci95

PROTOCOLS = ("oodt", "fewshot", "idt")


def paired(a_rows, b_rows) -> dict | None:
    """``b - a`` over the units both have: mean, 95 % CI, t-test p, n and the unit."""
    a, unit = unit_values(a_rows)
    b, _ = unit_values(b_rows)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return None
    d = (b.loc[common] - a.loc[common]).to_numpy(dtype=float)
    mean, lo, hi = mean_ci95(d)
    p = float(ttest_1samp(d, 0.0).pvalue) if len(d) >= 2 and np.std(d) > 0 else math.nan
    return {"mean": mean, "lo": lo, "hi": hi, "p": p, "n": len(d), "unit": unit}


def pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def signed(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:+.1f}"


def fmt_p(p: float) -> str:
    return "–" if math.isnan(p) else (f"{p:.3f}" if p >= 0.001 else "<0.001")


def comparison_table(rows: list[dict], left: str, right: str) -> list[str]:
    """Markdown rows of paired comparisons, with Holm-corrected p over the whole table."""
    adjusted = holm_adjust([r["diff"]["p"] for r in rows])
    out = [f"| case | protocol | method | {left} | {right} | difference [95 % CI] | n | p | p (Holm) |",
           "|---|---|---|---:|---:|---|---|---:|---:|"]
    for r, p_holm in zip(rows, adjusted):
        d = r["diff"]
        mark = " *" if not math.isnan(p_holm) and p_holm < 0.05 else ""
        out.append(f"| {r['case']} | {r['protocol']} | {r['method']} | {pct(r['a'])} | {pct(r['b'])} | "
                   f"{signed(d['mean'])} [{signed(d['lo'])}, {signed(d['hi'])}] | {d['n']} {d['unit']} | "
                   f"{fmt_p(d['p'])} | {fmt_p(p_holm)}{mark} |")
    return out


def main(folder: Path) -> str:
    frames, tuned_vs_default, ratio_vs_base, budgets = {}, [], [], set()
    for case_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        results = load_results(case_dir)
        if not results:
            continue
        (case_dir / "LEADERBOARD.md").write_text(to_markdown(results, title=f"Reality check: {case_dir.name}"))
        frame = tidy(results)
        frame["tuned"] = frame["tuning_trials"] > 0
        validation = {r.cell_id: tuned_values(r) for r in results if r.params.trials}
        budgets |= {(r.params.trials, int((r.params.tuning or {}).get("batch", 1))) for r in results if r.params.trials}
        frames[case_dir.name] = frame
        for protocol in PROTOCOLS:
            rows = frame[frame["protocol"] == protocol]
            for loss in sorted(set(rows["loss"])):
                mine = rows[rows["loss"] == loss]
                default, tuned = mine[~mine["tuned"]], mine[mine["tuned"]]
                if len(default) and len(tuned) and (d := paired(default, tuned)):
                    seen = [validation[c] for c in dict.fromkeys(tuned["cell_id"])]
                    test = estimate(tuned)
                    tuned_vs_default.append({
                        "case": case_dir.name, "protocol": protocol, "method": loss, "a": estimate(default).mean,
                        "b": test.mean, "diff": d, "test_high": test.hi,
                        "validation": float(np.mean([v["validation_uar"] for v in seen])),
                        "validation_default": float(np.mean([v["validation_default_uar"] for v in seen]))})
            tuned = rows[rows["tuned"]]
            for base in ("bce_pair", "logreg"):
                a, b = tuned[tuned["loss"] == base], tuned[tuned["loss"] == "ratio_distance"]
                if len(a) and len(b) and (d := paired(a, b)):
                    ratio_vs_base.append({"case": case_dir.name, "protocol": protocol,
                                          "method": f"ratio_distance − {base}", "a": estimate(a).mean,
                                          "b": estimate(b).mean, "diff": d})
    lines = ["# Reality check: every method tuned with the same budget", "",
             "Generated by `scripts/reality_check_summary.py` from the result files beside it "
             "(`scripts/reality_check.sh RAVDESS_DIR` recomputes them). UAR in %. Differences are paired on "
             "the unit named in *n* and tested with a one-sample t-test; p (Holm) corrects over every row of "
             "its table; * marks p (Holm) < 0.05. Budget: " + budget_text(budgets) + ".", "",
             "## Tuned against default, per method", "",
             "Default: the method's default settings, on the same test speakers as the tuned run (the "
             "validation speakers are left out of both).", "",
             *comparison_table(tuned_vs_default, "default", "tuned"), "",
             *validation_lines(tuned_vs_default), "",
             "## The ratio distance loss once everything is tuned", "",
             "Both sides tuned with the same budget; the ratio loss is added to the pair BCE (`bce_pair`), "
             "so `ratio_distance − bce_pair` is what the paper's loss adds; `logreg` is the simplest baseline.", "",
             *comparison_table(ratio_vs_base, "base", "ratio_distance"), ""]
    lines += rank_lines(frames)
    text = "\n".join(lines) + "\n"
    (folder / "SUMMARY.md").write_text(text)
    return text


def budget_text(budgets: set) -> str:
    """``32 Optuna trials per tuned cell, asked 4 at a time`` for the budgets found."""
    return "; ".join(f"{trials} Optuna trials per tuned cell" + (f", asked {batch} at a time" if batch > 1 else "")
                     for trials, batch in sorted(budgets)) or "no cell was tuned"


def validation_lines(rows: list[dict]) -> list[str]:
    """The section on what tuning saw on validation (the chosen settings against the defaults, the first
    trial) beside what the test shows (the tuned run against the default run), per method."""
    if not rows:
        return []
    out = ["## What tuning saw on validation, and what the test shows", "",
           "Validation: the defaults' UAR (the first trial) and the chosen settings' (the best trial), averaged "
           "over the cells (seeds); their difference is the gain tuning saw. Test: the default and the tuned run "
           "on the test speakers (as above). ⚠: the chosen settings' validation UAR lies above the upper end of "
           "the tuned run's 95 % test interval (the board's mark).", "",
           "| case | protocol | method | validation: defaults → chosen | gain seen | test: default → tuned "
           "| gain on test | |", "|---|---|---|---|---:|---|---:|---|"]
    for r in rows:
        warn = far_above(r["validation"], r["test_high"])
        out.append(f"| {r['case']} | {r['protocol']} | {r['method']} | {pct(r['validation_default'])} → "
                   f"{pct(r['validation'])} | {signed(r['validation'] - r['validation_default'])} | "
                   f"{pct(r['a'])} → {pct(r['b'])} | {signed(r['diff']['mean'])} | {'⚠' if warn else ''} |")
    seen = np.array([r["validation"] - r["validation_default"] for r in rows])
    test = np.array([r["diff"]["mean"] for r in rows])
    marked = sum(far_above(r["validation"], r["test_high"]) for r in rows)
    from scipy.stats import spearmanr

    rho = spearmanr(seen, test).statistic if len(rows) > 2 and np.std(seen) > 0 and np.std(test) > 0 else math.nan
    out += ["", f"Over these {len(rows)} rows tuning saw a median gain of {signed(float(np.median(seen)))} points on "
            f"validation (mean {signed(float(seen.mean()))}); on the test speakers the median change was "
            f"{signed(float(np.median(test)))} (mean {signed(float(test.mean()))}). Spearman correlation between the "
            f"gain seen and the gain on test: {'–' if math.isnan(rho) else f'{rho:.2f}'}. {marked} of {len(rows)} "
            "chosen settings score above their test interval on validation."]
    return out


def rank_lines(frames: dict) -> list[str]:
    """Average ranks of the tuned methods over every block (case x protocol x k), Friedman and Nemenyi CD."""
    import pandas as pd

    scores = {}
    for case, frame in frames.items():
        tuned = frame[frame["tuned"]]
        for (protocol, k), block in tuned.groupby(["protocol", tuned["k"].fillna(-1)]):
            name = f"{case} {protocol}" + (f" k={int(k)}" if k >= 0 else "")
            scores[name] = {loss: estimate(rows).mean for loss, rows in block.groupby("loss")}
    analysis = rank_analysis(pd.DataFrame.from_dict(scores, orient="index"))
    if analysis is None:
        return []
    out = ["## Average ranks of the tuned methods (Demšar 2006)", "",
           f"Over {analysis.n_blocks} blocks (case × protocol × k); 1 = best. Friedman p = "
           f"{fmt_p(analysis.friedman_p)}; Nemenyi critical difference {analysis.critical_difference:.2f}: "
           "methods whose average ranks differ by less are not significantly different.", "",
           "| method | average rank |", "|---|---:|"]
    out += [f"| {m} | {r:.2f} |" for m, r in analysis.average_ranks.items()]
    if analysis.dropped_methods:
        out += ["", "Not ranked (missing from some blocks): " + ", ".join(sorted(analysis.dropped_methods))]
    return out + [""]


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/reality-check")))
