"""The leaderboard as one self-contained web page: ``ser-bench leaderboard DIR --format html -o SITE/``.

Everything the page needs is inside ``index.html``: the styles, a little vanilla JavaScript (sorting by a
column header, filtering by text and protocol) and the figures as ``data:`` URIs, so it works from
``file://``, offline, with no server and no CDN. Every number comes from
:func:`ser_bench.reporting.export.board_frame`; the page computes no statistic of its own.

The JavaScript reads the URL fragment on load, so a view can be linked (and tested in a headless
browser): ``index.html#sort=uar:asc&q=bce&protocol=fewshot&open=by-k`` (``open=by-k`` unfolds the
few-shot table by k). ``sort`` takes a column key (``protocol``,
``method``, ``pair``, ``k``, ``frozen``, ``uar``, ``n``, ``p_holm``, ``tuned``) and ``asc`` or ``desc``.
"""
from __future__ import annotations

import base64
import html
import math
import re
import tempfile
from pathlib import Path

from ser_bench.reporting.export import ALPHA, board_frame
from ser_bench.reporting.html_page import PAGE, SCRIPT, STYLE
from ser_bench.reporting.html_sections import left_out_splits, measure_sections
from ser_bench.reporting.stats import describe_n
from ser_bench.reporting.tidy import DASH, ok_results

INTRO = ("UAR (unweighted average recall) in %: the mean, its 95 % t-interval drawn as a bar, over the "
         "unit in the <em>n</em> column, the unit a claim about the cell generalises over (held-out speakers "
         "for IDT, source-model seeds for OODT and few-shot with two or more seeds, else the episode draws of "
         "one source model). Each row is tested against the best row of its protocol and source → target "
         "(and, by k, of its k and frozen layers), paired over the same units, Holm-corrected within that "
         "group. Click a column header to sort; type to filter.")

KEYS = ("protocol", "method", "pair", "k", "frozen", "uar", "interval", "n", "p_holm", "tuned")


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _settings_html(pieces: list) -> str:
    """One line of :func:`~ser_bench.reporting.leaderboard.settings_lines` as escaped HTML: its code pieces in
    ``<code>``, the ``*emphasis*`` of its text in ``<em>`` (what the markdown board shows, from the values
    themselves rather than from their markdown, so that a backtick in a value cannot open or close a span)."""
    from ser_bench.reporting.md import Code

    out, run = [], []
    for piece in [*pieces, None]:
        if piece is None or isinstance(piece, Code):
            if run:
                out.append(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", _esc("".join(run))))
                run = []
            if piece is not None:
                out.append(f"<code>{_esc(piece)}</code>")
        else:
            run.append(piece)
    return "".join(out)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value) -> str:
    """A sort key for ``data-sort``: the number as text, "" when missing."""
    return "" if _missing(value) else repr(float(value))


def _pct(value) -> str:
    return DASH if _missing(value) else f"{100 * value:.1f}"


def _scale(rows) -> tuple[float, float]:
    """The UAR range one table's bars share: the intervals and means, widened to whole tenths."""
    values = [v for r in rows for v in (r.get("ci_low"), r.get("ci_high"), r.get("uar")) if not _missing(v)]
    if not values:
        return 0.0, 1.0
    lo, hi = math.floor(min(values) * 10) / 10, math.ceil(max(values) * 10) / 10
    return (lo, hi) if hi > lo else (max(0.0, lo - 0.1), min(1.0, hi + 0.1))


def _bar(row: dict, scale: tuple[float, float], chance: float | None, width: int = 180) -> str:
    """An inline SVG: the 95 % interval as a bar, the mean as a dot, chance level as a dashed line."""
    lo, hi = scale

    def x(v: float) -> float:
        return round(4 + (width - 8) * (v - lo) / (hi - lo), 1)

    parts = [(f'<svg class="bar" width="{width}" height="16" viewBox="0 0 {width} 16" role="img" '
              f'aria-label="{_esc(_interval_text(row))}">'),
             f'<line x1="4" y1="8" x2="{width - 4}" y2="8" class="axis"/>']
    if chance is not None and lo <= chance <= hi:
        parts.append(f'<line x1="{x(chance)}" y1="1" x2="{x(chance)}" y2="15" class="chance"/>')
    kind = "best" if row.get("best") else ("worse" if _significant(row) else "plain")
    if not _missing(row.get("ci_low")) and not _missing(row.get("ci_high")):
        a, b = x(row["ci_low"]), x(row["ci_high"])
        parts.append(f'<rect x="{a}" y="4" width="{max(b - a, 1.0)}" height="8" rx="2" class="ci {kind}"/>')
    if not _missing(row.get("uar")):
        parts.append(f'<circle cx="{x(row["uar"])}" cy="8" r="3.2" class="mean {kind}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _interval_text(row: dict) -> str:
    if _missing(row.get("ci_low")):
        return "no interval (one unit)"
    return f"95 % interval {_pct(row['ci_low'])} to {_pct(row['ci_high'])}"


def _significant(row: dict) -> bool:
    if "significant" in row and not _missing(row["significant"]):
        return bool(row["significant"])
    return not _missing(row.get("p_holm")) and row["p_holm"] < ALPHA


def _mark(row: dict) -> tuple[str, str]:
    """(cell HTML, sort key) of the significance column."""
    if row.get("best"):
        return '<span class="mark best" title="best mean of its group">★ best</span>', ""
    p = row.get("p_holm")
    if _missing(p):
        return f'<span class="muted" title="no paired units to test">{DASH}</span>', ""
    text = f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"
    if _significant(row):
        return (f'{text} <span class="mark worse" title="worse than the best of its group, '
                f'Holm-corrected p &lt; {ALPHA}">▼</span>'), _num(p)
    size = row.get("detectable")
    if _missing(size):
        return f'{text} <span class="muted" title="not significantly different from the best">n.s.</span>', _num(p)
    reach = "∞" if math.isinf(size) else f"±{100 * size:.1f}"
    return (f'{text} <span class="muted" title="not significantly different from the best; the smallest difference '
            f'this test had 80 % power to detect: {reach} UAR points">n.s. (&lt; {reach})</span>'), _num(p)


def _row_html(row: dict, scale, chance, with_k: bool) -> str:
    half = "" if _missing(row.get("ci_low")) else f' <span class="pm">± {100 * (row["ci_high"] - row["ci_low"]) / 2:.1f}</span>'
    mark, p_key = _mark(row)
    trials = int(row.get("tuning_trials") or 0)
    tuned = f"tuned {trials}" if row.get("tuned") else "default"
    n = row.get("n")
    n_text = describe_n(int(n), str(row.get("unit", ""))).removeprefix("n = ") if not _missing(n) else DASH
    classes = "best" if row.get("best") else ("worse" if _significant(row) else "")
    cells = [
        ("protocol", _esc(row["protocol"]), row["protocol"]),
        ("method", _esc(row["method"]), row["method"]),
        ("pair", _esc(row["pair"]), row["pair"]),
    ]
    if with_k:
        cells += [("k", _esc(_int(row.get("k"))), _num(row.get("k"))),
                  ("frozen", _esc(_int(row.get("frozen"))), _num(row.get("frozen")))]
    cells += [
        ("uar", f'<span class="uar">{_pct(row.get("uar"))}</span>{half}', _num(row.get("uar"))),
        ("interval", _bar(row, scale, chance), _num(row.get("ci_low"))),
        ("n", _esc(n_text), _num(n)),
        ("p_holm", mark, p_key),
        ("tuned", _esc(tuned), str(trials)),
    ]
    tds = "".join(f'<td class="c-{key}" data-sort="{_esc(sort)}">{body}</td>' for key, body, sort in cells)
    return (f'<tr class="{classes}" data-protocol="{_esc(row["protocol"])}" '
            f'data-method="{_esc(row["method"])}">{tds}</tr>')


def _int(value) -> str:
    return DASH if _missing(value) else str(int(value))


HEADERS = {"protocol": ("protocol", "text"), "method": ("method", "text"), "pair": ("source → target", "text"),
           "k": ("k", "num"), "frozen": ("frozen", "num"), "uar": ("UAR %", "num"),
           "interval": ("95 % interval", "num"), "n": ("n (unit)", "num"),
           "p_holm": ("p (Holm) vs best", "num"), "tuned": ("tuned", "num")}


def _table(rows: list[dict], table_id: str, caption: str, chance, with_k: bool) -> str:
    keys = [k for k in KEYS if with_k or k not in ("k", "frozen")]
    scale = _scale(rows)
    head = "".join(f'<th data-key="{k}" data-type="{HEADERS[k][1]}" class="c-{k}" tabindex="0" '
                   f'title="click to sort">{_esc(HEADERS[k][0])}</th>' for k in keys)
    body = "\n".join(_row_html(r, scale, chance, with_k) for r in rows)
    axis = f"bars from {100 * scale[0]:.0f} to {100 * scale[1]:.0f} % UAR" + (
        f"; dashed line: chance ({100 * chance:.1f} %)" if chance is not None and scale[0] <= chance <= scale[1]
        else "")
    return (f'<table id="{table_id}" class="board">'
            f'<caption>{_esc(caption)} <span class="count" data-total="{len(rows)}">{len(rows)} rows</span>'
            f' <span class="scale">({_esc(axis)})</span></caption>'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>")


def _records(frame) -> list[dict]:
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _figure_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _figures(results: list, board) -> list[tuple[str, str, str]]:
    """(title, data URI, caption) of each figure the results allow: the critical-difference diagram,
    few-shot curves (UAR against k), the normalised area under them ranked (:func:`_curve_figure`), layer
    curves (UAR against frozen layers) and, for a layer-wise run of a layered feature, UAR against the
    model's layer."""
    from ser_bench.reporting.figures import plot_board_curves, plot_critical_difference
    from ser_bench.reporting.ranks import block_scores, rank_analysis
    from ser_bench.reporting.tidy import tidy

    figures = []
    by_k = board[board["level"] == "k"]
    with tempfile.TemporaryDirectory(prefix="ser-bench-html-") as tmp:
        frame = tidy(ok_results(results))
        analysis = rank_analysis(block_scores(frame)) if not frame.empty else None
        if analysis is not None:
            paths = plot_critical_difference(analysis.average_ranks, analysis.critical_difference,
                                             Path(tmp) / "ranks",
                                             f"Average ranks over {analysis.n_blocks} settings (1 = best)")
            friedman = ("no Friedman test (it needs three or more methods)" if math.isnan(analysis.friedman_statistic)
                        else f"Friedman χ² = {analysis.friedman_statistic:.2f}, p = {analysis.friedman_p:.3g}")
            dropped = ("; not ranked (not run in every block): " + ", ".join(sorted(analysis.dropped_methods))
                       if analysis.dropped_methods else "")
            figures.append(("Average ranks across settings (Demšar 2006)", _figure_uri(paths[0]),
                            (f"Blocks: each protocol and source → target, and for few-shot each k "
                             f"({analysis.n_blocks} blocks); {friedman}; Nemenyi critical difference at "
                             f"α = {analysis.alpha}: CD = {analysis.critical_difference:.2f}. A bar joins "
                             f"methods whose average ranks differ by less than CD{dropped}.")))
        if not by_k.empty and by_k["k"].nunique() > 1:
            path = plot_board_curves(by_k, "k", "frozen", Path(tmp) / "fewshot")
            figures.append(("Few-shot curves (as the paper's Figure 2)", _figure_uri(path),
                            ("UAR against the number of target speakers used for fine-tuning, one panel per "
                             "source → target and number of frozen layers, one line per method; bands: the 95 % "
                             "intervals of the table by k.")))
        figures += _curve_figure(results, Path(tmp))
        if not by_k.empty and by_k["frozen"].nunique() > 1:
            path = plot_board_curves(by_k, "frozen", "k", Path(tmp) / "layers")
            figures.append(("Layer curves", _figure_uri(path),
                            ("UAR against the number of frozen encoder layers during fine-tuning, one panel per "
                             "source → target and k, one line per method; bands: the 95 % intervals of the "
                             "table by k.")))
        figures += _layer_figures(results, Path(tmp))
    return figures


def _curve_figure(results: list, folder: Path) -> list[tuple[str, str, str]]:
    """The few-shot curves with frozen-layer settings pooled and each method's normalised area under UAR
    against k, ranked (:func:`~ser_bench.reporting.curves.rank_curves`), as :func:`_figures` gives them;
    [] when no method ran two or more k."""
    from ser_bench.reporting.curves import rank_curves
    from ser_bench.reporting.figures import plot_curve_ranking
    from ser_bench.reporting.tidy import breakdown_table

    ok = ok_results(results)
    frame = breakdown_table(ok, axes=("k",)) if ok else None
    rankings = rank_curves(frame) if frame is not None and not frame.empty else []
    if not rankings:
        return []
    paths = plot_curve_ranking(rankings, folder / "fewshot_curves")
    groups = []
    for r in rankings:
        ranked = ", ".join(f"{row.rank:g}. {row.method} {_pct(row.area)}"
                           + ("" if _missing(row.lo) else f" ± {100 * row.half_width:.1f}")
                           for row in r.rows)
        left = ("; left out: " + ", ".join(f"{m} ({why})" for m, why in r.left_out.items())) if r.left_out else ""
        name = r.pair if len({g.protocol for g in rankings}) == 1 else f"{r.protocol} · {r.pair}"
        groups.append(f"{name} (k = {', '.join(map(str, r.ks))}): {ranked}{left}")
    return [("Few-shot curves: area under UAR against k", _figure_uri(paths[0]),
             ("UAR against k, frozen-layer settings pooled, one line per method; bands: 95 % t-intervals over "
              "the units (source seeds, or the episode draws of one source model). Normalised area (the "
              "trapezoidal area divided by the k range: a mean UAR % over the k span, comparable only on the "
              "same k list), ranked: " + " · ".join(groups) + "."))]


def _layer_figures(results: list, folder: Path) -> list[tuple[str, str, str]]:
    """The UAR-by-layer plot of each layer-wise setting (``ssl.layers=all``), as :func:`_figures` gives them."""
    from ser_bench.reporting.layers import layer_tables, plot_layers

    out = []
    for i, (title, setting, table) in enumerate(layer_tables(results)):
        paths = plot_layers(table, folder / f"ssl-layers-{i}", f"UAR by layer: {title}")
        out.append((f"UAR by layer: {title}", _figure_uri(paths[0]),
                    f"Mean UAR of each layer's cell over its splits, then over seeds, one line per protocol "
                    f"(each cell's interval is in the summary table). Settings: {setting}."))
    return out


def _provenance(results: list) -> list[str]:
    """HTML lines of the footer: versions, commits, creation dates and corpora, as the records state them."""
    ok = ok_results(results)
    packages: dict = {}
    commits: dict = {}
    created = sorted(r.created for r in ok if r.created)
    corpora: dict = {}
    for r in ok:
        provenance = r.provenance or {}
        for name, version in (provenance.get("packages") or {}).items():
            packages.setdefault(name, set()).add(str(version))
        commit = provenance.get("git_commit")
        commits[commit or "not recorded"] = commits.get(commit or "not recorded", 0) + 1
        for record in (r.data or {}).values():
            entry = corpora.setdefault(record.dataset, {"hashes": set(), "clips": set(), "speakers": set()})
            entry["hashes"].add(record.manifest_hash or "not recorded")
            if record.clips_used is not None:
                entry["clips"].add(record.clips_used)
            if record.speakers is not None:
                entry["speakers"].add(record.speakers)
    lines = []
    if packages:
        lines.append("<b>Versions</b>: " + "; ".join(
            f"{_esc(name)} {_esc(', '.join(sorted(v)))}" for name, v in packages.items()))
    else:
        lines.append("<b>Versions</b>: not recorded in these result files")
    lines.append("<b>Commits</b>: " + "; ".join(
        f"<code>{_esc(c[:12])}</code> ({n} file{'' if n == 1 else 's'})" for c, n in sorted(commits.items())))
    if created:
        first, last = created[0][:10], created[-1][:10]
        lines.append(f"<b>Results created</b>: {_esc(first if first == last else f'{first} to {last}')}")
    if corpora:
        lines.append("<b>Corpora</b>: " + "; ".join(
            f"{_esc(name)} (manifest <code>{_esc(', '.join(h[:12] for h in sorted(c['hashes'])))}</code>"
            + (f", {_esc(', '.join(map(str, sorted(c['clips']))))} clips" if c["clips"] else "")
            + (f", {_esc(', '.join(map(str, sorted(c['speakers']))))} speakers" if c["speakers"] else "") + ")"
            for name, c in sorted(corpora.items())))
    lines.append(f"{len(ok)} result files; page written by ser-bench {_esc(_version())} "
                 "from the typed records, with no network access needed to view it.")
    return lines


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ser-bench")
    except PackageNotFoundError:
        return "(not installed)"


def _chance(results: list) -> float | None:
    labels = {len(r.params.labels) for r in ok_results(results)}
    return 1 / labels.pop() if len(labels) == 1 and 0 not in labels else None


def to_html(results: list, title: str = "ser-bench leaderboard", problems: list | None = None) -> str:
    """The leaderboard of ``results`` (:class:`~ser_bench.results.record.Result`) as one self-contained HTML
    page: settings, the summary table (and the few-shot table by k and frozen layers), intervals as bars,
    Holm-corrected significance marks, the figures embedded, and a provenance footer. ``problems`` (the
    result files a folder's reader left out, as text) are listed on the page, and so are the splits left out
    of the means, one line per cause as on the markdown board. Writing the same results
    twice gives the same bytes (no timestamp of its own)."""
    from ser_bench.reporting.leaderboard import settings_lines

    board = board_frame(results)
    chance = _chance(results)
    cells = _records(board[board["level"] == "cell"])
    by_k = _records(board[board["level"] == "k"])
    protocols = list(dict.fromkeys(board["protocol"]))
    settings = "".join(f"<li>{_settings_html(pieces)}</li>" for pieces in settings_lines(results))
    options = "".join(f'<option value="{_esc(p)}">{_esc(p)}</option>' for p in protocols)
    caption = "Summary: one row per method and source → target" + (" (few-shot: every k pooled)" if by_k else "")
    tables = [_table(cells, "board-cell", caption, chance, with_k=False)]
    if by_k:
        tables.append('<details id="by-k"><summary>Few-shot by number of target speakers k and frozen layers '
                      f'({len(by_k)} rows)</summary>'
                      + _table(by_k, "board-k", "Few-shot by k and frozen layers", chance, with_k=True)
                      + "</details>")
    figures = "".join(
        f'<figure><figcaption><b>{_esc(name)}</b></figcaption><img src="{uri}" alt="{_esc(name)}">'
        f"<p class=\"note\">{_esc(caption)}</p></figure>" for name, uri, caption in _figures(results, board))
    footer = "".join(f"<p>{line}</p>" for line in _provenance(results))
    left_out = measure_sections(results) + left_out_splits(results)
    left_out += ('<section id="left-out"><h2>Result files left out</h2><ul>'
                 + "".join(f"<li>{_esc(p)}</li>" for p in problems) + "</ul></section>") if problems else ""
    legend = ('<p class="legend"><span class="mark best">★ best</span> the best mean of its group · '
              f'<span class="mark worse">▼</span> worse than that best, Holm-corrected p &lt; {ALPHA} · '
              '<span class="muted">n.s.</span> not significantly different · '
              f'<span class="muted">{DASH}</span> no paired units (or one unit: no interval)</p>')
    return PAGE.format(
        title=_esc(title), intro=INTRO, settings=settings, options=options, legend=legend,
        tables="\n".join(tables), figures=(f'<section id="figures"><h2>Figures</h2>{figures}</section>'
                                           if figures else "") + left_out,
        footer=footer, style=STYLE, script=SCRIPT)


def write_site(results: list, folder, title: str = "ser-bench leaderboard", problems: list | None = None) -> Path:
    """Write :func:`to_html` of ``results`` to ``folder/index.html`` (creating ``folder``); return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    path.write_text(to_html(results, title=title, problems=problems), encoding="utf-8")
    return path
