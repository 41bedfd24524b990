"""The web page's sections beyond its tables and figures: the measurement sections of the markdown board
rendered as HTML, and the splits left out of the means."""
from __future__ import annotations

import html

from ser_bench.reporting.tidy import describe_left_out


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def measure_sections(results: list) -> str:
    """The markdown board's sections beyond its tables, as HTML: which rows are pooled over folds, splits
    predicted as one emotion, continuous targets, UAR by speaker sex, the embeddings' retrieval and probes,
    calibration. Rendered from the very markdown (CommonMark with tables, raw HTML off: every value was
    escaped for markdown already), so the two boards cannot say different things; "" when there is none."""
    from markdown_it import MarkdownIt

    from ser_bench.reporting.leaderboard import measure_sections, pooled_lines, support_missing_section

    pooled = pooled_lines(results)
    lines = (["## Pooled scoring", "", *pooled] if pooled else []) + [
        *measure_sections(results), *support_missing_section(results)]
    if not lines:
        return ""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(lines))
    return f'<section id="measures" class="measures">{body}</section>'


def left_out_splits(results: list) -> str:
    """The "Splits left out" section, one item per cause (:func:`~ser_bench.reporting.tidy.describe_left_out`);
    "" when no split is left out."""
    from ser_bench.reporting.leaderboard import LEFT_OUT_INTRO

    lines = describe_left_out(results)
    if not lines:
        return ""
    return ('<section id="left-out-splits"><h2>Splits left out</h2>'
            f'<p class="note">{_esc(LEFT_OUT_INTRO)}</p><ul>'
            + "".join(f"<li>{_esc(line)}</li>" for line in lines) + "</ul></section>")
