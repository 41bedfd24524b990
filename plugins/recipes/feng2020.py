"""feng2020: Table 1 and Figure 2 of Feng & Chaspari (2020), "A Siamese Neural Network with Modified
Distance Loss for Transfer Learning in Speech Emotion Recognition", beside strong simple baselines.

Grid, for each of three source-model seeds (0, 1, 2 by default; a claim about transfer generalises over
source models, so one seed is not enough): for each source, OODT and (once per target) IDT with the
Siamese pair BCE; few-shot fine-tuning with and without the ratio distance loss for k = 2, 4, ..., 20
target speakers, 0/1/2 frozen layers and 10 repeats. The paper's methods score with its sum-of-log-
probabilities rule (``decision="sum"``). Beside them, on the same splits, the baselines any SER paper
should beat: logistic regression, a linear SVM and a softmax MLP, each with normalisation statistics from
the training data and per speaker, under OODT, IDT and few-shot; in few-shot each baseline runs twice,
once with the support set of the k target speakers alone (as the paper's methods) and once with
``source_support`` source clips per emotion added to it. One cell per (source, method, k), so an
interrupted run loses at most the cells in flight.

The report gives Table 1 with a setting fixed in advance (k = 4, no frozen layer), every few-shot setting
averaged, and the paper's "best over (k, frozen)" figure, kept as a diagnostic only (the best of 30
settings on test data inflates); intervals are over source seeds, or held-out speakers for IDT. Then a
paired test of the ratio loss against the pair BCE per source -> target across seeds, Holm-corrected;
average ranks of every method over every setting (Demšar 2006) with their critical-difference diagram;
Figure 2 (the paper's methods); and the few-shot results by k for every method.
"""
from __future__ import annotations

import json
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_api.types import RecipeSpec

# Table 1 of the paper: UAR % on RAVDESS (4 emotions), by source corpus.
PAPER_TABLE1 = {
    "OODT": {"enterface": 32.8, "crema": 29.3},
    "IDT (LOSO)": {"enterface": 50.0, "crema": 50.0},
    "Siamese fine-tuning": {"enterface": 32.9, "crema": 37.8},
    "Siamese fine-tuning + ratio distance loss": {"enterface": 39.9, "crema": 43.4},
}
METHODS = {  # paper row -> (protocol, loss)
    "OODT": ("oodt", "bce_pair"),
    "IDT (LOSO)": ("idt", "bce_pair"),
    "Siamese fine-tuning": ("fewshot", "bce_pair"),
    "Siamese fine-tuning + ratio distance loss": ("fewshot", "ratio_distance"),
}
PAPER_LOSSES = ("bce_pair", "ratio_distance")
BASELINES = ("logreg", "linear_svm", "softmax_mlp")
OPTIONS = {"repeats": 10, "k": [2, 4, 6, 8, 10, 12, 14, 16, 18, 20], "frozen": [0, 1, 2], "seeds": [0, 1, 2],
           "fixed_k": 4, "fixed_frozen": 0, "base": {}, "baselines": list(BASELINES),
           "baseline_normalise": ["train", "speaker"], "source_support": 8}
PROTOCOL_NAMES = {"oodt": "OODT", "idt": "IDT (LOSO)", "fewshot": "few-shot"}


def cells(registry, sources, targets, repeats=10, k=OPTIONS["k"], frozen=OPTIONS["frozen"], seeds=(0, 1, 2),
          base=None, seed=None, baselines=BASELINES, baseline_normalise=("train", "speaker"), source_support=8,
          ctx=None, **_):
    """The grid's cells (see the module docstring). ``seed`` (one int) is accepted for ``seeds=[seed]``;
    ``ctx`` reads the corpora when ``base["labels"]`` names a label set that depends on them (``shared``)."""
    from ser_bench.plugin_kit.recipes import Grid, expand

    base = dict(base or {})
    seeds = [int(seed)] if seed is not None else [int(s) for s in seeds]
    common = dict(targets=list(targets), seeds=seeds, encoders=["auto"])

    def fewshot(settings, ks, frozen_layers, **extra):
        return {**settings, "protocol_params": {"fewshot": {"k": [int(ks)], "frozen": list(frozen_layers),
                                                            "repeats": int(repeats), **extra}}}

    paper = {**base, "decision": "sum"}  # the paper's rule; the default (mean) is for everything else
    out = expand(Grid(protocols=["oodt"], losses=["bce_pair"], sources=list(sources), base=paper, **common),
                 registry, ctx)
    out += expand(Grid(protocols=["idt"], losses=["bce_pair"], base=paper, **common), registry, ctx)
    for n in k:
        out += expand(Grid(protocols=["fewshot"], losses=list(PAPER_LOSSES), sources=list(sources),
                           base=fewshot(paper, n, frozen), **common), registry, ctx)
    for mode in baseline_normalise:
        settings = {**base, "normalise": mode}
        out += expand(Grid(protocols=["oodt"], losses=list(baselines), sources=list(sources), base=settings,
                           **common), registry, ctx)
        out += expand(Grid(protocols=["idt"], losses=list(baselines), base=settings, **common), registry, ctx)
        for name in baselines:
            # Frozen layers mean nothing to a method that trains nothing: one setting, not three copies.
            layers = frozen if registry.get("losses", name).trains else [0]
            for n in k:
                for extra in ({}, {"source_support": int(source_support)}):
                    out += expand(Grid(protocols=["fewshot"], losses=[name], sources=list(sources),
                                       base=fewshot(settings, n, layers, **extra), **common), registry, ctx)
    return out


def _paper_value(method: str, source: str) -> str:
    real = source.removeprefix("sim-")
    value = PAPER_TABLE1.get(method, {}).get(real)
    if value is None:
        return "–"
    return f"{value:.1f}" + ("" if real == source else f" (real {real})")


def _fmt(est) -> str:
    import math

    if est is None or math.isnan(est.mean):
        return "–"
    return f"{100 * est.mean:.1f}" if math.isnan(est.lo) else f"{100 * est.mean:.1f} ± {100 * est.half_width:.1f}"


def _support(p) -> int:
    return int((p.get("protocol_params") or {}).get("source_support") or 0)


def table_rows(results, baselines=BASELINES, source_support=8):
    """Table 1's rows: (label, paper row name or None, predicate on a result's params)."""
    rows = [(name, name, lambda p, protocol=protocol, loss=loss: p.protocol == protocol and p.loss == loss
             and p.get("decision") == "sum" and not _support(p))
            for name, (protocol, loss) in METHODS.items()]
    modes = sorted({r.params.normalise for r in results if r.params.loss in baselines})
    for protocol in ("oodt", "idt", "fewshot"):
        for name in baselines:
            for mode in modes:
                for support in ((0, source_support) if protocol == "fewshot" else (0,)):
                    label = f"{PROTOCOL_NAMES[protocol]} · {name} (normalise={mode}" + (
                        f", + {support} source clips per emotion in the support set)" if support else ")")
                    rows.append((label, None, lambda p, protocol=protocol, name=name, mode=mode, support=support:
                                 p.protocol == protocol and p.loss == name and p.normalise == mode
                                 and _support(p) == support))
    return rows


def table1(results, sources, target, fixed_k, fixed_frozen, baselines=BASELINES, source_support=8):
    """Rows of Table 1 for one target: fixed-setting, all-settings and best-of (diagnostic) figures, the
    unit of n, and the paper's figure."""
    from ser_bench.plugin_kit.recipes import curves
    from ser_bench.plugin_kit.recipes import describe_n, estimate
    from ser_bench.plugin_kit.recipes import tidy

    rows = []
    for label, paper_row, wanted in table_rows(results, baselines, source_support):
        for source in sources:
            match = [r for r in results if wanted(r.params) and r.params.target == target
                     and (r.params.protocol == "idt" or r.params.source == source)]
            row = {"method": label, "source": source, "paper": _paper_value(paper_row, source) if paper_row else "–"}
            if match:
                frame = tidy(match)
                overall = estimate(frame)
                row["all"] = _fmt(overall)
                fixed = overall
                if match[0].params.protocol == "fewshot":
                    frame["k"], frame["frozen"] = frame["k"].astype(int), frame["frozen"].astype(int)
                    curve = curves(frame)
                    best = curve.loc[curve["uar"].idxmax()]
                    at_best = frame[(frame['k'] == best['k']) & (frame['frozen'] == best['frozen'])]
                    row["best (diagnostic)"] = (f"{_fmt(estimate(at_best))}"
                                                f" (k={best['k']}, {best['frozen']} frozen)")
                    layers = sorted(set(frame["frozen"]))
                    frozen_at = fixed_frozen if fixed_frozen in layers or len(layers) > 1 else layers[0]
                    chosen = frame[(frame["k"] == fixed_k) & (frame["frozen"] == frozen_at)]
                    fixed = estimate(chosen) if len(chosen) else None
                else:
                    row["best (diagnostic)"] = row["all"]
                row["fixed"] = _fmt(fixed)
                row["n"] = describe_n(fixed.n, fixed.unit) if fixed else "–"
            rows.append(row)
    return rows


def paired_rows(frame):
    """The ratio distance loss against the pair BCE on identical episodes, per source -> target, across
    source seeds, Holm-corrected over these comparisons."""
    from ser_bench.plugin_kit.recipes import holm, paired_comparison

    paper = frame[frame["loss"].isin(PAPER_LOSSES) & (frame["decision"] == "sum")]
    return holm(paired_comparison(paper, "bce_pair", "ratio_distance", column="loss")) if not paper.empty else []


def report(results, out_dir, sources, targets, fixed_k=4, fixed_frozen=0, baselines=BASELINES, source_support=8, **_):
    """Write LEADERBOARD.md, figure2.png/.svg, ranks.png/.svg and paired.json into ``out_dir``; return
    their paths."""
    import pandas as pd

    from ser_bench.plugin_kit.recipes import md
    from ser_bench.plugin_kit.recipes import curves
    from ser_bench.plugin_kit.recipes import plot_fewshot_curves
    from ser_bench.plugin_kit.recipes import fewshot_by_k_markdown, measure_sections, rank_section, settings_header
    from ser_bench.plugin_kit.recipes import paired_markdown
    from ser_bench.plugin_kit.recipes import breakdown_table, ok_results

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = ok_results(results)
    written = []
    lines = ["# Feng & Chaspari (2020), reproduced, beside simple baselines", "",
             "UAR % on the target (4 emotions: anger, happiness, sadness, fear): mean ± half-width of the 95 % "
             "t-interval over the unit in the *n* column: source-model seeds (OODT, few-shot; a seed's value is "
             "the mean over its episodes) or held-out speakers (IDT, seeds averaged within a speaker); with one "
             "seed, few-shot intervals are over the episode draws of that one source model and say nothing about "
             f"other source models. *fixed*: the setting fixed in advance (k = {fixed_k}, {fixed_frozen} frozen "
             "layers; methods without layers to freeze at their one setting), the headline; *all*: every few-shot "
             "setting averaged; *best (diagnostic)*: the best (k, frozen layers) setting, as the paper reports, "
             "chosen on test data and therefore optimistic, never a headline. *paper*: Table 1 of the paper (real "
             "corpora; for a simulated source, the real corpus it imitates). The paper's methods use its sum "
             "rule; the baselines (logistic regression, linear SVM, softmax MLP on the same features and splits) "
             "are shown with normalisation statistics from the training data and per speaker.",
             "", *settings_header(ok), ""]
    frame = breakdown_table(ok)
    for target in targets:
        rows = table1(ok, sources, target, fixed_k, fixed_frozen, baselines, source_support)
        table = pd.DataFrame(rows).set_index(["method", "source"]).reindex(
            columns=["fixed", "all", "best (diagnostic)", "n", "paper"])
        lines += [f"## Table 1: target {md.text(target)}", "", md.table(table.fillna("–").reset_index(), index=False),
                  ""]
    paired = paired_rows(frame) if not frame.empty else []
    if paired:
        lines += ["## Does the ratio distance loss help? (paired, identical episodes, across source seeds)", "",
                  *paired_markdown(paired), ""]
        path = out_dir / "paired.json"
        path.write_text(json.dumps(paired, indent=1))
        written.append(path)
    ranks = rank_section(ok, figure_dir=out_dir)
    if ranks:
        lines += ranks
        written += [out_dir / "ranks.png", out_dir / "ranks.svg"]
    paper = frame[frame["loss"].isin(PAPER_LOSSES)] if not frame.empty else frame
    if not paper.empty:
        figure = plot_fewshot_curves(curves(paper), out_dir / "figure2",
                                     "Few-shot fine-tuning: UAR against target speakers (Feng & Chaspari Fig. 2)")
        written += figure
        lines += ["## Figure 2", "", "The paper's methods; bands: 95 % t-interval over source seeds (one seed: over "
                  "its episode draws). The baselines are in Table 1 and the table by k.", "",
                  "![UAR against the number of target speakers](figure2.png)", ""]
    if not frame.empty:
        lines += ["## Few-shot UAR % by k, every method", "", fewshot_by_k_markdown(ok), ""]
    lines += measure_sections(ok)  # the embeddings, calibration and UAR by sex, where the results record them
    timing = pd.DataFrame([r.timings for r in ok]).sum(numeric_only=True)
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
        summary="Feng & Chaspari (2020): Table 1 and Figure 2, OODT / IDT / few-shot +- ratio distance loss, "
                "beside logistic regression, linear SVM and softmax MLP baselines, over 3 source seeds",
        reference="Feng & Chaspari (2020), A Siamese Neural Network with Modified Distance Loss for "
                  "Transfer Learning in Speech Emotion Recognition",
    )]
