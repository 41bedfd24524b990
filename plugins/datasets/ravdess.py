"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song (speech part).

Layout ``Actor_XX/03-01-EE-II-SS-RR-AA.wav``: modality, vocal channel (01 speech, 02 song), emotion,
intensity (01 normal, 02 strong), statement, repetition, actor (odd = male). 24 actors x 60 clips.
Livingstone & Russo (2018), PLoS ONE 13(5): e0196391.
"""
from __future__ import annotations

from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.types import DatasetSpec

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happiness", "04": "sadness", "05": "anger",
            "06": "fear", "07": "disgust", "08": "surprise"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
AUDIO_SUFFIXES = {".wav", ".flac"}


def parse_name(path: Path) -> dict:
    """Fields of a RAVDESS file name; raises naming the file if it does not follow the scheme."""
    parts = path.stem.split("-")
    if len(parts) != 7 or not all(p.isdigit() for p in parts) or parts[2] not in EMOTIONS:
        raise SerBenchError(f"{path}: not a RAVDESS name (expected MM-VV-EE-II-SS-RR-AA, emotion 01-08)")
    modality, channel, emotion, intensity, statement, repetition, actor = parts
    return {
        "speaker": f"{int(actor):02d}",
        "emotion": EMOTIONS[emotion],
        "intensity": INTENSITIES.get(intensity, intensity),
        "sentence": statement,
        "repetition": int(repetition),
        "gender": "male" if int(actor) % 2 else "female",
        "vocal_channel": "song" if channel == "02" else "speech",
    }


def read_tree(root: Path, corpus: str = "ravdess", include_song: bool = False):
    """The manifest of a RAVDESS-layout tree (real or simulated)."""
    import pandas as pd

    rows = []
    for path in sorted(Path(root).rglob("*")):
        if path.suffix.lower() not in AUDIO_SUFFIXES or path.name.startswith("."):
            continue
        row = parse_name(path)
        if row["vocal_channel"] == "song" and not include_song:
            continue
        rows.append({"path": str(path), "corpus": corpus, "language": "en", **row})
    if not rows:
        raise SerBenchError(f"no RAVDESS audio files (Actor_XX/*.wav or *.flac) under {root}")
    return pd.DataFrame(rows)


def load(ctx, include_song: bool = False):
    """Find the user's RAVDESS copy and return its manifest."""
    return read_tree(ctx.find_corpus("ravdess", SPEC.folder_names), include_song=include_song)


SPEC = DatasetSpec(
    name="ravdess", load=load, params={"include_song": False},
    summary="RAVDESS speech: 24 North-American actors, 2 statements, 8 emotions, 1440 clips",
    folder_names=("RAVDESS", "ravdess", "Audio_Speech_Actors_01-24"),
    homepage="https://zenodo.org/record/1188976", licence="CC BY-NC-SA 4.0",
    reference="Livingstone & Russo (2018), PLoS ONE 13(5): e0196391",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
