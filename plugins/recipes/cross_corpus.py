"""cross-corpus: real transfer between corpora and languages, every loss beside the baselines.

The question ser-bench exists to answer, asked of real corpora: does a metric-learning loss (the ratio
distance loss of Feng & Chaspari 2020 among them) transfer emotion across corpora and languages better
than the simple baselines? For the corpora given (by default RAVDESS, English; EmoDB, German; TurEV-DB,
Turkish), every ordered pair of them and leave-one-corpus-out (LOCO: each corpus the target of the union
of the others), under out-of-domain training (OODT: no target label) and few-shot fine-tuning on k
target speakers (1, 2 and 4 where the target has speakers enough to test on others).

Every method, each loss and each baseline, is tuned with the same budget of Optuna trials on source
validation speakers only (Musgrave et al. 2020): held-out source speakers for OODT, and for few-shot the
protocol played inside the source (train on the other source speakers, adapt to the held-out ones), so
no target label is seen while tuning. Labels: the emotions every corpus has (``shared``; anger,
happiness and sadness for the three default corpora, chance 33.3 %), unless ``--labels`` and
``--label-map`` say otherwise. Features are z-scored per corpus and, side by side, per speaker, the
two normalisations Schuller et al. (2010) found to matter most across corpora (both use the target's
unlabelled clips, never a label). Three source-model seeds; intervals, paired tests (Holm-corrected) and ranks are
over them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from types import MappingProxyType

from ser_bench import hookimpl
from ser_bench.plugin_api.types import RecipeSpec

PAPER_LOSSES = ("bce_pair", "ratio_distance")
METRIC_LOSSES = ("bce_pair", "ratio_distance", "contrastive", "triplet", "multi_similarity", "supcon",
                 "continuous_slope", "log_ratio", "cross_entropy")
BASELINES = ("logreg", "linear_svm", "softmax_mlp")
# Epochs up to 80 (default 60) keep a tuned cell's cost near a default one's, as in the reality check.
SEARCH = MappingProxyType({"training.epochs": "20..80:step=10"})
OPTIONS = {"seeds": [0, 1, 2], "k": [1, 2, 4], "repeats": 5, "frozen": [0], "trials": 8, "validation_speakers": 0,
           "losses": list(METRIC_LOSSES), "baselines": list(BASELINES), "normalise": ["corpus", "speaker"],
           "loco": True, "search": dict(SEARCH), "base": {}}
PROTOCOL_NAMES = {"oodt": "out-of-domain training (no target label)",
                  "fewshot": "few-shot fine-tuning on k target speakers (k pooled)"}


def corpora_of(sources, targets) -> list[str]:
    """The recipe's corpora, sources first, each once."""
    return list(dict.fromkeys([*sources, *targets]))


def transfers(registry, sources, targets, loco: bool = True) -> list[tuple[str, str]]:
    """``(source, target)`` of every ordered pair of different corpora, then leave-one-corpus-out (the
    union of the others -> each corpus) when there are three corpora or more."""
    from ser_bench.plugin_kit.recipes import base_corpus
    from ser_bench.plugin_kit.recipes import loco_pairs

    out = [(s, t) for s in sources for t in targets if base_corpus(s) != base_corpus(t)]
    corpora = corpora_of(sources, targets)
    if loco and len(corpora) >= 3:
        out += [(s, t) for t, s in loco_pairs(corpora)]
    return out


def cells(registry, sources, targets, ctx=None, seeds=(0, 1, 2), k=(1, 2, 4), repeats=5, frozen=(0,), trials=8,
          validation_speakers=0, losses=METRIC_LOSSES, baselines=BASELINES, normalise=("corpus", "speaker"),
          loco=True, search=SEARCH, base=None, seed=None, **_):
    """The grid's cells (see the module docstring). ``ctx`` reads the corpora: the label set ``shared`` is
    what all of them have, and each target's k stop one short of its number of speakers."""
    from ser_bench.plugin_kit.recipes import resolve_label_set, speaker_counts
    from ser_bench.plugin_kit.recipes import Grid, expand

    base = dict(base or {})
    seeds = [int(seed)] if seed is not None else [int(s) for s in seeds]
    corpora = corpora_of(sources, targets)
    base["labels"] = resolve_label_set(base.get("labels", "shared"), corpora, registry, ctx, base)
    modes = [normalise] if isinstance(normalise, str) else list(normalise)
    tuning = {"trials": int(trials), "validation_speakers": int(validation_speakers),
              **({"search": dict(search)} if search and int(trials) else {})}
    speakers = speaker_counts(corpora, registry, ctx, base) if ctx is not None else {}
    methods = [*losses, *baselines]
    out = []
    for mode in modes:
        settings = {**base, "normalise": mode}
        for source, target in transfers(registry, sources, targets, loco):
            common = dict(losses=methods, targets=[target], sources=[source], seeds=seeds)
            out += expand(Grid(protocols=["oodt"], base={**settings, "tuning": tuning}, **common), registry, ctx)
            n = speakers.get(target)
            ks = [int(v) for v in k if n is None or int(v) <= n - 1]
            if not ks:
                continue
            fewshot = {"fewshot": {"k": ks, "repeats": int(repeats), "frozen": list(frozen)}}
            out += expand(Grid(protocols=["fewshot"], base={**settings, "protocol_params": fewshot,
                                                             "tuning": {**tuning, "validation_on": "source"}},
                               **common), registry, ctx)
    return out


def _fmt(mean, lo, hi, chance) -> str:
    if mean is None or math.isnan(mean):
        return "–"
    text = f"{100 * mean:.1f}" if math.isnan(lo) else f"{100 * mean:.1f} ± {100 * (hi - lo) / 2:.1f}"
    if chance and not math.isnan(hi) and hi < chance:
        text += " ↓"  # the whole interval below chance
    return text


def transfer_table(board, protocol: str, chance: float | None):
    """Rows: methods; columns: each source -> target, then the mean over them; UAR % ± the 95 % interval
    over source seeds, ``↓`` where the whole interval is below chance."""
    import pandas as pd

    rows = board[(board["level"] == "cell") & (board["protocol"] == protocol)]
    if rows.empty:
        return None
    pairs = list(dict.fromkeys(rows["pair"]))
    table = {}
    for method, group in rows.groupby("method", sort=False):
        by_pair = {row.pair: row for row in group.itertuples()}
        line = {pair: _fmt(by_pair[pair].uar, by_pair[pair].ci_low, by_pair[pair].ci_high, chance)
                if pair in by_pair else "–" for pair in pairs}
        complete = all(pair in by_pair for pair in pairs)
        line["mean"] = f"{100 * sum(by_pair[p].uar for p in pairs) / len(pairs):.1f}" if complete else "–"
        table[method] = line
    frame = pd.DataFrame.from_dict(table, orient="index")
    order = frame["mean"].map(lambda v: -float(v) if v != "–" else math.inf).sort_values(kind="stable").index
    return frame.loc[order].rename_axis("method").reset_index()


def paired_rows(frame, baseline: str, treatment: str):
    """``treatment - baseline`` per protocol and source -> target, paired on source seeds (and, in few-shot,
    identical episodes); Holm over every row."""
    from ser_bench.plugin_kit.recipes import holm, paired_comparison

    # OODT has one split per seed: give it the episode coordinates few-shot pairs on.
    frame = frame.assign(k=frame["k"].fillna(0), repeat=frame["repeat"].fillna(0), frozen=frame["frozen"].fillna(0))
    return holm(paired_comparison(frame, baseline, treatment, by=("protocol", "pair", "normalise"), column="loss"))


def _paired_lines(rows) -> list[str]:
    from ser_bench.plugin_kit.recipes import paired_markdown

    return paired_markdown(rows) if rows else ["No comparison: the two methods share no seed."]


def below_chance(board, chance: float | None) -> list[str]:
    """One line per (protocol, method, source -> target) whose whole 95 % interval is below chance."""
    if not chance:
        return []
    rows = board[(board["level"] == "cell") & (board["ci_high"] < chance)]
    from ser_bench.plugin_kit.recipes import md

    return [f"- {row.protocol} · {md.text(row.method)}, {md.text(row.pair)}: {100 * row.uar:.1f} % "
            f"[{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]" for row in rows.itertuples()]


def report(results, out_dir, sources, targets, **_):
    """Write LEADERBOARD.md (tables, paired tests, ranks), ranks.png/.svg, paired.json and the HTML site
    (``site/index.html``) into ``out_dir``; return their paths."""
    import pandas as pd

    from ser_bench.plugin_kit.recipes import md
    from ser_bench.plugin_kit.recipes import board_frame
    from ser_bench.plugin_kit.recipes import write_site
    from ser_bench.plugin_kit.recipes import fewshot_by_k_markdown, left_out_section, measure_sections, rank_section
    from ser_bench.plugin_kit.recipes import ok_results, tidy

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok = ok_results(results)
    written = []
    if not ok:
        raise ValueError("no successful results to report")
    labels = list(ok[0].params.labels)
    chance = 1 / len(labels)
    board = board_frame(ok)
    corpora = corpora_of(sources, targets)
    maps = sorted({json.dumps(r.params.get("label_maps"), sort_keys=True) for r in ok if r.params.get("label_maps")})
    lines = ["# Cross-corpus and cross-language transfer", "",
             f"Corpora: {md.text(', '.join(corpora))}; every ordered pair and leave-one-corpus-out (LOCO: the union of the "
             "others, shown a ∪ b, as the source). Labels: "
             f"{', '.join(labels)} (chance {100 * chance:.1f} %); label maps the user asked for: "
             f"{md.text(', '.join(maps) or 'none')}. UAR % (unweighted average recall on the target): mean ± "
             "half-width of the 95 % t-interval over source-model seeds (n in the board below); ↓: the whole "
             "interval lies below chance. Every method was tuned with the same Optuna budget on source "
             "validation speakers only (few-shot: the protocol played inside the source), never on a target "
             "label. Features z-scored per corpus (each corpus on its own clips) or per speaker (each speaker on "
             "their own clips; both use the target's unlabelled clips, no label), as the method names say.", ""]
    for protocol in ("oodt", "fewshot"):
        table = transfer_table(board, protocol, chance)
        if table is not None:
            lines += [f"## {PROTOCOL_NAMES[protocol]}", "", md.table(table, index=False), ""]
    frame = tidy(ok)
    paired = []
    for baseline, treatment, title in (
            ("bce_pair", "ratio_distance", "Does the ratio distance loss help? ratio_distance against its own "
                                           "pair BCE (Feng & Chaspari's comparison)"),
            ("logreg", "ratio_distance", "The ratio distance loss against logistic regression on the same features")):
        if {baseline, treatment} <= set(frame["loss"]):
            rows = paired_rows(frame, baseline, treatment)
            paired += rows
            lines += [f"## {title}", "", "Paired on source seeds (few-shot: on identical episodes, averaged within a "
                      "seed); Holm over the rows of this table.", "", *_paired_lines(rows), ""]
    if paired:
        path = out_dir / "paired.json"
        path.write_text(json.dumps(paired, indent=1))
        written.append(path)
    ranks = rank_section(ok, figure_dir=out_dir)
    if ranks:
        lines += ranks
        written += [out_dir / "ranks.png", out_dir / "ranks.svg"]
    low = below_chance(board, chance)
    lines += ["## Below chance", "", *(low or ["No method's interval lies wholly below chance."]), ""]
    by_k = fewshot_by_k_markdown(ok)
    if by_k:
        lines += ["## Few-shot UAR % by number of target speakers k", "", "Means over every episode and seed "
                  "(no interval).", "", by_k, ""]
    lines += measure_sections(ok)  # the embeddings, calibration and UAR by sex, where the results record them
    lines += left_out_section(ok)
    timing = pd.DataFrame([r.timings for r in ok]).sum(numeric_only=True)
    lines += ["## Where the time went (summed over cells, seconds of one core)", "",
              "| tuning | pre-training | fine-tuning | scoring | cells total |", "|---|---|---|---|---|",
              f"| {timing.get('tuning', 0):.0f} | {timing.get('train', 0):.0f} | {timing.get('finetune', 0):.0f} | "
              f"{timing.get('scoring', 0):.0f} | {timing.get('total', 0):.0f} |", ""]
    path = out_dir / "LEADERBOARD.md"
    path.write_text("\n".join(lines))
    site = write_site(ok, out_dir / "site", title="ser-bench: cross-corpus transfer")
    return [path, *written, site]


@hookimpl
def ser_bench_recipes():
    return [RecipeSpec(
        name="cross-corpus", cells=cells, report=report, options=OPTIONS,
        default_sources=("ravdess", "emodb", "turev"), default_targets=("ravdess", "emodb", "turev"),
        summary="real transfer between corpora and languages: every ordered pair and leave-one-corpus-out, OODT "
                "and few-shot, every loss and baseline tuned alike on source speakers, over 3 source seeds",
        reference="Feng & Chaspari (2020); Schuller et al. (2010), Cross-corpus acoustic emotion recognition; "
                  "Musgrave, Belongie & Lim (2020), A Metric Learning Reality Check",
    )]
