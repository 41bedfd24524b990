"""Figures from result files (matplotlib, no display needed)."""
from __future__ import annotations

import math
from pathlib import Path


def plot_fewshot_curves(curve_frame, stem: Path, title: str = "") -> list[Path]:
    """UAR against the number of target speakers: one panel per source → target, one line per loss and
    frozen-layer setting, 95 % CI bands. Writes ``stem.png`` and ``stem.svg``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = sorted(curve_frame["pair"].unique())
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4), squeeze=False, sharey=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    losses = sorted(curve_frame["loss"].unique())
    for ax, pair in zip(axes[0], pairs):
        sub = curve_frame[curve_frame["pair"] == pair]
        for li, loss in enumerate(losses):
            for frozen in sorted(sub["frozen"].unique()):
                line = sub[(sub["loss"] == loss) & (sub["frozen"] == frozen)].sort_values("k")
                if line.empty:
                    continue
                colour = colours[int(frozen) % len(colours)]
                ax.plot(line["k"], 100 * line["uar"], styles[li % len(styles)], color=colour, marker="o",
                        markersize=3, label=f"{loss}, {frozen} frozen")
                ax.fill_between(line["k"], 100 * line["lo"], 100 * line["hi"], color=colour, alpha=0.12)
        ax.set_xticks(sorted(sub["k"].unique()))
        ax.set_title(pair)
        ax.set_xlabel("target speakers used for fine-tuning (k)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("UAR (%)")
    # One legend under the panels: inside a panel it hides the lowest curves.
    handles, labels = axes[0][-1].get_legend_handles_labels()
    columns = max(1, len(losses))  # entries run loss by loss and fill columns first: one column per loss
    rows = -(-len(labels) // columns)
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=columns, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.045 * rows, 1, 1))
    return _save(fig, stem)


def _save(fig, stem, tight: bool = False) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` and close the figure (``tight``: crop to what is drawn,
    labels outside the axes included)."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    # Fixed ids and no timestamp, so that regenerating a figure from the same results changes no byte.
    with plt.rc_context({"svg.hashsalt": "ser-bench"}):
        extra = {"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}
        fig.savefig(paths[0], dpi=150, metadata={"Software": None}, **extra)
        fig.savefig(paths[1], metadata={"Date": None}, **extra)
    plt.close(fig)
    return paths


def plot_critical_difference(average_ranks, cd: float, stem: Path, title: str = "") -> list[Path]:
    """Demšar's critical-difference diagram: methods on an axis of average rank (1 = best, on the left),
    the CD drawn to scale above it, and a bar joining methods whose average ranks differ by less than
    the CD (not significantly different by the Nemenyi test). Writes ``stem.png`` and ``stem.svg``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ser_bench.reporting.ranks import cliques

    names, values = list(average_ranks.index), [float(v) for v in average_ranks]
    k = len(names)
    half = (k + 1) // 2
    groups = cliques(average_ranks, cd)
    rows = max(half, k - half)
    bottom = -(0.5 + 0.32 * (rows - 1) + 0.25 * len(groups)) - 0.3
    fig, ax = plt.subplots(figsize=(8, 0.9 * (1.6 - bottom)))
    low, high = 1, max(k, 2)
    ax.set_xlim(low - 0.4, high + 0.4)
    ax.set_ylim(bottom, 1.6)
    ax.axis("off")
    ax.hlines(0, low, high, color="black", linewidth=1)
    for tick in range(low, high + 1):
        ax.vlines(tick, 0, 0.12, color="black", linewidth=1)
        ax.text(tick, 0.2, str(tick), ha="center", va="bottom", fontsize=9)
    if cd == cd:  # not NaN
        ax.hlines(0.95, low, low + cd, color="black", linewidth=1.5)
        ax.vlines([low, low + cd], 0.85, 1.05, color="black", linewidth=1.5)
        ax.text(low + cd / 2, 1.1, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for i, (name, value) in enumerate(zip(names, values)):
        left = i < half
        depth = -(0.5 + 0.32 * (i if left else k - 1 - i)) - 0.25 * len(groups)
        end = low - 0.3 if left else high + 0.3
        ax.plot([value, value, end], [0, depth, depth], color="black", linewidth=0.8)
        ax.text(end + (-0.05 if left else 0.05), depth, f"{name} ({value:.2f})", ha="right" if left else "left",
                va="center", fontsize=8)
    for g, (first, last) in enumerate(groups):
        y = -0.15 - 0.25 * g
        ax.plot([values[first] - 0.03, values[last] + 0.03], [y, y], color="black", linewidth=3,
                solid_capstyle="round")
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, stem, tight=True)


AXIS_LABELS = {"k": "target speakers used for fine-tuning (k)", "frozen": "frozen encoder layers"}


def plot_board_curves(by_k, x: str, panel: str, stem: Path) -> Path:
    """UAR against ``x`` (``k`` or ``frozen``) from the ``k`` rows of
    :func:`~ser_bench.reporting.export.board_frame`: one panel per pair and value of
    ``panel``, one line per method (the same colour in every panel and figure), the rows' intervals as
    bands. (:func:`plot_fewshot_curves` draws the paper's two losses; with five or more methods in one
    pair its one-line-per-loss-and-frozen legend runs off the figure.)"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(p, int(v)) for p, v in zip(by_k["pair"], by_k[panel])})
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * columns + 0.4, 3.0 * rows + 0.6), squeeze=False,
                             sharey=True)
    methods = sorted(by_k["variant"].unique())
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = {}
    for ax, (pair, value) in zip(axes.flat, panels):
        sub = by_k[(by_k["pair"] == pair) & (by_k[panel] == value)]
        for i, method in enumerate(methods):
            line = sub[sub["variant"] == method].sort_values(x)
            if line.empty:
                continue
            colour = colours[i % len(colours)]
            handles[method], = ax.plot(line[x], 100 * line["uar"], marker="o", markersize=3, color=colour,
                                       linestyle="-" if i < len(colours) else "--", label=method)
            ax.fill_between(line[x], 100 * line["ci_low"], 100 * line["ci_high"], alpha=0.10, color=colour,
                            linewidth=0)
        ax.set_xticks(sorted(sub[x].unique()))
        ax.set_title(f"{pair}, {value} frozen" if panel == "frozen" else f"{pair}, k = {value}", fontsize=9)
        ax.set_xlabel(AXIS_LABELS[x], fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("UAR (%)")
    legend_columns = min(len(handles), 5)
    legend_rows = -(-len(handles) // legend_columns)
    fig.legend(list(handles.values()), list(handles), fontsize=8, loc="lower center", ncol=legend_columns,
               frameon=False)
    fig.tight_layout(rect=(0, 0.25 * legend_rows / fig.get_figheight(), 1, 1))
    path = stem.with_suffix(".png")
    fig.savefig(path, dpi=100, metadata={"Software": None})  # no version stamp: same results, same bytes
    plt.close(fig)
    return path


def plot_curve_ranking(rankings, stem: Path, title: str = "") -> list[Path]:
    """UAR against k for each :class:`~ser_bench.reporting.curves.CurveRanking`: one panel per protocol and
    source → target, one line per ranked method (the same colour in every panel), frozen-layer settings
    pooled, the 95 % intervals over the ranking's units as bands; the legend of each panel gives the
    methods best first with their normalised area. Writes ``stem.png`` and ``stem.svg``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ser_bench.reporting.tidy import natural_key

    protocols = {r.protocol for r in rankings}
    columns = min(len(rankings), 3)
    rows = -(-len(rankings) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns + 0.4, 3.8 * rows + 0.4), squeeze=False,
                             sharey=True)
    methods = sorted({row.method for r in rankings for row in r.rows}, key=natural_key)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, ranking in zip(axes.flat, rankings):
        for row in ranking.rows:
            i = methods.index(row.method)
            colour = colours[i % len(colours)]
            ks = [p.k for p in row.points]
            ax.plot(ks, [100 * p.uar for p in row.points], marker="o", markersize=3, color=colour,
                    linestyle="-" if i < len(colours) else "--", label=f"{row.method} ({100 * row.area:.1f})")
            if not any(math.isnan(p.lo) for p in row.points):
                ax.fill_between(ks, [100 * p.lo for p in row.points], [100 * p.hi for p in row.points],
                                alpha=0.10, color=colour, linewidth=0)
        ax.set_xticks(list(ranking.ks))
        name = ranking.pair if len(protocols) == 1 else f"{ranking.protocol} · {ranking.pair}"
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(AXIS_LABELS["k"], fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="area (mean UAR %)", title_fontsize=7, loc="best")
    for ax in axes.flat[len(rankings):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("UAR (%)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, stem)
