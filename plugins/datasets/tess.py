"""TESS: the Toronto Emotional Speech Set, two actresses (aged 26 and 64) x 200 words x 7 emotions.

Layout: folders such as ``OAF_angry/`` holding ``OAF_back_angry.wav`` (speaker OAF or YAF, the target
word, the emotion; "ps" is pleasant surprise). 2800 clips. Dupuis & Pichora-Fuller (2010), University
of Toronto, Psychology Department. With only two speakers, leave-one-speaker-out is a cross-age test.
"""
from __future__ import annotations

from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
            "ps": "surprise", "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "sad": "sadness"}


def parse_name(path: Path) -> dict:
    """Fields of a TESS file name such as ``YAF_back_angry.wav``."""
    parts = path.stem.split("_")
    if len(parts) < 3 or parts[0].upper() not in ("OAF", "YAF"):
        raise ValueError("not a TESS name (expected OAF_word_emotion.wav or YAF_word_emotion.wav)")
    emotion = "_".join(parts[2:]).lower()
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown TESS emotion {emotion!r} ({', '.join(EMOTIONS)})")
    return {"speaker": parts[0].upper(), "sentence": parts[1].lower(), "emotion": EMOTIONS[emotion],
            "gender": "female"}


def load(ctx):
    """Find the user's TESS copy and return its manifest."""
    root = ctx.find_corpus("tess", SPEC.folder_names)
    return manifest_from_files(audio_files(root, SOUND_SUFFIXES), parse_name, "tess", "en", ctx.report_bad_file,
                               f"expected OAF_angry/OAF_back_angry.wav {ANY_SOUND_EXTENSION} under {root}")


SPEC = DatasetSpec(
    name="tess", load=load,
    summary="TESS: 2 actresses, 200 words, 7 emotions, 2800 clips",
    folder_names=("TESS", "tess", "TESS Toronto emotional speech set data"),
    homepage="https://tspace.library.utoronto.ca/handle/1807/24487", licence="CC BY-NC-ND 4.0",
    reference="Dupuis & Pichora-Fuller (2010), Toronto Emotional Speech Set (TESS)",
    label_map={k: v for k, v in EMOTIONS.items() if k in ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")},
    expected_speakers=("OAF", "YAF"),
    expected_per_speaker={e: 200 for e in ("anger", "disgust", "fear", "happiness", "neutral", "surprise", "sadness")},
    expected_clips=2800,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
