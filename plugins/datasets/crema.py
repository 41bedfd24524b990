"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (audio).

Layout: a folder (usually ``AudioWAV/``) of ``ActorID_Sentence_Emotion_Level.wav``; 91 actors
(1001-1091), 12 sentences, 6 emotions, level LO/MD/HI or XX (unspecified); 7442 clips (a full cross
would be 7462: 20 takes are missing from the distribution). ``VideoDemographics.csv`` next to the audio
folder gives each actor's sex. Cao et al. (2014), IEEE Trans. Affective Computing 5(4): 377-390.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happiness", "NEU": "neutral",
            "SAD": "sadness"}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened", "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about", "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold", "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment", "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before", "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")
LAYOUT = "ActorID_Sentence_Emotion_Level.wav (e.g. 1001_DFA_ANG_XX.wav)"


def parse_name(path: Path) -> dict:
    """Fields of a CREMA-D file name."""
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError(f"not a CREMA-D name (expected {LAYOUT})")
    actor, sentence, emotion, level = m.groups()
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown CREMA-D emotion code {emotion!r} ({', '.join(EMOTIONS)})")
    if sentence not in SENTENCES or level not in LEVELS:
        raise ValueError(f"unknown CREMA-D sentence {sentence!r} or level {level!r}")
    return {"speaker": actor, "sentence": sentence, "emotion": EMOTIONS[emotion], "intensity": LEVELS[level]}


def genders(root: Path) -> dict:
    """Actor id -> sex from ``VideoDemographics.csv`` in or beside ``root``, if present."""
    import pandas as pd

    for csv in (root / "VideoDemographics.csv", root.parent / "VideoDemographics.csv"):
        if csv.exists():
            table = pd.read_csv(csv)
            return {str(a): str(s).lower() for a, s in zip(table["ActorID"], table["Sex"])}
    return {}


def read_tree(root: Path, corpus: str = "crema", report=None):
    """The manifest of a CREMA-D-layout folder (real or simulated), any audio format libsndfile reads.

    The distribution holds every clip twice, ``AudioWAV/`` and ``AudioMP3/``: given the folder above
    them, only the lossless ``AudioWAV/`` is read."""
    root = Path(root)
    audio = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    frame = manifest_from_files(audio_files(audio, SOUND_SUFFIXES), parse_name, corpus, "en", report,
                                f"expected {LAYOUT} {ANY_SOUND_EXTENSION} under {root}")
    sexes = genders(root)
    frame["gender"] = [sexes.get(s, "unknown") for s in frame["speaker"]]
    return frame


def load(ctx):
    """Find the user's CREMA-D copy and return its manifest."""
    return read_tree(ctx.find_corpus("crema", SPEC.folder_names), report=ctx.report_bad_file)


SPEC = DatasetSpec(
    name="crema", load=load,
    summary="CREMA-D: 91 actors, 12 sentences, 6 emotions, 7442 clips",
    folder_names=("CREMA-D/AudioWAV", "CREMA-D", "crema-d/AudioWAV", "crema-d", "AudioWAV"),
    homepage="https://github.com/CheyneyComputerScience/CREMA-D", licence="ODbL / DbCL",
    reference="Cao et al. (2014), IEEE Trans. Affective Computing 5(4): 377-390",
    label_map=dict(EMOTIONS),
    expected_speakers=tuple(str(a) for a in range(1001, 1092)),
    expected_per_speaker={e: (12 if e == "neutral" else 14) for e in EMOTIONS.values()},
    expected_clips=7442,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
