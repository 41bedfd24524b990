"""SAVEE: Surrey Audio-Visual Expressed Emotion, 4 male British speakers x 120 utterances.

Layout ``AudioData/DC/a01.wav``: speaker folder (DC, JE, JK, KL), emotion prefix (a anger, d disgust,
f fear, h happiness, n neutral, sa sadness, su surprise) and a number. 480 clips (neutral 30 per
speaker, the others 15). Haq & Jackson (2009), AVSP.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral", "sa": "sadness",
            "su": "surprise"}
SPEAKERS = ("DC", "JE", "JK", "KL")
_NAME = re.compile(r"^(?:(DC|JE|JK|KL)_)?(sa|su|a|d|f|h|n)(\d\d)$")


def parse_name(path: Path) -> dict:
    """Fields of a SAVEE file (``DC/a01.wav`` or the flat ``DC_a01.wav`` variant)."""
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError("not a SAVEE name (expected AudioData/DC/a01.wav or DC_a01.wav)")
    speaker = m.group(1) or path.parent.name
    if speaker not in SPEAKERS:
        raise ValueError(f"unknown SAVEE speaker {speaker!r} ({', '.join(SPEAKERS)})")
    return {"speaker": speaker, "emotion": EMOTIONS[m.group(2)], "sentence": f"{m.group(2)}{m.group(3)}",
            "gender": "male"}


def load(ctx):
    """Find the user's SAVEE copy and return its manifest."""
    root = ctx.find_corpus("savee", SPEC.folder_names)
    return manifest_from_files(audio_files(root, SOUND_SUFFIXES), parse_name, "savee", "en", ctx.report_bad_file,
                               f"expected AudioData/DC/a01.wav {ANY_SOUND_EXTENSION} under {root}")


SPEC = DatasetSpec(
    name="savee", load=load,
    summary="SAVEE: 4 male British speakers, 7 emotions, 480 clips",
    folder_names=("SAVEE", "savee", "SAVEE/AudioData", "AudioData"),
    homepage="http://kahlan.eps.surrey.ac.uk/savee/", licence="free for research",
    reference="Haq & Jackson (2009), Speaker-dependent audio-visual emotion recognition, AVSP",
    label_map=dict(EMOTIONS), expected_speakers=SPEAKERS,
    expected_per_speaker={e: (30 if e == "neutral" else 15) for e in EMOTIONS.values()}, expected_clips=480,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
