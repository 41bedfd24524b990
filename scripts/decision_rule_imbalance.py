"""How the Siamese decision rule ("sum" vs "mean" of log P(same)) reacts to an unbalanced support set.

The Siamese model of Feng & Chaspari (2020) scores class c for a query as the sum (the paper's rule) or
the mean (ser-bench's default) over the support clips of class c of log P(same | query, support). The
models here are trained once per seed and kept fixed; only the support set changes: anger is kept whole
and happiness, sadness and fear are subsampled (seeded draws) to an anger:other ratio of 1, 2, 4 and 8.

* Case A (simulated): ``siamese-mlp`` + ``bce_pair`` trained on the whole ``sim-crema`` (4 emotions,
  is09-64 features z-normalised on the training data, DEFAULT_TRAINING), tested on every ``sim-ravdess``
  clip, support = ``sim-crema`` clips.
* Case B (real speech, when a RAVDESS copy is found): trained on RAVDESS actors 1-12, tested on actors
  13-24, support = the clips of actors 1-12.

For each case, seed (0, 1, 2), ratio, draw and rule it records UAR, anger recall and the share of test
clips predicted as anger, and writes ``README.md`` (the table), ``figure.png``/``figure.svg`` and
``runs.csv`` (every draw) to the output folder. Regenerate (a few minutes on one core)::

    .venv/bin/python scripts/decision_rule_imbalance.py --ravdess /work/shared/data/ravdess-16k --out results/decision-rule

The README's prose lives outside the ``<!-- table -->`` markers and is kept when the table is rewritten.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

RATIOS = (1, 2, 4, 8)
SEEDS = (0, 1, 2)
DRAWS = 5
RULES = ("sum", "mean")
LABELS = ("anger", "happiness", "sadness", "fear")  # anger first: class index 0
ENCODER, LOSS, FEATURE = "siamese-mlp", "bce_pair", "is09-64"
DEFAULT_RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
TABLE_START, TABLE_END = "<!-- table:start -->", "<!-- table:end -->"


# ---------------------------------------------------------------- pure functions (tested without data)

def imbalanced_support(y, ratio: int, rng, anchor: int = 0) -> np.ndarray:
    """Sorted row indices of a support set with class ``anchor`` whole and every other class of ``y``
    subsampled (without replacement, by ``rng``) to ``round(n_anchor / ratio)`` clips."""
    y = np.asarray(y)
    anchor_rows = np.flatnonzero(y == anchor)
    n_other = int(round(len(anchor_rows) / ratio))
    keep = [anchor_rows]
    for c in sorted(set(y.tolist()) - {anchor}):
        rows = np.flatnonzero(y == c)
        if n_other > len(rows):
            raise ValueError(f"class {c} has {len(rows)} clips, fewer than the {n_other} that ratio {ratio} needs")
        keep.append(rng.choice(rows, size=n_other, replace=False))
    return np.sort(np.concatenate(keep))


def draw_rng(case: str, seed: int, ratio: int, draw: int):
    """The generator of one support draw: a pure function of its coordinates."""
    return np.random.default_rng([sum(map(ord, case)), seed, ratio, draw])


def summarise(runs):
    """Mean over draws within a seed, then mean, min and max over seeds, per case, ratio and rule."""
    per_seed = runs.groupby(["case", "ratio", "rule", "seed"], as_index=False)[
        ["uar", "anger_recall", "anger_share", "n_anger", "n_other"]].mean()
    out = per_seed.groupby(["case", "ratio", "rule"]).agg(
        **{f"{m}_{f}": (m, f) for m in ("uar", "anger_recall", "anger_share") for f in ("mean", "min", "max")},
        n_anger=("n_anger", "mean"), n_other=("n_other", "mean"), seeds=("seed", "nunique")).reset_index()
    order = {rule: i for i, rule in enumerate(RULES)}
    return out.sort_values(["case", "ratio", "rule"], key=lambda c: c.map(order) if c.name == "rule" else c,
                           ignore_index=True)


def _cell(row, metric: str) -> str:
    return (f"{100 * row[f'{metric}_mean']:.1f} "
            f"({100 * row[f'{metric}_min']:.1f}–{100 * row[f'{metric}_max']:.1f})")


def markdown_table(summary) -> str:
    """The README table: one row per case, ratio and rule; percentages, mean (min–max over seeds)."""
    lines = ["| case | anger:other | support (anger / each other) | rule | UAR % | anger recall % | "
             "predicted anger % |", "|---|---:|---:|---|---:|---:|---:|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r['case']} | {r['ratio']}:1 | {r['n_anger']:.0f} / {r['n_other']:.0f} | {r['rule']} | "
                     f"{_cell(r, 'uar')} | {_cell(r, 'anger_recall')} | {_cell(r, 'anger_share')} |")
    return "\n".join(lines)


def write_readme(path: Path, table: str, notes: str) -> None:
    """Replace the table between the markers, keeping any prose around it (a fresh file gets a title and the table)."""
    block = f"{TABLE_START}\n{notes}\n\n{table}\n{TABLE_END}"
    if path.exists() and TABLE_START in (text := path.read_text()) and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        text = head + block + rest.split(TABLE_END, 1)[1]
    else:
        text = ("# Decision rule under support imbalance: sum vs mean of log P(same)\n\n"
                "Generated by `scripts/decision_rule_imbalance.py` (see its docstring for the command).\n\n"
                f"{block}\n")
    path.write_text(text)


# ---------------------------------------------------------------- glue around the library

def train_model(registry, x, y, seed: int):
    """The paper's Siamese MLP trained with pair BCE on ``x, y`` (DEFAULT_TRAINING, seeded)."""
    import torch

    from ser_bench.running.pretraining import build_loss
    from ser_bench.model.training import DEFAULT_TRAINING, fit
    from ser_bench.plugin_api.types import LossContext

    encoder = registry.get("encoders", ENCODER)
    loss_spec = registry.get("losses", LOSS)
    torch.manual_seed(seed)
    model = encoder.build(input_dim=x.shape[1], **encoder.params)
    with torch.no_grad():
        embedding_dim = int(model.embed(x[:2]).shape[1])
    loss = build_loss(registry, LOSS, loss_spec.params,
                      LossContext(num_classes=len(LABELS), embedding_dim=embedding_dim, input_dim=x.shape[1]),
                      seed=seed)
    tr = DEFAULT_TRAINING
    info = fit(model, x, y, loss, epochs=tr["epochs"], batch_size=tr["batch_size"], lr=tr["lr"],
               weight_decay=tr["weight_decay"], seed=seed)
    return model, info


def evaluate_case(case: str, registry, train, test, seeds=SEEDS, ratios=RATIOS, draws=DRAWS, log=print) -> list[dict]:
    """``train``, ``test`` = ``(manifest, X)``; the support is drawn from ``train``. Features are
    z-normalised on the training rows. Returns one row per seed, ratio, draw and rule."""
    import torch

    from ser_bench.model.decision import predict
    from ser_bench.model.metrics import classification_metrics
    from ser_bench.data.normalise import normalise

    index = {c: i for i, c in enumerate(LABELS)}
    domains = {"train": train, "test": test}
    xs = {d: torch.as_tensor(v) for d, v in normalise(domains, "train", np.arange(len(train[0])), "train").items()}
    ys = {d: torch.tensor(m["emotion"].map(index).to_numpy(), dtype=torch.long) for d, (m, _) in domains.items()}
    rows = []
    for seed in seeds:
        model, info = train_model(registry, xs["train"], ys["train"], seed)
        log(f"{case}: seed {seed} trained in {info['seconds']:.0f} s ({info['steps']} steps)")
        for ratio in ratios:
            for draw in range(draws):
                sup = imbalanced_support(ys["train"].numpy(), ratio, draw_rng(case, seed, ratio, draw))
                x_sup, y_sup = xs["train"][sup], ys["train"][sup]
                counts = np.bincount(y_sup.numpy(), minlength=len(LABELS))
                for rule in RULES:
                    pred = predict(model, xs["test"], x_sup, y_sup, len(LABELS), rule=rule).numpy()
                    m = classification_metrics(ys["test"].numpy(), pred, list(LABELS))
                    rows.append({"case": case, "seed": seed, "ratio": ratio, "draw": draw, "rule": rule,
                                 "uar": m["uar"], "anger_recall": m["recall"]["anger"],
                                 "anger_share": float(np.mean(pred == index["anger"])),
                                 "n_anger": int(counts[0]), "n_other": int(counts[1:].max()),
                                 "n_test": len(pred)})
    return rows


def plot(summary, stem: Path) -> None:
    """Two panels (cases): UAR and anger recall against the ratio (log scale), one colour per rule."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(summary["case"]))
    colours = {"sum": "tab:red", "mean": "tab:blue"}
    metrics = {"uar": ("UAR", "-", "o"), "anger_recall": ("anger recall", "--", "s")}
    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4), squeeze=False, sharey=True)
    for ax, case in zip(axes[0], cases):
        for rule in RULES:
            line = summary[(summary["case"] == case) & (summary["rule"] == rule)].sort_values("ratio")
            for metric, (name, style, marker) in metrics.items():
                ax.plot(line["ratio"], 100 * line[f"{metric}_mean"], style, marker=marker, markersize=4,
                        color=colours[rule], label=f"{name}, {rule} rule")
                ax.fill_between(line["ratio"], 100 * line[f"{metric}_min"], 100 * line[f"{metric}_max"],
                                color=colours[rule], alpha=0.12, linewidth=0)
        ax.axhline(25, color="grey", linewidth=0.8, linestyle=":", label="chance (4 classes)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(RATIOS), [f"{r}:1" for r in RATIOS])
        ax.minorticks_off()
        ax.set_title(case, fontsize=10)
        ax.set_xlabel("support imbalance (anger : each other class)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("% (mean over seeds; band: min–max)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=5, frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    stem.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"svg.hashsalt": "ser-bench"}):
        fig.savefig(stem.with_suffix(".png"), dpi=150, metadata={"Software": None})
        fig.savefig(stem.with_suffix(".svg"), metadata={"Date": None})
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/decision-rule"))
    parser.add_argument("--ravdess", type=Path, default=DEFAULT_RAVDESS,
                        help="a RAVDESS folder (case B is left out when it does not exist)")
    args = parser.parse_args(argv)

    import pandas as pd
    import torch

    from ser_bench.plugin_api.context import RunContext
    from ser_bench.plugin_api.manager import PluginSettings, load_registry
    from ser_bench.running.corpora import prepare_corpus

    torch.set_num_threads(1)
    start = time.perf_counter()
    registry = load_registry(PluginSettings())

    def corpus(name, ctx):
        data = prepare_corpus(name, FEATURE, LABELS, {}, registry, ctx)
        return data.manifest, data.features

    rows = []
    ctx = RunContext()
    source, target = corpus("sim-crema", ctx), corpus("sim-ravdess", ctx)
    case_a = f"A: sim-crema → sim-ravdess ({len(target[0])} test clips)"
    rows += evaluate_case(case_a, registry, source, target)
    if args.ravdess.is_dir():
        manifest, x = corpus("ravdess", RunContext(corpus_paths={"ravdess": str(args.ravdess)}))
        first = manifest["speaker"].astype(int).le(12).to_numpy()
        train = (manifest[first].reset_index(drop=True), x[first])
        test = (manifest[~first].reset_index(drop=True), x[~first])
        case_b = f"B: RAVDESS actors 1-12 → 13-24 ({len(test[0])} test clips)"
        rows += evaluate_case(case_b, registry, train, test)
    else:
        print(f"no RAVDESS at {args.ravdess}: case B left out")

    runs = pd.DataFrame(rows)
    summary = summarise(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(args.out / "runs.csv", index=False, float_format="%.6f")
    plot(summary, args.out / "figure")
    notes = (f"Models fixed per seed ({', '.join(map(str, SEEDS))}); only the support changes. "
             f"{DRAWS} seeded support draws per seed and ratio, averaged within a seed; each cell is the "
             f"mean over seeds (min–max over seeds). Support counts are per class (anger / each of "
             f"happiness, sadness, fear). Every draw is in `runs.csv`.")
    write_readme(args.out / "README.md", markdown_table(summary), notes)
    print(markdown_table(summary))
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
