"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (audio).

Layout: a folder (often ``AudioWAV/``) of ``ActorID_Sentence_Emotion_Level.wav``; 91 actors
(1001-1091), 12 sentences, 6 emotions, level LO/MD/HI or XX (unspecified); optional
``VideoDemographics.csv`` gives each actor's sex. Cao et al. (2014), IEEE Trans. Affective Computing 5(4).
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.types import DatasetSpec

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


def parse_name(path: Path) -> dict:
    """Fields of a CREMA-D file name; raises naming the file if it does not follow the scheme."""
    m = _NAME.match(path.stem)
    if not m or m.group(3) not in EMOTIONS or m.group(2) not in SENTENCES:
        raise SerBenchError(f"{path}: not a CREMA-D name (expected ActorID_Sentence_Emotion_Level, e.g. 1001_DFA_ANG_XX)")
    actor, sentence, emotion, level = m.groups()
    return {"speaker": actor, "sentence": sentence, "emotion": EMOTIONS[emotion],
            "intensity": LEVELS.get(level, level)}


def _genders(root: Path) -> dict:
    import pandas as pd

    for csv in (root / "VideoDemographics.csv", root.parent / "VideoDemographics.csv"):
        if csv.exists():
            table = pd.read_csv(csv)
            return {str(a): str(s).lower() for a, s in zip(table["ActorID"], table["Sex"])}
    return {}


def read_tree(root: Path, corpus: str = "crema"):
    """The manifest of a CREMA-D-layout folder (real or simulated)."""
    import pandas as pd

    root = Path(root)
    genders = _genders(root)
    rows = [{"path": str(p), "corpus": corpus, "language": "en", **parse_name(p)}
            for p in sorted(root.rglob("*.wav")) if not p.name.startswith(".")]
    if not rows:
        raise SerBenchError(f"no CREMA-D audio files (ActorID_Sentence_Emotion_Level.wav) under {root}")
    frame = pd.DataFrame(rows)
    frame["gender"] = [genders.get(s, "unknown") for s in frame["speaker"]]
    return frame


def load(ctx):
    """Find the user's CREMA-D copy and return its manifest."""
    return read_tree(ctx.find_corpus("crema", SPEC.folder_names))


SPEC = DatasetSpec(
    name="crema", load=load,
    summary="CREMA-D: 91 actors, 12 sentences, 6 emotions, 7442 clips",
    folder_names=("CREMA-D", "crema-d", "CREMA-D/AudioWAV", "AudioWAV"),
    homepage="https://github.com/CheyneyComputerScience/CREMA-D", licence="ODbL / DbCL",
    reference="Cao et al. (2014), IEEE Trans. Affective Computing 5(4): 377-390",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
