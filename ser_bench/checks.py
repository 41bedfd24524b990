"""Validating a corpus copy: counts per speaker and emotion, unreadable files, odd names, duplicates.

Used by ``ser-bench datasets check NAME``; every problem names the file (or speaker) it concerns.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One finding: ``severity`` is ``error`` (the file cannot be used) or ``warning`` (counts differ)."""

    severity: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.where}: {self.message}"


def _audio_problem(path: str) -> str | None:
    from .audio import load_audio
    from .errors import BadAudioError

    try:
        signal = load_audio(path)
    except BadAudioError as exc:
        return str(exc).split(": ", 1)[-1]
    if len(signal) < 1600:
        return f"only {len(signal)} samples (< 0.1 s)"
    return None


def check_corpus(spec, ctx, params: dict | None = None, read_audio: bool = True) -> tuple[object, list[Problem]]:
    """Load ``spec`` leniently and list every problem found; returns (manifest or None, problems)."""
    from concurrent.futures import ThreadPoolExecutor

    from .features import file_digest

    problems: list[Problem] = []
    ctx.skip_bad_files = True
    before = len(ctx.skipped_files)
    manifest = spec.load(ctx, **{**spec.params, **(params or {})})
    for entry in ctx.skipped_files[before:]:
        where, _, message = entry.partition(": ")
        problems.append(Problem("error", where, f"unexpected name: {message}"))
    paths = list(manifest["path"])
    with ctx.progress(len(paths), f"checking {spec.name}") as bar, ThreadPoolExecutor(ctx.n_workers) as pool:
        def inspect(path):
            result = (_audio_problem(path) if read_audio else None, file_digest(path))
            bar.update(1)
            return result
        inspected = list(pool.map(inspect, paths))
    by_digest = defaultdict(list)
    for path, (problem, digest) in zip(paths, inspected):
        if problem:
            problems.append(Problem("error", path, problem))
        by_digest[digest].append(path)
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


def describe(spec, ctx) -> dict:
    """What ``ser-bench datasets`` shows for one dataset: found or not, where, counts, labels, licence."""
    from .errors import SerBenchError

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
