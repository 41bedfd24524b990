"""The leaderboard of a results folder in every format: markdown (:mod:`ser_bench.reporting.leaderboard`),
CSV and JSON (:mod:`ser_bench.reporting.export`), Parquet, and the web page (:mod:`ser_bench.reporting.html`).
What ``ser-bench leaderboard`` calls."""
from __future__ import annotations

from pathlib import Path

from ser_bench.errors import SerBenchError
from ser_bench.reporting import md
from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.tidy import describe_left_out


def read_folder(folder: Path) -> tuple[list, list]:
    """The usable results of ``folder`` and the files left out (each also issued as a warning, as is each
    cause of splits left out of the means, once however many splits it leaves out); an error when nothing
    is usable."""
    import warnings

    from ser_bench.errors import SerBenchWarning
    from ser_bench.results.store import load_results

    problems: list = []
    results = load_results(folder, problems)
    if not results:
        found = f" ({len(problems)} left out: {'; '.join(map(str, problems))})" if problems else ""
        raise SerBenchError(f"no usable result files under {Path(folder).resolve()}{found}")
    for line in describe_left_out(results):
        warnings.warn(line, SerBenchWarning, stacklevel=2)
    return results, problems


TEXT_FORMATS = ("markdown", "csv", "json")
FILE_FORMATS = ("parquet", "html")  # written to -o, never to standard output


def render(folder: Path, fmt: str = "markdown", paired: str | None = None, figure_dir: Path | None = None,
           tests: bool = True) -> str:
    """The leaderboard of ``folder`` as text: ``markdown`` (the full board), or the tidy board frame
    (:func:`~ser_bench.reporting.export.board_frame`) as ``csv`` or ``json``.

    ``paired`` and ``figure_dir`` (markdown only): see :func:`to_markdown`. ``tests=False``: means only, no
    interval and no test (:func:`to_markdown`, :func:`~ser_bench.reporting.export.to_csv`).
    """
    from ser_bench.reporting import export

    if fmt not in TEXT_FORMATS:
        raise SerBenchError(f"unknown format {fmt!r}: use {', '.join(TEXT_FORMATS + FILE_FORMATS)}")
    if paired and fmt != "markdown":
        raise SerBenchError("--paired adds a section to the markdown leaderboard; drop --format or --paired")
    if paired and not tests:
        raise SerBenchError("--paired tests every method against another: drop --no-tests or --paired")
    results, problems = read_folder(folder)
    if fmt == "markdown":
        text = to_markdown(results, paired=paired, figure_dir=figure_dir, tests=tests)
        if problems:
            text += "\n".join(["", "## Result files left out", "", *[f"- {md.text(p)}" for p in problems], ""])
        return text
    return export.to_csv(results, tests=tests) if fmt == "csv" else export.to_json(results, tests=tests)


def publish(folder: Path, fmt: str, output: Path) -> Path:
    """Write the leaderboard of ``folder`` as a ``parquet`` file or an ``html`` site folder at ``output``;
    returns the file written (for html, the page)."""
    if fmt not in FILE_FORMATS:
        raise SerBenchError(f"--format {fmt} is text: print it or pass -o a file")
    results, problems = read_folder(folder)
    if fmt == "parquet":
        from ser_bench.reporting.export import write_parquet

        write_parquet(results, output)
        return Path(output)
    from ser_bench.reporting.html import write_site

    return write_site(results, Path(output), problems=[str(p) for p in problems])


def publish_bytes(folder: Path, fmt: str) -> bytes:
    """What :func:`publish` writes, as bytes (``ser-bench leaderboard --format html -o -``): the page (UTF-8;
    self-contained, so it needs no folder) or the Parquet file."""
    if fmt not in FILE_FORMATS:
        raise SerBenchError(f"--format {fmt} is text: print it or pass -o a file")
    results, problems = read_folder(folder)
    if fmt == "parquet":
        import io

        from ser_bench.reporting.export import write_parquet

        buffer = io.BytesIO()
        write_parquet(results, buffer)
        return buffer.getvalue()
    from ser_bench.reporting.html import to_html

    return to_html(results, problems=[str(p) for p in problems]).encode("utf-8")
