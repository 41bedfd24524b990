"""Markdown from text that comes from result files: names, corpora and settings anyone can edit.

A board must show such text, never obey it. A line break would end a table row or a bullet and start a
forged one, a ``|`` would split a table cell (a corpus expression such as ``ravdess[sex=male|female]``
has one and is still one cell), ``<script>`` or ``</table>`` would be raw HTML to a renderer, a backtick
would end a code span early and ``[text](url)`` would be a link. Each function makes one kind of
markdown position safe, changing nothing in text that needs no escaping (well-formed boards keep their
bytes):

- :func:`text`: running text (a bullet, a heading): line breaks become spaces, ``<`` and ``>`` the entities
  ``&lt;`` and ``&gt;``, a backtick is escaped with a backslash, and ``](`` is broken as ``]\\(`` so that no
  link is formed (the value's own backslashes doubled then, so that none can escape an escape);
- :func:`cell`: a table cell: :func:`text`, and ``|`` as ``\\|``;
- :func:`code`: a code span, fenced with more backticks than the text holds in a row (CommonMark), and
  padded with a space where the text begins or ends with a backtick;
- :func:`table`: a DataFrame as a markdown table (``DataFrame.to_markdown``) with every label and text
  cell made a :func:`cell`.
"""
from __future__ import annotations

import re

# Every line break a markdown renderer (or tabulate, which splits multi-line cells) may act on.
_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


class Code(str):
    """A piece of a line shown as a code span (see :func:`render_line`); plain ``str`` pieces are text."""


def one_line(value) -> str:
    """``value`` as text on one line: each line break a space."""
    return _BREAKS.sub(" ", str(value))


def text(value) -> str:
    """``value`` safe in running markdown text (see the module docstring)."""
    return _escape(value, pipes=False)


def cell(value) -> str:
    """``value`` safe in a markdown table cell: :func:`text`, with ``|`` escaped as ``\\|``."""
    return _escape(value, pipes=True)


def _escape(value, pipes: bool) -> str:
    out = one_line(value)
    if "`" in out or "](" in out or (pipes and "|" in out):
        out = out.replace("\\", "\\\\")  # first: a backslash of the value must not escape an escape
        if pipes:
            out = out.replace("|", "\\|")
        out = out.replace("`", "\\`").replace("](", "]\\(")
    if "<" in out or ">" in out:
        out = out.replace("<", "&lt;").replace(">", "&gt;")
    return out


def code(value) -> str:
    """``value`` as one markdown code span, whatever backticks it holds (its text is shown as it is)."""
    out = one_line(value)
    if "`" not in out:
        return f"`{out}`"
    fence = "`" * (max(len(run) for run in re.findall(r"`+", out)) + 1)
    pad = " " if out.startswith("`") or out.endswith("`") else ""
    return f"{fence}{pad}{out}{pad}{fence}"


def render_line(pieces) -> str:
    """A line of :class:`Code` and text pieces as markdown, each piece escaped for where it stands."""
    return "".join(code(p) if isinstance(p, Code) else text(p) for p in pieces)


def table(frame, **options) -> str:
    """``frame.to_markdown(**options)`` with its index, column labels and text cells as :func:`cell` (numbers
    are left to ``to_markdown``'s formatting)."""
    def safe(value):
        return cell(value) if isinstance(value, str) else value

    if any(_needs(v) for v in (*frame.index, *frame.columns, frame.index.name)) or any(
            _needs(v) for column in frame.columns if frame[column].dtype.kind == "O" for v in frame[column]):
        frame = frame.copy()
        frame.index = frame.index.map(safe).rename(safe(frame.index.name))
        frame.columns = [safe(c) for c in frame.columns]
        for column in frame.columns:
            if frame[column].dtype.kind == "O":
                frame[column] = [safe(v) for v in frame[column]]
    return frame.to_markdown(**options)


def _needs(value) -> bool:
    return isinstance(value, str) and cell(value) != value
