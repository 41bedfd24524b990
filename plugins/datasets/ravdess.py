"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song (speech part).

Layout ``Actor_XX/03-01-EE-II-SS-RR-AA.wav``: modality, vocal channel (01 speech, 02 song), emotion,
intensity (01 normal, 02 strong), statement, repetition, actor (odd = male). 24 actors x 60 clips.
The originals are 48 kHz and a few are stereo: :func:`ser_bench.data.audio.load_audio` downmixes and
resamples. Livingstone & Russo (2018), PLoS ONE 13(5): e0196391.
"""
from __future__ import annotations

from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"01": "neutral", "02": "calm", "03": "happiness", "04": "sadness", "05": "anger",
            "06": "fear", "07": "disgust", "08": "surprise"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
LAYOUT = "Actor_XX/MM-VV-EE-II-SS-RR-AA.wav (e.g. Actor_01/03-01-05-02-01-01-01.wav)"


def parse_name(path: Path, include_song: bool = False):
    """Fields of a RAVDESS file name; ``None`` for song clips unless included."""
    parts = path.stem.split("-")
    if len(parts) != 7 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"not a RAVDESS name (expected {LAYOUT})")
    modality, channel, emotion, intensity, statement, repetition, actor = parts
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown RAVDESS emotion code {emotion!r} (01-08)")
    if intensity not in INTENSITIES or statement not in STATEMENTS or channel not in ("01", "02"):
        raise ValueError("intensity must be 01/02, statement 01/02 and vocal channel 01/02")
    if channel == "02" and not include_song:
        return None
    return {"speaker": actor, "emotion": EMOTIONS[emotion], "intensity": INTENSITIES[intensity],
            "sentence": statement, "repetition": int(repetition),
            "gender": "male" if int(actor) % 2 else "female", "vocal_channel": "song" if channel == "02" else "speech"}


def read_tree(root: Path, corpus: str = "ravdess", include_song: bool = False, report=None):
    """The manifest of a RAVDESS-layout tree (real or simulated)."""
    return manifest_from_files(audio_files(root, SOUND_SUFFIXES), lambda p: parse_name(p, include_song),
                               corpus, "en", report, f"expected {LAYOUT} {ANY_SOUND_EXTENSION} under {root}")


def load(ctx, include_song: bool = False):
    """Find the user's RAVDESS copy and return its manifest."""
    root = ctx.find_corpus("ravdess", SPEC.folder_names)
    return read_tree(root, include_song=include_song, report=ctx.report_bad_file)


SPEC = DatasetSpec(
    name="ravdess", load=load, params=defaults_of(load, "datasets"),
    summary="RAVDESS speech: 24 North-American actors, 2 statements, 8 emotions, 1440 clips",
    folder_names=("RAVDESS", "ravdess", "Audio_Speech_Actors_01-24"),
    homepage="https://zenodo.org/record/1188976", licence="CC BY-NC-SA 4.0",
    reference="Livingstone & Russo (2018), PLoS ONE 13(5): e0196391",
    label_map={code: emo for code, emo in EMOTIONS.items()},
    expected_speakers=tuple(f"{a:02d}" for a in range(1, 25)),
    expected_per_speaker={e: (4 if e == "neutral" else 8) for e in EMOTIONS.values()},
    expected_clips=1440,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
