"""Helpers for dataset plugins: list a corpus's audio files, parse their names, build the manifest.

Which files hold audio is defined here once, for the loaders that list a corpus's files
(:func:`audio_files`) and for the decoder that reads them (:func:`ser_bench.data.audio.load_audio`), so
the two never disagree. A file is decoded by what it holds, not by its name: libsndfile (through
soundfile) recognises a format from its header, and PyAV reads video containers. The extension only
decides which files of a corpus folder are taken for audio, so a FLAC copy of a corpus distributed as
WAV loads unchanged. Loaders list their files with :data:`SOUND_SUFFIXES`, or :data:`AUDIO_SUFFIXES`
when their corpus ships video.

The table is a fixed constant rather than ``soundfile.available_formats()`` asked at run time: the same
folder then gives the same file list on every machine, and a file that this machine's libsndfile cannot
decode (an MP3 before libsndfile 1.1, Opus before 1.0.29) is reported by name with the reason, instead
of being left out silently; nothing is imported for it, so ``ser-bench list`` stays fast.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Optional

from ser_bench.errors import SerBenchError
from ser_bench.data.labels import add_dimensions

# file extension -> the libsndfile format (a key of ``soundfile.available_formats()``) it usually holds.
# Left out on purpose: RAW (no header, so nothing to recognise), MAT4/MAT5 (``.mat`` files in a corpus
# folder are mostly annotations), HTK (``.htk`` files are mostly feature files, not waveforms), MPC2K and
# XI (sampler instruments; libsndfile 1.2 cannot read back the XI files it writes).
SOUNDFILE_SUFFIXES = {
    ".wav": "WAV", ".wave": "WAV", ".rf64": "RF64", ".w64": "W64",
    ".flac": "FLAC",
    ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG",  # Vorbis or Opus in an Ogg container
    ".mp3": "MP3",
    ".aiff": "AIFF", ".aif": "AIFF", ".aifc": "AIFF",
    ".au": "AU", ".snd": "AU",
    ".caf": "CAF",
    ".sph": "NIST", ".nist": "NIST",  # NIST SPHERE (uncompressed; shorten-packed files are reported)
    ".sf": "IRCAM", ".voc": "VOC", ".avr": "AVR", ".iff": "SVX", ".svx": "SVX", ".paf": "PAF",
    ".pvf": "PVF", ".sd2": "SD2", ".wve": "WVE", ".sds": "SDS",
}
SOUND_SUFFIXES = frozenset(SOUNDFILE_SUFFIXES)
# Video containers, whose first audio stream PyAV decodes (eNTERFACE'05 ships AVI files).
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm"})
AUDIO_SUFFIXES = SOUND_SUFFIXES | VIDEO_SUFFIXES  # everything load_audio reads

# For the layout hints of loaders' errors, after an example written with ".wav": the extension is free.
ANY_SOUND_EXTENSION = "(or .flac, .ogg, .mp3, .aiff, ...: any format libsndfile reads)"
ANY_AUDIO_EXTENSION = "(or .mp4, .wav, .flac, ...: any video container PyAV reads or format libsndfile reads)"

Parser = Callable[[Path], dict]
Reporter = Callable[[Path, str], None]


def raise_bad_file(path: Path, reason: str) -> None:
    """The default reporter: a bad file is an error naming it."""
    raise SerBenchError(f"{path}: {reason}")


def audio_files(root: Path, suffixes: Iterable[str] = AUDIO_SUFFIXES) -> list[Path]:
    """Audio files under ``root`` at any depth, sorted, hidden files (``.name``) left out.

    ``suffixes`` says which extensions count (case-insensitive); by default every one that
    :func:`ser_bench.data.audio.load_audio` reads, video containers included. Symbolic links are
    followed, to folders as to files (a folder reached twice through links is read once). Anything named
    like a clip is listed, even when it is not a regular file (a link to a missing file, a folder, a
    named pipe), so that reading it names it as a bad file instead of its being left out without a word.
    """
    wanted = {s.lower() for s in suffixes}
    found, visited = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a link back up the tree, or a second link to one folder
            dirs[:] = []
            continue
        visited.add(real)
        dirs.sort()
        for name in (*files, *dirs):
            if Path(name).suffix.lower() in wanted and not name.startswith("."):
                found.append(Path(folder) / name)
    return sorted(found)


NOT_A_FILE = "not an audio file"  # how not_a_file's reasons begin


def not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a clip although it is named like one ("" when it is a regular file):
    a symbolic link to nothing, a folder, a named pipe (reading one would wait for ever), a device."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            return f"{NOT_A_FILE}: a symbolic link to {os.readlink(path)}, which does not exist"
        return f"{NOT_A_FILE}: missing (it was listed, then disappeared)"
    except OSError as exc:
        return f"{NOT_A_FILE}: cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return ""
    kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")
    return f"{NOT_A_FILE}: {kind} named like a clip"


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
        problem = not_a_file(path)
        if problem:
            if fields is not None:
                report(path, problem)
            continue
        if fields is None:  # a recognised file the loader excludes on purpose (e.g. RAVDESS song)
            continue
        rows.append({"path": str(path), "corpus": corpus, "language": language, **fields})
    if not rows:
        raise SerBenchError(f"no usable {corpus} audio files found{': ' + layout_hint if layout_hint else ''}")
    return add_dimensions(pd.DataFrame(rows))
