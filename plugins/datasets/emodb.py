"""EmoDB: the Berlin Database of Emotional Speech (German), 10 actors, 535 utterances.

Layout ``wav/SSTTTEV.wav``: speaker (03, 08-16), text code (ten sentences: a01 a02 a04 a05 a07 b01 b02
b03 b09 b10), emotion letter from the German word (W Ärger anger, L Langeweile boredom, E Ekel disgust,
A Angst fear, F Freude happiness, T Trauer sadness, N neutral) and a version letter. Any audio format
libsndfile reads is taken, whatever the extension (a FLAC copy loads as the WAV original does).
Burkhardt et al. (2005), INTERSPEECH.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_SOUND_EXTENSION, SOUND_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
            "N": "neutral"}
MALE = {"03", "10", "11", "12", "15"}
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def parse_name(path: Path) -> dict:
    """Fields of an EmoDB file name such as ``03a01Fa.wav``."""
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError("not an EmoDB name (expected SSTTTEV.wav, e.g. 03a01Fa.wav)")
    speaker, text, code, _version = m.groups()
    if code not in EMOTIONS:
        raise ValueError(f"unknown EmoDB emotion letter {code!r} ({', '.join(EMOTIONS)})")
    return {"speaker": speaker, "sentence": text, "emotion": EMOTIONS[code],
            "gender": "male" if speaker in MALE else "female"}


def load(ctx):
    """Find the user's EmoDB copy and return its manifest."""
    root = ctx.find_corpus("emodb", SPEC.folder_names)
    return manifest_from_files(audio_files(root, SOUND_SUFFIXES), parse_name, "emodb", "de", ctx.report_bad_file,
                               f"expected wav/03a01Fa.wav {ANY_SOUND_EXTENSION} under {root}")


SPEC = DatasetSpec(
    name="emodb", load=load, language="de",
    summary="EmoDB (Berlin, German): 10 actors, 10 sentences, 7 emotions, 535 clips",
    folder_names=("emodb", "EmoDB", "emo-db", "berlin"),
    homepage="http://emodb.bilderbar.info/", licence="free for research",
    reference="Burkhardt et al. (2005), A database of German emotional speech, INTERSPEECH",
    label_map=dict(EMOTIONS),
    expected_speakers=("03", "08", "09", "10", "11", "12", "13", "14", "15", "16"),
    expected_clips=535,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
