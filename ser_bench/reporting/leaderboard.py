"""Leaderboards: a pure function of a results folder -> tidy DataFrame -> markdown/csv/json tables.

A cell that is missing (or failed) shows as a dash, never as a smaller mean over what happens to be
there; results with different label sets are never put in one column. Names and settings come from
result files, which anyone can edit: every table cell, bullet and code span is escaped for where it
stands (:mod:`ser_bench.reporting.md`), so a value can never add a row, a line or markup to a board.

numpy, pandas and the statistics are imported by the functions that compute, so that importing this
module (the command line does, for a board it may find in the cache) costs next to nothing.
"""
from __future__ import annotations

import json
from pathlib import Path

from ser_bench.errors import SerBenchError
from ser_bench.reporting import md
from ser_bench.reporting.md import Code
from ser_bench.reporting.sections import interval_text
from ser_bench.reporting.tidy import (DASH, describe_left_out, natural_key, ok_results, pair_name,
                                     tidy)


def summary_table(results: list):
    """Rows: method (protocol · loss); columns: ``source → target``, then ``n``; cells: UAR % mean ± 95 % CI
    half-width over the unit that a claim about that cell generalises over (:mod:`ser_bench.reporting.stats`):
    held-out speakers for IDT, source seeds for OODT, and for few-shot source seeds (two or more) or else
    the episode draws of the one source model. The ``n`` column states n and the unit. Rendered from the
    ``cell`` rows of :func:`~ser_bench.reporting.export.board_frame`.

    Protocols without a source (IDT) fill every source column of their target, as in the paper's Table 1.
    Rows keep the protocol order oodt, fewshot, idt; within a protocol the best mean over its cells comes
    first, and a row missing a cell that another row of its protocol has ranks below every complete row.
    """
    from ser_bench.reporting.export import board_frame

    return table_from_board(board_frame(results, tests=False))


def table_from_board(board):
    """:func:`summary_table` from an already computed board frame; a frame without ``ci_low`` and
    ``ci_high`` (``board_frame(..., intervals=False)``) gives the means alone."""
    import pandas as pd

    nan = float("nan")
    cells = board[board["level"] == "cell"]
    pairs = sorted({(s, t) for s, t in zip(cells["source"], cells["target"]) if s})
    pairs += sorted({("", t) for t in cells["target"]} - {("", t) for (_, t) in pairs})
    columns = [_column(s, t) for s, t in pairs]
    methods = sorted(set(cells["method"]))
    table = pd.DataFrame(DASH, index=methods, columns=columns)
    means = pd.DataFrame(nan, index=methods, columns=columns)
    units: dict = {}
    for row in cells.itertuples():
        for s, t in pairs:
            if t == row.target and (s == row.source or not row.source):
                table.loc[row.method, _column(s, t)] = interval_text(row.uar, getattr(row, "ci_low", nan),
                                                            getattr(row, "ci_high", nan))
                means.loc[row.method, _column(s, t)] = row.uar
                units.setdefault(row.method, {})[_column(s, t)] = (row.n, row.unit)
    # board_frame sorts the protocols by their declared order: keep it
    order = _score_order(means, {protocol: i for i, protocol in enumerate(dict.fromkeys(cells["protocol"]))})
    table = table.loc[order]
    table["n"] = [_describe_units([units[m][c] for c in columns if c in units[m]]) for m in order]
    table.index.name = "method"
    return table


def _score_order(means, protocol_order: dict) -> list[str]:
    """Protocol order; within a protocol, complete rows first, then by mean over cells, best first."""
    def key(method):
        protocol = method.split(" · ")[0]
        filled = means.loc[[m for m in means.index if m.split(" · ")[0] == protocol]].notna().any()
        row = means.loc[method]
        missing = int((filled & row.isna()).sum())
        return (protocol_order.get(protocol, len(protocol_order)), missing, -float(row.mean()), natural_key(method))
    return sorted(means.index, key=key)


def _describe_units(found: list[tuple[int, str]]) -> str:
    """``n = 3 source seeds``; ``n = 24, 12 held-out speakers`` when columns differ in n."""
    from ser_bench.reporting.stats import describe_n

    if not found:
        return DASH
    units = list(dict.fromkeys(u for _, u in found))
    if len(units) == 1:
        counts = list(dict.fromkeys(n for n, _ in found))
        return describe_n(counts[0], units[0]) if len(counts) == 1 else \
            f"n = {', '.join(map(str, counts))} {units[0]}"
    return "; ".join(dict.fromkeys(describe_n(n, u) for n, u in found))


def _column(source: str, target: str) -> str:
    return pair_name(source, target)


def fewshot_by_k(results: list, board=None):
    """UAR % by number of target speakers k (columns) for each source → target, loss and frozen layers:
    the ``k`` rows of :func:`~ser_bench.reporting.export.board_frame` (``board``, when already computed);
    None without few-shot results."""
    return breakdown_by(results, ("k", "frozen"), board)


def breakdown_by(results: list, axes: tuple, board=None):
    """UAR % by the first of ``axes`` (columns) for each source → target, loss and value of the other
    axes: the breakdown rows of :func:`~ser_bench.reporting.export.board_frame` of the protocols that
    break their results down by ``axes`` (their :class:`~ser_bench.plugin_api.types.BoardLayout`); None
    without such rows."""
    if board is None:
        from ser_bench.reporting.export import board_frame

        board = board_frame(results, tests=False, intervals=False)
    rows = board[board["level"] == "k"]
    rows = rows[rows[list(axes)].notna().all(axis=1)] if set(axes) <= set(rows.columns) else rows.iloc[:0]
    if rows.empty:
        return None
    rows = rows.assign(setting=[pair_name(s, t) for s, t in zip(rows["source"], rows["target"])],
                       **{axis: rows[axis].astype(int) for axis in axes})
    means = rows.set_index(["setting", "variant", *axes[1:], axes[0]])["uar"].mul(100).round(1).unstack(axes[0])
    means = means.loc[sorted(means.index, key=lambda row: (row[0], natural_key(row[1]), *row[2:]))]
    return means.rename_axis(index={"variant": "loss"})


def breakdown_markdown(results: list, axes: tuple, board=None) -> str:
    """:func:`breakdown_by` as a markdown table, a dash where a setting has no result; "" without rows."""
    table = breakdown_by(results, axes, board)
    if table is None:
        return ""
    frame = table.reset_index()
    return md.table(frame.astype(object).where(frame.notna(), None), index=False, missingval=DASH)


def fewshot_by_k_markdown(results: list, board=None) -> str:
    """:func:`fewshot_by_k` as a markdown table, a dash where a setting has no result; "" if no few-shot."""
    return breakdown_markdown(results, ("k", "frozen"), board)


def settings_header(results: list[dict]) -> list[str]:
    """Bullet lines stating the settings every number depends on (:func:`settings_lines` as markdown)."""
    return [f"- {md.render_line(pieces)}" for pieces in settings_lines(results)]


def settings_lines(results: list[dict]) -> list[list[str]]:
    """The settings every number depends on, one line each, as pieces: text and code spans
    (:class:`~ser_bench.reporting.md.Code`), which the markdown and HTML boards each escape their own way."""
    ok = ok_results(results)
    lines = []
    protocols: dict = {}
    for r in ok:
        protocols.setdefault(r.params.protocol, set()).add(json.dumps(r.params.protocol_params,
                                                                            sort_keys=True))
    for name, settings in sorted(protocols.items()):
        pieces = ["protocol ", Code(name), ": "]
        for i, setting in enumerate(sorted(settings)):
            pieces += ["; ", Code(setting)] if i else [Code(setting)]
        lines.append(pieces)
    lines += overlap_settings(ok)
    for key in ("labels", "feature", "encoder", "pretrain_loss", "head", "decision", "normalise"):
        by_value: dict = {}
        for r in ok:
            value = r.params.get(key, "siamese" if key == "head" else "")
            text = json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)
            by_value.setdefault(text, set()).add(r.params.loss)
        if len(by_value) == 1:
            lines.append([f"{key}: {next(iter(by_value))}"])
        else:  # which loss used which, since a loss's own default does not label its rows
            lines.append([f"{key}: " + "; ".join(f"{v} ({', '.join(sorted(losses))})"
                                                 for v, losses in sorted(by_value.items()))])
    from ser_bench.reporting.layers import feature_settings

    lines += feature_settings(ok)  # a model's id, revision, hash, layers, pooling, dtype and device
    loss_params = sorted({f'{r.params.loss} {json.dumps(r.params.get("loss_params") or {}, sort_keys=True)}'
                          for r in ok})
    lines.append([f"loss parameters: {'; '.join(loss_params)}"])
    trainings = sorted({json.dumps(r.params.training, sort_keys=True) for r in ok})
    lines.append([f"training: {'; '.join(trainings)}"])
    lines += tuning_settings(ok)
    seeds = sorted({r.params.seed for r in ok})
    lines.append([f"seeds: {', '.join(map(str, seeds))}; result files: {len(ok)}"
                  + (f" ({len(results) - len(ok)} not ok, shown as {DASH})" if len(results) > len(ok) else "")])
    return lines


def overlap_settings(ok: list) -> list[list[str]]:
    """A line (as pieces, see :func:`settings_lines`) per protocol and target whose splits tested speakers they
    also trained or were supported on (each split's recorded ``speaker_overlap``, which only a protocol that
    allows it has: an official split's partitions, few-shot ``test=samples``): those numbers are not
    speaker-independent, and the board says so beside the speaker-independent protocols' rows."""
    found: dict = {}
    for r in ok:
        entry = found.setdefault((r.params.protocol, r.params.target), (set(), set(), set(), r.layout["split_noun"]))
        for s in r.splits:
            entry[2].add(s.name)
            if s.speaker_overlap:
                entry[0].update(str(speaker) for speaker in s.speaker_overlap)
                entry[1].add(s.name)
    lines = []
    for (protocol, target), (speakers, overlapping, names, noun) in sorted(found.items()):
        if speakers:
            shown = sorted(speakers, key=natural_key)
            lines.append(["*not speaker-independent*: protocol ", Code(protocol), " on ", Code(target), ": "
                          f"{len(shown)} tested speaker(s) also in the training or support set, in {len(overlapping)} "
                          f"of {len(names)} {noun}(s): ", Code(", ".join(shown[:10]) + (", ..." if len(shown) > 10 else ""))])
    return lines


def tuning_lines(ok: list[dict]) -> list[str]:
    """What "tuned N" and "default" mean in the rows, when any result was tuned or set speakers aside
    (markdown bullets of :func:`tuning_settings`)."""
    return [f"- {md.render_line(pieces)}" for pieces in tuning_settings(ok)]


def tuning_settings(ok: list[dict]) -> list[list[str]]:
    """:func:`tuning_lines` as pieces (see :func:`settings_lines`)."""
    tuned = sorted({r.params.trials for r in ok if r.params.tuning})
    if not tuned:
        return []
    budgets = ", ".join(str(t) for t in tuned if t)
    lines = [[f"tuning: rows marked *tuned N* were tuned with Optuna (TPE, seeded by the cell seed) for N trials "
              f"({budgets or 'none'}) on validation speakers only, the defaults being the first trial; rows marked "
              "*default* run the default settings on the same test speakers. Held-out source speakers validate "
              "oodt; target speakers set aside validate idt and fewshot and are left out of their tests."]]
    spaces = sorted({json.dumps((r.tuning or {}).get("space") or {}, sort_keys=True)
                     for r in ok if r.params.trials})
    if spaces:
        lines.append([f"search spaces: {'; '.join(spaces)}"])
    return lines


_UNITS = ("the unit a claim about the cell generalises over: held-out speakers (IDT, seeds averaged "
          "within a speaker), source-model seeds (OODT; few-shot with two or more seeds, a seed's value being "
          "the mean over its episodes), training seeds (one split per seed and no source, as a corpus's own "
          "partitions) or, for few-shot with one seed, the episode draws of that one source model")
_ORDER = (f"{DASH} = no result for that cell. Within a protocol, rows are sorted by mean UAR over their cells, "
          "best first; a row missing a cell ranks below the complete rows.")
INTRO = ("UAR in % (unweighted average recall): mean ± half-width of the 95 % t-interval over the unit in the "
         f"*n* column, {_UNITS}, an interval that does not generalise over source models. One unit: no interval. "
         f"{_ORDER}")
INTRO_NO_TESTS = (f"UAR in % (unweighted average recall): mean over the unit in the *n* column, {_UNITS}. Means "
                  "only (`--no-tests`): no intervals, no tests, no critical difference; without `--no-tests` the "
                  f"board has them. {_ORDER}")


def to_markdown(results: list[dict], title: str = "ser-bench leaderboard", paired: str | None = None,
                figure_dir: Path | None = None, tests: bool = True) -> str:
    """The full markdown leaderboard: settings, the summary table, the few-shot breakdown by k, the methods
    ranked by the normalised area under UAR against k (:func:`~ser_bench.reporting.curves.curve_section`,
    with two or more k), and the average ranks across settings (when there are two or more blocks and methods to rank).

    With ``paired`` (a method name as it appears in the few-shot table, e.g. ``bce_pair``), every other
    few-shot method is also compared with it on identical episodes over the right unit, Holm-corrected
    over the comparisons shown (:func:`ser_bench.reporting.stats.paired_against`). With ``figure_dir`` the
    critical-difference diagram is written there as ``ranks.png``/``ranks.svg`` and the few-shot curves as
    ``fewshot_curves.png``/``.svg``, and linked.

    ``tests=False``: means only, with no interval, no Friedman test and no critical difference (nothing is
    imported from scipy); ``paired`` is a test and cannot be combined with it.
    """
    from ser_bench.reporting.export import board_frame
    from ser_bench.reporting.sections import paired_markdown

    if paired and not tests:
        raise SerBenchError("--paired tests every method against another: drop --no-tests or --paired")
    # Once: every table below is a view of it. The board's own paired tests (p, p_holm) are for the csv,
    # json and html views; this page shows none of them, so none is run.
    board = board_frame(results, tests=False, intervals=tests)
    table = table_from_board(board)
    # Means alone would all parse as numbers and lose their decimal ("55.0" -> "55"): kept as written.
    parts = [f"# {md.text(title)}", "", INTRO if tests else INTRO_NO_TESTS, "", *settings_header(results), "",
             md.table(table) if tests else md.table(table, disable_numparse=True), "", *pooled_lines(results)]
    from ser_bench.reporting.tidy import layouts

    for axes in dict.fromkeys(tuple(layout["breakdown"]) for layout in layouts(ok_results(results)).values()):
        table = breakdown_markdown(results, axes, board) if axes else ""
        if table and axes == ("k", "frozen"):
            parts += ["## Few-shot UAR % by number of target speakers k",
                      "", "Means over every episode and seed of each setting (no interval).", "", table, ""]
        elif table:
            parts += [f"## UAR % by {md.text(axes[0])}", "",
                      "Means over every split and seed of each setting (no interval).", "", table, ""]
    from ser_bench.reporting.curves import curve_section

    parts += curve_section(results, figure_dir, tests=tests)  # the area under UAR against k, ranked
    from ser_bench.reporting.layers import layer_section

    parts += layer_section(results, figure_dir)  # UAR by layer, for a layer-wise run (ssl.layers=all)
    if paired:
        from ser_bench.reporting.stats import paired_against
        from ser_bench.reporting.tidy import breakdown_table

        rows = paired_against(breakdown_table(results), paired)
        parts += [f"## Against {md.text(paired)}, paired on identical episodes", "",
                  *(paired_markdown(rows) if rows else ["No other method shares episodes with it."]), ""]
    parts += rank_section(results, figure_dir, tests=tests)
    parts += measure_sections(results, tests=tests)
    parts += left_out_section(results)
    parts += support_missing_section(results)
    return "\n".join(parts)


def measure_sections(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the sections beside UAR, each where some result records it: splits predicted as one
    emotion, continuous targets, UAR by sex, embeddings, calibration, validation against test (boards, recipes)."""
    from ser_bench.reporting.continuous import continuous_section
    from ser_bench.reporting.embeddings import calibration_section, embedding_section
    from ser_bench.reporting.fairness import fairness_section
    from ser_bench.reporting.one_class import one_class_section
    from ser_bench.reporting.tuning_gap import tuning_gap_section

    return [*one_class_section(results), *continuous_section(results, tests=tests),
            *fairness_section(results, tests=tests), *embedding_section(results, tests=tests),
            *calibration_section(results, tests=tests), *tuning_gap_section(results, tests=tests)]


def support_missing_section(results: list) -> list[str]:
    """Markdown lines saying which episodes' support sets lacked an emotion (``info["support_missing"]``: no
    speaker drawn had it, as on corpora whose speakers do not each cover every emotion); [] when none did."""
    found: dict = {}
    for r in ok_results(results):
        for s in r.splits:
            missing = s.info.get("support_missing")
            if missing:
                key = (r.params.protocol, r.params.target, ", ".join(missing))
                found.setdefault(key, set()).add((r.cell_id, s.name))
    if not found:
        return []
    lines = ["## Episodes whose support lacked an emotion", "",
             "No target speaker drawn for these episodes was heard in the emotion, so their support sets hold no "
             "clip of it (the k speakers were drawn again, then completed, to cover every emotion where k "
             "speakers can): the episodes are kept, and their test clips of that emotion can only be misclassified.",
             ""]
    for (protocol, target, missing), splits in sorted(found.items()):
        lines.append(f"- {md.text(protocol)} on {md.text(target)}: {len(splits)} episodes without {md.text(missing)}")
    return [*lines, ""]


def pooled_lines(results: list) -> list[str]:
    """The note under the summary table that says which cells are scored pooled over their folds, and why;
    [] when none is."""
    pooled = [r for r in ok_results(results) if r.pooled]
    if not pooled:
        return []
    from ser_bench.reporting.pooled import RESAMPLES

    folds: dict = {}  # (protocol, target) -> {fold: classes its test set lacks}, from the first such result
    for r in pooled:
        folds.setdefault((r.params.protocol, r.params.target), {s.name: list(s.missing_test_classes or [])
                                                                for s in r.splits})
    lines = [f"Scored pooled over folds: {md.text(pooled[0].scoring['why'])}. Such a row's UAR is that of every "
             "fold's predictions together (the test speakers' confusion matrices summed over folds and seeds), its ± "
             f"the half-width of a 95 % percentile interval from {RESAMPLES} bootstrap resamples of the test "
             "speakers, and its n the test speakers; the other rows average each split's UAR (in IDT, each held-out "
             "speaker's). See docs/method.md, Statistics. The folds, and the classes their test sets lack:", ""]
    for (protocol, target), found in sorted(folds.items()):
        lacking = [(name, missing) for name, missing in found.items() if missing]
        shown = "; ".join(f"{name}: {', '.join(missing)}" for name, missing in lacking[:6])
        more = f"; and {len(lacking) - 6} more" if len(lacking) > 6 else ""
        lines.append(f"- {md.text(protocol)} on {md.text(target)}: {len(found)} folds, {len(lacking)} lacking classes"
                     + (f" ({md.text(shown + more)})" if lacking else ""))
    return [*lines, ""]


LEFT_OUT_INTRO = ("Their test sets lack classes of the label set, so their UAR (over fewer classes) is not "
                  "comparable; they are in no mean, interval, test or rank above. One line per cause: a held-out "
                  "speaker whose clips lack a class, or a protocol and target whose test sets do.")


def left_out_section(results: list) -> list[str]:
    """Markdown lines of the "Splits left out" section, one bullet per cause
    (:func:`~ser_bench.reporting.tidy.describe_left_out`); [] when no split is left out."""
    left_out = describe_left_out(results)
    if not left_out:
        return []
    return ["## Splits left out", "", LEFT_OUT_INTRO, "", *[f"- {md.text(line)}" for line in left_out], ""]


def rank_section(results: list[dict], figure_dir: Path | None = None, tests: bool = True) -> list[str]:
    """Markdown lines of the average-rank section (Demšar 2006), [] when there is nothing to rank; with
    ``figure_dir``, the critical-difference diagram is written there and linked. ``tests=False``: the
    average ranks alone (no Friedman test, no critical difference, no diagram)."""
    from ser_bench.reporting.ranks import block_scores, rank_analysis
    from ser_bench.reporting.sections import ranks_markdown

    frame = tidy(results)
    analysis = rank_analysis(block_scores(frame), tests=tests) if not frame.empty else None
    if analysis is None:
        return []
    figure = None
    if figure_dir is not None and analysis.tested:
        from ser_bench.reporting.figures import plot_critical_difference

        plot_critical_difference(analysis.average_ranks, analysis.critical_difference, Path(figure_dir) / "ranks",
                                 f"Average ranks over {analysis.n_blocks} settings (1 = best)")
        figure = "ranks.png"
    return ["## Average ranks across settings (Demšar 2006)", "", *ranks_markdown(analysis, figure)]


__all__ = ["summary_table", "fewshot_by_k", "fewshot_by_k_markdown", "settings_header", "settings_lines",
           "to_markdown", "rank_section", "left_out_section"]
