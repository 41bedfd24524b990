"""Validating a corpus copy: counts per speaker and emotion, unreadable and truncated files (with the
length the header announces and the length found), odd names, duplicates, and notes on files that are
usable but converted on reading (stereo, another sample rate, 8- or 24-bit samples).

Used by ``ser-bench datasets check NAME``; every problem names the file (or speaker) it concerns.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One finding: ``severity`` is ``error`` (the file cannot be used), ``warning`` (counts differ) or
    ``note`` (usable, but converted on reading: stereo, another sample rate, 8 or 24 bits)."""

    severity: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.where}: {self.message}"


# libsndfile's log line for a chunk whose header size disagrees with the file, "data : 32000 (should be 56)".
_DATA_SIZE = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_BLOCK_ALIGN = re.compile(r"Block Align\s*:\s*(\d+)")
_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def _truncation(info) -> str | None:
    """"truncated: the header announces N samples (s), the file holds M (s)" when the header promises
    more audio than the file holds (a cut download or copy), else ``None``."""
    for declared, present in _DATA_SIZE.findall(info.extra_info or ""):
        if int(declared) > int(present):
            align = _BLOCK_ALIGN.search(info.extra_info)
            frame = int(align.group(1)) if align else _BYTES.get(info.subtype, 2) * max(1, info.channels)
            expected = int(declared) // max(1, frame)
            rate = info.samplerate or 1
            return (f"truncated: the header announces {expected} samples ({expected / rate:.2f} s), the file "
                    f"holds {info.frames} ({info.frames / rate:.2f} s); copy or download it again")
    return None


def _format_notes(info) -> list[tuple[str, str]]:
    """(kind, text) for what is usable but unusual: ser-bench converts it, a reader should know."""
    from ser_bench.data.audio import SAMPLE_RATE

    notes = []
    if info.channels > 1:
        notes.append(("channels", f"{info.channels} channels (averaged to mono)"))
    if info.samplerate != SAMPLE_RATE:
        notes.append(("rate", f"{info.samplerate} Hz (resampled to {SAMPLE_RATE} Hz)"))
    if info.subtype in ("PCM_U8", "PCM_S8"):
        notes.append(("depth", "8-bit samples (256 levels: coarse; features may be noisier than from 16-bit)"))
    elif info.subtype == "PCM_24":
        notes.append(("depth", "24-bit samples (read at full precision; corpora usually ship 16-bit: a "
                               "converted copy may give slightly different numbers)"))
    return notes


def _inspect_audio(path: str) -> tuple[str | None, list]:
    """(why the file cannot be used, or ``None``; notes on its format)."""
    import soundfile as sf

    from ser_bench.data.audio import load_audio
    from ser_bench.errors import BadAudioError

    notes = []
    try:
        info = sf.info(path)
    except Exception:  # not readable by libsndfile (a video, or no audio at all): load_audio says why
        info = None
    if info is not None:
        truncated = _truncation(info)
        if truncated:
            return truncated, []
        notes = _format_notes(info)
    try:
        signal = load_audio(path)
    except BadAudioError as exc:
        return str(exc).split(": ", 1)[-1], notes
    if len(signal) < 1600:
        return f"only {len(signal)} samples (< 0.1 s)", notes
    return _level_problem(signal), notes + _level_notes(signal)


# A clip whose loudest sample is below -50 dBFS holds little but the recorder's noise floor.
NEAR_SILENT = 10 ** (-50 / 20)


def _level_problem(signal) -> str | None:
    """Why a decoded clip has no sound to describe (every sample equal: a DC offset), else ``None``."""
    import numpy as np

    if float(np.ptp(signal)) == 0.0:
        return f"constant: every sample is {float(signal[0]):.4g}, a DC offset and no sound"
    return None


def _level_notes(signal) -> list[tuple[str, str]]:
    """(kind, text) for clips that decode but may not hold speech: near-silent, or one bit deep."""
    import numpy as np

    notes = []
    if float(np.max(np.abs(signal))) < NEAR_SILENT:
        notes.append(("level", "near-silent: the loudest sample is below -50 dBFS (features may describe "
                               "noise, not speech)"))
    if np.unique(signal[: 16000 * 10]).size <= 2:
        notes.append(("depth", "two sample values only (one-bit audio): features of it are unlike speech's"))
    return notes


def _note_problems(paths, notes_per_file) -> list[Problem]:
    """One note per kind of format finding, naming the first file and how many share it."""
    by_kind: dict = defaultdict(list)
    for path, notes in zip(paths, notes_per_file):
        for kind, text in notes:
            by_kind[(kind, text)].append(path)
    problems = []
    for (_, text), files in sorted(by_kind.items(), key=lambda item: item[1][0]):
        others = f" (and {len(files) - 1} other files)" if len(files) > 1 else ""
        problems.append(Problem("note", files[0], f"{text}{others}"))
    return problems


def check_corpus(spec, ctx, params: dict | None = None, read_audio: bool = True) -> tuple[object, list[Problem]]:
    """Load ``spec`` leniently and list every problem found; returns (manifest or None, problems)."""
    from concurrent.futures import ThreadPoolExecutor

    from ser_bench.data.features import file_digest

    problems: list[Problem] = []
    ctx.skip_bad_files = True
    before = len(ctx.skipped_files)
    manifest = spec.load(ctx, **{**spec.params, **(params or {})})
    from ser_bench.data.corpus import NOT_A_FILE

    for entry in ctx.skipped_files[before:]:
        where, _, message = entry.partition(": ")
        problems.append(Problem("error", where, message if message.startswith(NOT_A_FILE)
                                else f"unexpected name: {message}"))
    paths = list(manifest["path"])
    with ctx.progress(len(paths), f"checking {spec.name}") as bar, ThreadPoolExecutor(ctx.n_workers) as pool:
        def inspect(path):
            result = (_inspect_audio(path) if read_audio else (None, []), file_digest(path))
            bar.update(1)
            return result
        inspected = list(pool.map(inspect, paths))
    by_digest = defaultdict(list)
    for path, ((problem, _), digest) in zip(paths, inspected):
        if problem:
            problems.append(Problem("error", path, problem))
        by_digest[digest].append(path)
    problems += _note_problems(paths, [notes for (_, notes), _ in inspected])
    for copies in by_digest.values():
        if len(copies) > 1:
            problems.append(Problem("warning", copies[0], f"identical content to {', '.join(copies[1:])}"))
    speakers = set(manifest["speaker"].astype(str))
    for missing in sorted(set(spec.expected_speakers) - speakers):
        problems.append(Problem("warning", f"speaker {missing}", "no clips found (missing speaker folder?)"))
    for extra in sorted(speakers - set(spec.expected_speakers)) if spec.expected_speakers else []:
        problems.append(Problem("warning", f"speaker {extra}", "not a speaker of the complete corpus"))
    if spec.expected_per_speaker:
        counts = manifest.groupby(["speaker", "emotion"]).size()
        for speaker in sorted(speakers):
            for emotion, expected in spec.expected_per_speaker.items():
                found = int(counts.get((speaker, emotion), 0))
                if found != expected:
                    problems.append(Problem("warning", f"speaker {speaker}",
                                            f"{found} {emotion} clips, a complete copy has {expected}"))
    full_params = {**spec.params, **(params or {})}
    if spec.expected_clips and full_params == dict(spec.params) and len(manifest) != spec.expected_clips:
        problems.append(Problem("warning", spec.name, f"{len(manifest)} clips, a complete copy has {spec.expected_clips}"))
    return manifest, problems


LANGUAGES = {"en": "English", "de": "German", "tr": "Turkish", "it": "Italian", "zh": "Mandarin", "fa": "Persian",
             "fr": "French", "el": "Greek", "bn": "Bangla", "es": "Spanish", "am": "Amharic", "ur": "Urdu",
             "pl": "Polish", "zh+en": "Mandarin, English"}


def corpus_table(specs, infos=None) -> str:
    """Every corpus a line: name, language, speakers, emotions, licence, and (with ``infos`` from
    :func:`describe`) whether this machine has it; a markdown table, for the terminal and the docs."""
    from tabulate import tabulate

    rows = []
    for i, spec in enumerate(specs):
        info = infos[i] if infos else {}
        speakers = info.get("speakers") or len(spec.expected_speakers) or "-"
        emotions = ", ".join(sorted(set(info.get("labels") or spec.label_map.values()))) or "(per run)"
        per_run = not spec.simulated and not spec.folder_names  # a CSV manifest: its language is the user's
        language = "-" if per_run else LANGUAGES.get(spec.language, spec.language)
        row = [spec.name, language, speakers, emotions, spec.licence or "-"]
        if infos:
            status = info.get("status", "")
            row.append("found" if status.startswith("found") else "simulated" if spec.simulated
                       else "per run" if status.startswith("configured") else "not found")
        rows.append(row)
    header = ["corpus", "language", "speakers", "emotions", "licence", *(["here"] if infos else [])]
    return tabulate([[str(v).replace("|", "/") for v in row] for row in rows], header, tablefmt="github")


def describe(spec, ctx) -> dict:
    """What ``ser-bench datasets`` shows for one dataset: found or not, where, counts, labels, licence."""
    from ser_bench.errors import SerBenchError

    info = {"name": spec.name, "simulated": spec.simulated, "licence": spec.licence, "homepage": spec.homepage,
            "reference": spec.reference, "labels": sorted(set(spec.label_map.values()))}
    if not spec.simulated and not spec.folder_names:
        info["status"] = "configured per run: " + spec.summary
        return info
    if spec.simulated:
        info["status"] = "simulated (generated into the cache on first use)"
        info["clips"] = spec.expected_clips or None
        info["speakers"] = len(spec.expected_speakers) or None
        return info
    try:
        root = ctx.find_corpus(spec.name, spec.folder_names)
    except SerBenchError as exc:
        info["status"] = "not found"
        info["looked_in"] = [line.strip() for line in str(exc).splitlines()[1:] if line.startswith("  ")]
        return info
    info["status"] = f"found at {Path(root).resolve()}"
    ctx.skip_bad_files = True
    try:
        manifest = spec.load(ctx, **spec.params)
        info["clips"] = len(manifest)
        info["speakers"] = int(manifest["speaker"].nunique())
        info["labels"] = sorted(manifest["emotion"].unique())
    except SerBenchError as exc:
        info["status"] += f" but unusable: {exc}"
    return info
