"""Figures from result files (matplotlib, no display needed)."""
from __future__ import annotations

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
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    # Fixed ids and no timestamp, so that regenerating a figure from the same results changes no byte.
    with plt.rc_context({"svg.hashsalt": "ser-bench"}):
        fig.savefig(paths[0], dpi=150, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths
