"""eNTERFACE'05: audio-visual emotion database, 42 subjects of 14 nationalities speaking English.

Layout ``subject N/<emotion>/sentence K/sN_<an|di|fe|ha|sa|su>_K.avi``; the distributed archive is
inconsistent in depth (some subjects have an extra level) and its folder names contain spaces, so the
tree is searched recursively and labels come from the file name. The audio is read from the AVI files
with PyAV. Martin, Kotsia, Macq & Pitas (2006), ICDE Workshops.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.plugin_kit.helpers import ANY_AUDIO_EXTENSION, AUDIO_SUFFIXES, audio_files, manifest_from_files
from ser_bench.plugin_api.types import DatasetSpec

EMOTIONS = {"an": "anger", "di": "disgust", "fe": "fear", "ha": "happiness", "sa": "sadness", "su": "surprise"}
_NAME = re.compile(r"^s_?(\d+)_([a-z]{2})_(\d+)$", re.IGNORECASE)
LAYOUT = "subject N/<emotion>/sentence K/sN_xx_K.avi"


def parse_name(path: Path) -> dict:
    """Fields of an eNTERFACE file name (the speaker and emotion come from the name, not the folders)."""
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError("not an eNTERFACE'05 name (expected sN_xx_K, e.g. s1_an_1.avi)")
    subject, code, sentence = m.groups()
    if code.lower() not in EMOTIONS:
        raise ValueError(f"unknown eNTERFACE emotion code {code!r} ({', '.join(EMOTIONS)})")
    return {"speaker": f"s{int(subject)}", "emotion": EMOTIONS[code.lower()], "sentence": f"{code.lower()}{sentence}"}


def read_tree(root: Path, corpus: str = "enterface", report=None):
    """The manifest of an eNTERFACE-layout tree (real or simulated), whatever its depth."""
    return manifest_from_files(audio_files(root, AUDIO_SUFFIXES), parse_name, corpus, "en", report,
                               f"expected {LAYOUT} {ANY_AUDIO_EXTENSION} under {root}")


def load(ctx):
    """Find the user's eNTERFACE'05 copy and return its manifest."""
    return read_tree(ctx.find_corpus("enterface", SPEC.folder_names), report=ctx.report_bad_file)


SPEC = DatasetSpec(
    name="enterface", load=load,
    summary="eNTERFACE'05: 42 subjects, 6 emotions x 5 sentences, English by non-native speakers",
    folder_names=("eNTERFACE05", "enterface05", "enterface", "eNTERFACE'05"),
    homepage="http://www.enterface.net/enterface05/", licence="free for research (see the site)",
    reference="Martin, Kotsia, Macq & Pitas (2006), The eNTERFACE'05 audio-visual emotion database, ICDE Workshops",
    label_map={code: emo for code, emo in EMOTIONS.items()},
    expected_per_speaker={e: 5 for e in EMOTIONS.values()},
    expected_clips=1166,
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
