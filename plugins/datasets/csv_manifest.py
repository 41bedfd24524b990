"""csv: bring your own corpus as a CSV manifest.

Columns: ``path`` (absolute, or relative to the CSV), ``speaker``, ``emotion``, and optionally
``arousal`` and ``valence`` (numbers in [-1, 1], the scale of the circumplex coordinates categorical
emotions get), ``sentence``, ``intensity``, ``gender``, ``language``. Emotions must use the common
vocabulary (or give ``label_map`` as ``code=name`` pairs). Use it with
``--dataset-param csv.path=/data/mine.csv``.

Every cell is checked when the manifest is read, and whatever cannot be used is one error naming the
file and each row (as a spreadsheet shows it: the header is row 1) and column: an empty path or
speaker, a row with neither an emotion nor both arousal and valence, a dimension that is not a number,
dimensions outside [-1, 1] (a rating scale, with how to rescale it). A row with arousal and valence but
no emotion is read and left out with a warning, because every protocol picks clips by their emotion
(the label set); a manifest without emotions is refused for the same reason. A clip that is missing or
not a file, or an emotion outside the vocabulary, goes to ``ctx.report_bad_file`` (an error, or left
out and listed under ``--skip-bad-files``).

Several CSV corpora in one run are told apart by a name after a colon: ``--source csv:podcast --target
csv:clinic --dataset-param csv:podcast.path=a.csv --dataset-param csv:clinic.path=b.csv``; the name is
what boards show and what the manifest's ``corpus`` column holds.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_kit.helpers import VOCABULARY, add_dimensions
from ser_bench.plugin_api.context import warn
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import DatasetSpec

DIMENSIONS = ("arousal", "valence")
SHOWN = 20  # problems listed in one message
# The first bytes of the audio and video files a csv.path most often names by mistake.
MAGIC = ((b"fLaC", "a FLAC file"), (b"OggS", "an Ogg file"), (b"ID3", "an MP3 file"), (b"FORM", "an AIFF file"),
         (b"\x1aE\xdf\xa3", "a Matroska/WebM file"), (b".snd", "an AU file"), (b"caff", "a CAF file"))


def load(ctx, path: str = "", name: str = "csv", label_map: Mapping[str, str] = MappingProxyType({}),
         variant: str = ""):
    """Read the manifest CSV at ``path``, refusing unusable cells (see the module's docstring); missing
    audio files and unknown labels go to ``ctx.report_bad_file``. ``variant`` (``csv:NAME``) names the
    corpus when ``name`` is left at ``csv``."""
    scope = f"csv:{variant}" if variant else "csv"
    if not path:
        raise SerBenchError(f"the csv dataset needs its manifest: --dataset-param {scope}.path=/path/to/manifest.csv")
    csv = Path(path).expanduser()
    frame = _read(csv, scope)
    if "emotion" not in frame:
        raise SerBenchError(_no_emotions(csv, "has no emotion column"))
    dims = _checked(csv, frame)
    for column, values in dims.items():
        frame[column] = values
    frame["path"] = [str(p if Path(p).is_absolute() else (csv.parent / p)) for p in frame["path"]]
    unlabelled = [i for i, e in zip(frame.index, frame["emotion"]) if _blank(e)]
    if len(unlabelled) == len(frame):
        raise SerBenchError(_no_emotions(csv, "gives no row an emotion"))
    if unlabelled:
        warn(ctx, f"{csv}: {_rows([i + 2 for i in unlabelled])} {'has' if len(unlabelled) == 1 else 'have'} arousal "
                  "and valence but no emotion: left out, since every protocol picks clips by their emotion (the "
                  "label set, --labels). Give them an emotion to use them")
        frame = frame.drop(index=unlabelled)
    frame["emotion"] = frame["emotion"].map(lambda e: (label_map or {}).get(e, e))
    keep = []
    for i, row in frame.iterrows():
        clip, where = Path(row["path"]), f"{csv} (row {i + 2})"
        if not clip.is_file():
            kind = ("is a folder, not an audio file: name the clip itself" if clip.is_dir() else
                    "is not a regular file (a named pipe, device or socket)" if clip.exists() else "is missing")
            ctx.report_bad_file(row["path"], f"listed in {where}, {kind}")
        elif row["emotion"] not in VOCABULARY:
            ctx.report_bad_file(row["path"], f"emotion {row['emotion']!r} (row {i + 2} of {csv}) is not one of "
                                f"{', '.join(VOCABULARY)}; map it with label_map")
        else:
            keep.append(i)
    frame["row"] = frame.index + 2  # the row a spreadsheet shows (the header is row 1), for later messages
    frame = frame.loc[keep].reset_index(drop=True)
    frame["corpus"] = f"csv:{variant}" if variant and name == "csv" else name
    frame["language"] = frame["language"] if "language" in frame else "unknown"
    return add_dimensions(frame)


def _read(csv: Path, scope: str):
    """The manifest's rows (path, speaker, emotion and dimensions as text), blank rows dropped and the
    index kept, so that row ``i`` is row ``i + 2`` of the file; or an error saying what the file is."""
    import pandas as pd

    if csv.is_dir():
        found = sorted(str(p) for p in csv.glob("*.csv"))
        there = f" (CSV files there: {', '.join(found[:5])})" if found else " (it holds no .csv file)"
        example = found[0] if found else "/path/to/manifest.csv"
        raise SerBenchError(f"manifest {csv} is a folder, not a CSV file: give the manifest itself, "
                            f"e.g. --dataset-param {scope}.path={example}{there}")
    if not csv.exists():
        raise SerBenchError(f"manifest {csv} does not exist: check --dataset-param {scope}.path")
    if not csv.is_file():  # a named pipe would block the read
        raise SerBenchError(f"manifest {csv} is not a regular file (a named pipe, device or socket)")
    with open(csv, "rb") as fh:
        kind = _binary_kind(fh.read(4096))
    if kind:
        raise SerBenchError(f"{csv} is {kind}, not a CSV manifest: --dataset-param {scope}.path names the CSV "
                            "file that lists the clips, one row each (columns path, speaker, emotion)")
    text = {column: str for column in ("path", "speaker", "emotion", *DIMENSIONS)}
    try:
        frame = pd.read_csv(csv, dtype=text, skip_blank_lines=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        data = csv.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = data[:exc.start].count(b"\n") + 1
            raise SerBenchError(f"{csv} is not UTF-8 text (byte 0x{data[exc.start]:02X} in row {row}): save it "
                                'as UTF-8 ("CSV UTF-8" in a spreadsheet)') from None
        raise
    except pd.errors.EmptyDataError:
        raise SerBenchError(f"{csv} is empty: a manifest has a header row (path,speaker,emotion) and a row "
                            "per clip") from None
    except pd.errors.ParserError as exc:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        why = (f"row {ragged[2]} has {ragged[3]} cells, the header {ragged[1]} (quote a value that holds a comma)"
               if ragged else str(exc))
        raise SerBenchError(f"{csv} cannot be read as CSV: {why}") from None
    missing = {"path", "speaker", "emotion"} - set(frame.columns)
    if missing - {"emotion"} or (missing and not set(DIMENSIONS) <= set(frame.columns)):
        sep = next((s for s in ";\t|" if len(frame.columns) == 1 and s in frame.columns[0]), "")
        hint = f" (it looks separated by {sep!r}: save it comma-separated)" if sep else ""
        raise SerBenchError(f"{csv}: needs columns path, speaker and emotion (and optionally arousal, valence); "
                            f"it has {', '.join(map(str, frame.columns))}{hint}")
    frame = frame.dropna(how="all")
    if frame.empty:
        raise SerBenchError(f"{csv} lists no clips: add a row per clip under its header")
    return frame


def _binary_kind(head: bytes) -> str:
    """What the first bytes of a file say it is when it is not text ("" for text)."""
    if head[:4] == b"RIFF":
        return {b"WAVE": "audio (a WAV file)", b"AVI ": "video (an AVI file)"}.get(head[8:12], "a RIFF file")
    if head[4:8] == b"ftyp":
        return "audio or video (an MP4/M4A file)"
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return f"audio ({kind})" if "Matroska" not in kind else f"audio or video ({kind})"
    if head[:1] == b"\xff" and len(head) > 1 and head[1] & 0xE0 == 0xE0:
        return "audio (an MP3 file)"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text (save it as UTF-8)"
    return "binary data" if b"\x00" in head else ""


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


def _checked(csv: Path, frame) -> dict:
    """The dimension columns as numbers; every cell that cannot be used is one :class:`SerBenchError`."""
    problems, dims = [], {column: [] for column in DIMENSIONS if column in frame}
    for i, row in frame.iterrows():
        at = f"row {i + 2}, column"
        if _blank(row["path"]):
            problems.append(f"{at} path: empty; every row names its audio file")
        if _blank(row["speaker"]):
            problems.append(f"{at} speaker: empty; every clip needs its speaker (splits keep a speaker on one side)")
        for column in dims:
            value, number = row[column], math.nan
            if not _blank(value):
                try:
                    number = float(value)
                except ValueError:
                    comma = " (write decimals with a point)" if re.fullmatch(r"\s*-?\d+,\d+\s*", value) else ""
                    problems.append(f"{at} {column}: {value!r} is not a number{comma}; arousal and valence are "
                                    "numbers in [-1, 1]")
                else:
                    if not math.isfinite(number):
                        problems.append(f"{at} {column}: {value!r} is not a finite number; arousal and valence "
                                        "are numbers in [-1, 1]")
                        number = math.nan
            dims[column].append(number)
        if _blank(row["emotion"]) and not (len(dims) == 2 and all(not math.isnan(dims[c][-1]) for c in dims)):
            problems.append(f"{at} emotion: empty; give an emotion of the vocabulary, or both arousal and valence")
    shown = problems[:SHOWN] + ([f"... and {len(problems) - SHOWN} more"] if len(problems) > SHOWN else [])
    scale = _off_scale(frame.index, dims)
    if problems or scale:
        cells = (f"{len(problems)} cell(s) cannot be used (rows as a spreadsheet shows them: the header is row 1):"
                 "\n  " + "\n  ".join(shown) + "\n") if problems else ""
        raise SerBenchError(f"{csv}: {cells}{scale}Fix the manifest and load it again.")
    return dims


def _off_scale(index, dims: dict) -> str:
    """The message for dimensions outside [-1, 1], with the formula that rescales them ("" if none)."""
    lines, low, high = [], math.inf, -math.inf
    for column, values in dims.items():
        found = [v for v in values if not math.isnan(v)]
        outside = [i + 2 for i, v in zip(index, values) if abs(v) > 1 + 1e-9]
        if outside:
            lines.append(f"column {column}: values from {min(found):g} to {max(found):g}, outside [-1, 1] in "
                         f"{_rows(outside)}")
            low, high = min(low, min(found)), max(high, max(found))
    if not lines:
        return ""
    scales = dict.fromkeys([(math.floor(low), math.ceil(high)), (1, 5), (1, 7)])
    examples = "; ".join(f"for {lo:g} to {hi:g}{' (the values found, rounded out)' if k == 0 else ''}, "
                         f"(x - {(lo + hi) / 2:g}) / {(hi - lo) / 2 or 1:g}" for k, (lo, hi) in enumerate(scales))
    return ("arousal and valence are expected in [-1, 1], the scale of the circumplex coordinates every "
            "categorical emotion gets, which they are compared and mixed with:\n  " + "\n  ".join(lines) + "\n"
            f"A rating scale from LOW to HIGH maps onto [-1, 1] as 2 * (x - LOW) / (HIGH - LOW) - 1: {examples}. "
            "Use the ends of your rating scale where they differ from the values found.\n")


def _rows(rows: list) -> str:
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:10]))}{more}"


def _no_emotions(csv: Path, what: str) -> str:
    return (f"{csv} {what}: every protocol picks clips by their emotion (the label set, --labels) and scores "
            "emotion classes, so arousal and valence alone cannot be run. Add an emotion column of the common "
            f"vocabulary ({', '.join(VOCABULARY)}); the arousal and valence you give are kept")


SPEC = DatasetSpec(
    name="csv", load=load, params=defaults_of(load, "datasets"),
    summary="your own corpus from a CSV manifest (path, speaker, emotion; optionally arousal/valence)",
    licence="yours", homepage="(your files)", reference="",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
