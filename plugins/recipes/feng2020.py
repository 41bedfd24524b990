"""feng2020: Table 1 and Figure 2 of Feng & Chaspari (2020), "A Siamese Neural Network with Modified
Distance Loss for Transfer Learning in Speech Emotion Recognition".

Grid: for each source, OODT and (once per target) IDT with the Siamese pair BCE; few-shot fine-tuning
with and without the ratio distance loss for k = 2, 4, ..., 20 target speakers, 0/1/2 frozen layers and
10 repeats. One cell per (source, loss, k), so an interrupted run loses at most the cells in flight.
The report gives Table 1 as the paper does (best over frozen layers and k), the numbers at one setting
fixed in advance (k = 4, no frozen layer: "best of" over 30 settings inflates), the paper's figures
beside ours, Figure 2, and a paired Wilcoxon test of the ratio loss on identical episodes.
"""
from __future__ import annotations

import json
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.types import RecipeSpec

# Table 1 of the paper: UAR % on RAVDESS (4 emotions), by source corpus.
PAPER_TABLE1 = {
    "OODT": {"enterface": 32.8, "crema": 29.3},
    "IDT (LOSO)": {"enterface": 50.0, "crema": 50.0},
    "Siamese fine-tuning": {"enterface": 32.9, "crema": 37.8},
    "Siamese fine-tuning + ratio distance loss": {"enterface": 39.9, "crema": 43.4},
}
METHODS = {  # row -> (protocol, loss)
    "OODT": ("oodt", "bce_pair"),
    "IDT (LOSO)": ("idt", "bce_pair"),
    "Siamese fine-tuning": ("fewshot", "bce_pair"),
    "Siamese fine-tuning + ratio distance loss": ("fewshot", "ratio_distance"),
}
OPTIONS = {"repeats": 10, "k": [2, 4, 6, 8, 10, 12, 14, 16, 18, 20], "frozen": [0, 1, 2], "seed": 0,
           "fixed_k": 4, "fixed_frozen": 0, "base": {}}


def cells(registry, sources, targets, repeats=10, k=OPTIONS["k"], frozen=OPTIONS["frozen"], seed=0, base=None,
          **_):
    """The grid's cells (see the module docstring)."""
    from ser_bench.runner import Grid, expand

    base = dict(base or {})
    common = dict(targets=list(targets), seeds=[seed])
    out = expand(Grid(protocols=["oodt"], losses=["bce_pair"], sources=list(sources), base=base, **common), registry)
    out += expand(Grid(protocols=["idt"], losses=["bce_pair"], base=base, **common), registry)
    for n in k:
        fewshot = {**base, "protocol_params": {"fewshot": {"k": [int(n)], "frozen": list(frozen),
                                                            "repeats": int(repeats)}}}
        out += expand(Grid(protocols=["fewshot"], losses=["bce_pair", "ratio_distance"], sources=list(sources),
                           base=fewshot, **common), registry)
    return out


def _paper_value(method: str, source: str) -> str:
    real = source.removeprefix("sim-")
    value = PAPER_TABLE1[method].get(real)
    if value is None:
        return "–"
    return f"{value:.1f}" + ("" if real == source else f" (real {real})")


def _fmt(mean, lo, hi) -> str:
    import math

    if mean is None or math.isnan(mean):
        return "–"
    return f"{100 * mean:.1f}" if math.isnan(lo) else f"{100 * mean:.1f} ± {100 * (hi - lo) / 2:.1f}"


def table1(results, sources, target, fixed_k, fixed_frozen):
    """Rows of Table 1 for one target: best-of, fixed-setting and all-settings figures with the paper's."""
    from ser_bench.analysis import curves, fewshot_table
    from ser_bench.evaluation import summarise

    frame = fewshot_table(results)
    curve = curves(frame) if not frame.empty else None
    rows = []
    for method, (protocol, loss) in METHODS.items():
        for source in sources:
            row = {"method": method, "source": source}
            if protocol == "fewshot":
                sub = curve[(curve["pair"] == f"{source} → {target}") & (curve["loss"] == loss)] if curve is not None else []
                if len(sub):
                    best = sub.loc[sub["uar"].idxmax()]
                    row["best"] = f"{_fmt(best['uar'], best['lo'], best['hi'])} (k={best['k']}, {best['frozen']} frozen)"
                    fixed = sub[(sub["k"] == fixed_k) & (sub["frozen"] == fixed_frozen)]
                    row["fixed"] = _fmt(*fixed[["uar", "lo", "hi"]].iloc[0]) if len(fixed) else "–"
                    episodes = frame[(frame["pair"] == f"{source} → {target}") & (frame["loss"] == loss)]
                    per_repeat = episodes.groupby(["seed", "repeat"])["uar"].mean()
                    from ser_bench.metrics import mean_ci95

                    row["all"] = _fmt(*mean_ci95(per_repeat))
            else:
                match = [r for r in results if r["params"]["protocol"] == protocol and r["params"]["loss"] == loss
                         and r["params"]["target"] == target and (protocol == "idt" or r["params"]["source"] == source)]
                if match:
                    s = summarise([sp for r in match for sp in r["splits"]])
                    row["best"] = row["fixed"] = row["all"] = _fmt(s["uar"], *s["uar_ci95"])
            row["paper"] = _paper_value(method, source)
            rows.append(row)
    return rows


def report(results, out_dir, sources, targets, fixed_k=4, fixed_frozen=0, **_):
    """Write LEADERBOARD.md, figure2.png/.svg and paired.json into ``out_dir``; return their paths."""
    import pandas as pd

    from ser_bench.analysis import curves, fewshot_table, paired_comparison, paired_markdown
    from ser_bench.figures import plot_fewshot_curves
    from ser_bench.leaderboard import fewshot_by_k_markdown, settings_header

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = [r for r in results if r.get("status") == "ok"]
    written = []
    lines = ["# Feng & Chaspari (2020), reproduced", "",
             "UAR % on the target (4 emotions: anger, happiness, sadness, fear), mean ± half-width of the 95 % "
             "t-interval over repeats (few-shot) or held-out speakers (IDT). *best*: the best (k, frozen layers) "
             "setting, as the paper reports; *fixed*: the setting fixed in advance "
             f"(k = {fixed_k}, {fixed_frozen} frozen layers); *all*: every few-shot setting averaged. "
             "*paper*: Table 1 of the paper (real corpora; for a simulated source, the real corpus it imitates).",
             "", *settings_header(ok), ""]
    frame = fewshot_table(ok)
    for target in targets:
        rows = table1(ok, sources, target, fixed_k, fixed_frozen)
        table = pd.DataFrame(rows).set_index(["method", "source"]).reindex(columns=["best", "fixed", "all", "paper"])
        lines += [f"## Table 1: target {target}", "", table.fillna("–").reset_index().to_markdown(index=False), ""]
    paired = paired_comparison(frame, "bce_pair", "ratio_distance") if not frame.empty else []
    if paired:
        lines += ["## Does the ratio distance loss help? (paired, identical episodes)", "", *paired_markdown(paired)]
        lines.append("")
        path = out_dir / "paired.json"
        path.write_text(json.dumps(paired, indent=1))
        written.append(path)
    if not frame.empty:
        figure = plot_fewshot_curves(curves(frame), out_dir / "figure2",
                                     "Few-shot fine-tuning: UAR against target speakers (Feng & Chaspari Fig. 2)")
        written += figure
        lines += ["## Figure 2", "", "![UAR against the number of target speakers](figure2.png)", "",
                  "## Few-shot UAR % by k", "", fewshot_by_k_markdown(ok), ""]
    timing = pd.DataFrame([r["timings"] for r in ok]).sum(numeric_only=True)
    lines += ["## Where the time went (summed over cells, seconds of one core)", "",
              "| pre-training | fine-tuning | scoring | cells total |", "|---|---|---|---|",
              f"| {timing.get('train', 0):.0f} | {timing.get('finetune', 0):.0f} | {timing.get('scoring', 0):.0f} | "
              f"{timing.get('total', 0):.0f} |", ""]
    path = out_dir / "LEADERBOARD.md"
    path.write_text("\n".join(lines))
    return [path, *written]


@hookimpl
def ser_bench_recipes():
    return [RecipeSpec(
        name="feng2020", cells=cells, report=report, options=OPTIONS,
        default_sources=("crema", "enterface"), default_targets=("ravdess",),
        summary="Feng & Chaspari (2020): Table 1 and Figure 2, OODT / IDT / few-shot +- ratio distance loss",
        reference="Feng & Chaspari (2020), A Siamese Neural Network with Modified Distance Loss for "
                  "Transfer Learning in Speech Emotion Recognition",
    )]
