"""Helpers for dataset plugins: list a corpus's audio files, parse their names, build the manifest."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from ser_bench.errors import SerBenchError
from ser_bench.data.labels import add_dimensions

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".avi", ".mp4"})
Parser = Callable[[Path], dict]
Reporter = Callable[[Path, str], None]


def raise_bad_file(path: Path, reason: str) -> None:
    """The default reporter: a bad file is an error naming it."""
    raise SerBenchError(f"{path}: {reason}")


def audio_files(root: Path, suffixes: Iterable[str] = AUDIO_SUFFIXES) -> list[Path]:
    """Audio files under ``root`` at any depth, sorted, hidden files (``.name``) left out."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in wanted and not p.name.startswith(".")
                  and p.is_file())


def manifest_from_files(files: Iterable[Path], parse: Parser, corpus: str, language: str,
                        report: Optional[Reporter] = None, layout_hint: str = ""):
    """Parse every file name into a manifest row; names that do not parse go to ``report``.

    ``parse`` returns a dict with at least ``speaker`` and ``emotion`` (common vocabulary), or raises
    ``ValueError`` saying what is wrong with the name.
    """
    import pandas as pd

    report = report or raise_bad_file
    rows = []
    for path in files:
        try:
            fields = parse(path)
        except ValueError as exc:
            report(path, str(exc))
            continue
        if fields is None:  # a recognised file the loader excludes on purpose (e.g. RAVDESS song)
            continue
        rows.append({"path": str(path), "corpus": corpus, "language": language, **fields})
    if not rows:
        raise SerBenchError(f"no usable {corpus} audio files found{': ' + layout_hint if layout_hint else ''}")
    return add_dimensions(pd.DataFrame(rows))
