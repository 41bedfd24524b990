"""The layer-wise view of a layered feature (``--feature-param ssl.layers=all``): UAR per layer, as a
table and a line plot (layer on x, UAR on y, one line per protocol), and the feature settings line.

A result belongs to the view when its ``feature_params`` select a single layer (``layers: [i]``) and
other results of the same feature and settings select other layers. A layer's value is the mean UAR
of its cell's splits (held-out speakers for IDT, the one split of OODT, the episodes of few-shot),
averaged over seeds: a profile across layers, not a claim with an interval (the summary table above
gives each layer's cell with its interval). Everything heavy is imported by the functions that need it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

_HEX = re.compile(r"[0-9a-f]{32,}")


def _short(value) -> str:
    """A setting for the eye: long hashes cut to 12 characters, lists comma-separated."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(_short, value))
    text = str(value)
    return text[:12] if _HEX.fullmatch(text) else text


def feature_lines(results: list) -> list[str]:
    """Markdown bullets stating each feature's parameters (model, revision, hash, layers, pooling, dtype,
    device): one value, or every value found when results differ (the layers of a layer-wise run)."""
    from ser_bench.reporting.md import render_line

    return [f"- {render_line(pieces)}" for pieces in feature_settings(results)]


def feature_settings(results: list) -> list[list[str]]:
    """:func:`feature_lines` as pieces, text and :class:`~ser_bench.reporting.md.Code` (see
    :func:`ser_bench.reporting.leaderboard.settings_lines`)."""
    from ser_bench.reporting.md import Code
    from ser_bench.reporting.tidy import ok_results

    by_feature: dict = {}
    for r in ok_results(results):
        for key, value in (r.params.get("feature_params") or {}).items():
            if value in ("", None):  # not set (a local folder has no hub revision)
                continue
            by_feature.setdefault(r.params.feature, {}).setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    lines = []
    for feature, settings in sorted(by_feature.items()):
        parts = []
        for key, values in settings.items():
            shown = sorted((_short(json.loads(v)) for v in values), key=_natural)
            parts.append(f"{key}={shown[0]}" if len(shown) == 1 else f"{key}: {' | '.join(shown)}")
        lines.append(["feature ", Code(feature), ": " + "; ".join(parts)])
    return lines


def _natural(text: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def layer_frame(results: list):
    """One row per (feature setting, protocol, loss, source → target, layer) of the layer-wise results:
    ``uar`` (mean over the cell's splits, then over seeds) and ``cells``; None when there are none."""
    import pandas as pd

    from ser_bench.reporting.tidy import missing_test_classes, ok_results, pair_name

    rows = []
    for r in ok_results(results):
        params = dict(r.params.get("feature_params") or {})
        layers = params.pop("layers", None)
        if not (isinstance(layers, list) and len(layers) == 1):
            continue
        uars = [s.metrics.uar for s in r.splits if not missing_test_classes(r, s)]
        if not uars:
            continue
        rows.append({"setting": f"{r.params.feature} " + json.dumps(params, sort_keys=True), "feature": r.params.feature,
                     "model": str(params.get("model", "")), "protocol": r.params.protocol, "loss": r.params.loss,
                     "pair": pair_name(r.params.source, r.params.target), "source": r.params.source or "",
                     "target": r.params.target, "layer": int(layers[0]),
                     "uar": sum(uars) / len(uars)})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    spread = frame.groupby("setting")["layer"].nunique()
    frame = frame[frame["setting"].isin(spread[spread >= 2].index)]
    if frame.empty:
        return None
    keys = ["setting", "feature", "model", "protocol", "loss", "pair", "source", "target", "layer"]
    return frame.groupby(keys, as_index=False).agg(uar=("uar", "mean"), cells=("uar", "size"))


def _line_labels(frame) -> list[str]:
    """Protocol, plus the loss when losses differ and source → target when targets (or the sources of
    the protocols that have one) differ within the setting."""
    varied = ["loss"] if frame["loss"].nunique() > 1 else []
    if frame["target"].nunique() > 1 or frame.loc[frame["source"] != "", "source"].nunique() > 1:
        varied.append("pair")
    return [" · ".join([row["protocol"], *(row[c] for c in varied)]) for _, row in frame.iterrows()]


def layer_tables(results: list) -> list[tuple]:
    """``(title, table)`` per feature setting: rows are layers, columns the lines (UAR %, one decimal)."""
    from ser_bench.reporting.tidy import layouts

    frame = layer_frame(results)
    if frame is None:
        return []
    rank = {protocol: layout["order"] for protocol, layout in layouts(results).items()}
    out = []
    for setting, sub in frame.groupby("setting", sort=True):
        sub = sub.assign(line=_line_labels(sub))
        table = sub.pivot_table(index="layer", columns="line", values="uar").mul(100).round(1)
        order = sorted(table.columns, key=lambda c: (rank.get(c.split(" · ")[0], 1), c))
        title = f"{sub['feature'].iloc[0]} {_short(sub['model'].iloc[0])}".strip()
        out.append((title, setting, table[order]))
    return out


def plot_layers(table, stem: Path, title: str = "") -> list[Path]:
    """Line plot of a :func:`layer_tables` table: layer on x, UAR % on y, one line per column. Writes
    ``stem.png`` and ``stem.svg``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ser_bench.reporting.figures import _save

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for column in table.columns:
        ax.plot(table.index, table[column], marker="o", markersize=4, label=column)
    ax.set_xticks(list(table.index))
    ax.set_xlabel("layer (0: the transformer's input)")
    ax.set_ylabel("UAR (%)")
    ax.grid(alpha=0.3)
    # Under the axes: inside, it hides the lines it names.
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(4, len(table.columns)))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, stem)


def layer_section(results: list, figure_dir: Path | None = None) -> list[str]:
    """Markdown lines of the layer-wise section ([] without layer-wise results); with ``figure_dir`` each
    setting's line plot is written there (``layers.png``, ``layers-2.png``, ...) and linked."""
    from ser_bench.reporting import md

    tables = layer_tables(results)
    if not tables:
        return []
    lines = ["## UAR % by layer", "",
             "Mean UAR of each layer's cell over its splits, then over seeds: a profile across layers (each "
             "cell's interval is in the table above).", ""]
    for i, (title, setting, table) in enumerate(tables):
        lines += [f"### {md.text(title)}", "", f"Settings: {md.code(setting)}", "",
                  md.table(table.reset_index(), index=False), ""]
        if figure_dir is not None:
            stem = Path(figure_dir) / ("layers" if i == 0 else f"layers-{i + 1}")
            plot_layers(table, stem, f"UAR by layer: {title}")
            lines += [f"![UAR by layer]({stem.name}.png)", ""]
    return lines
