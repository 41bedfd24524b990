"""eNTERFACE'05: audio-visual emotion database, 42 subjects of 14 nationalities speaking English.

Layout ``subject N/<emotion>/sentence K/sN_<an|di|fe|ha|sa|su>_K.avi``; the distributed archive is
inconsistent in depth (some subjects have an extra level) and its folder names contain spaces, so the
tree is searched recursively and labels come from the file name. Martin et al. (2006), ICDE Workshops.
"""
from __future__ import annotations

import re
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.types import DatasetSpec

EMOTIONS = {"an": "anger", "di": "disgust", "fe": "fear", "ha": "happiness", "sa": "sadness", "su": "surprise"}
_NAME = re.compile(r"^s_?(\d+)_([a-z]{2})_(\d+)$", re.IGNORECASE)
AUDIO_SUFFIXES = {".avi", ".wav", ".flac"}


def parse_name(path: Path) -> dict:
    """Fields of an eNTERFACE file name; raises naming the file if it does not follow the scheme."""
    m = _NAME.match(path.stem)
    if not m or m.group(2).lower() not in EMOTIONS:
        raise SerBenchError(f"{path}: not an eNTERFACE'05 name (expected sN_xx_K, xx in {', '.join(EMOTIONS)})")
    subject, code, sentence = m.groups()
    return {"speaker": f"s{int(subject)}", "emotion": EMOTIONS[code.lower()],
            "sentence": f"{code.lower()}{sentence}"}


def read_tree(root: Path, corpus: str = "enterface"):
    """The manifest of an eNTERFACE-layout tree (real or simulated), whatever its depth."""
    import pandas as pd

    rows = [{"path": str(p), "corpus": corpus, "language": "en", **parse_name(p)}
            for p in sorted(Path(root).rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES
            and not p.name.startswith(".")]
    if not rows:
        raise SerBenchError(f"no eNTERFACE'05 files (subject N/<emotion>/sentence K/sN_xx_K.avi) under {root}")
    return pd.DataFrame(rows)


def load(ctx):
    """Find the user's eNTERFACE'05 copy and return its manifest."""
    return read_tree(ctx.find_corpus("enterface", SPEC.folder_names))


SPEC = DatasetSpec(
    name="enterface", load=load,
    summary="eNTERFACE'05: 42 subjects, 6 emotions x 5 sentences, English by non-native speakers",
    folder_names=("eNTERFACE05", "enterface05", "enterface", "eNTERFACE'05"),
    homepage="http://www.enterface.net/enterface05/", licence="free for research",
    reference="Martin, Kotsia, Macq & Pitas (2006), ICDE Workshops",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
