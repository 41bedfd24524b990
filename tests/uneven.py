"""A fabricated natural-speech corpus whose speakers do not each cover every emotion, as in podcast and
talk-show corpora: 29 speakers, 22 of them heard in a single emotion, brought as a CSV manifest over the
tiny simulated corpora's audio."""
from __future__ import annotations

from pathlib import Path

EMOTIONS = ("anger", "happiness", "sadness", "fear")
FULL_SPEAKERS = 7  # heard in every emotion, 6 clips each
SINGLE_SPEAKERS = 22  # heard in one emotion each


def uneven_manifest(tiny_corpora: dict, folder: Path) -> Path:
    """Write ``folder/corpus.csv`` (path, speaker, emotion, gender) and return its path. Deterministic."""
    import pandas as pd

    clips = pd.concat([tiny_corpora["sim-ravdess"], tiny_corpora["sim-crema"]], ignore_index=True)
    clips = clips[clips["emotion"].isin(EMOTIONS)].sort_values("path", kind="stable")
    pools = {emo: list(clips.loc[clips["emotion"] == emo, "path"]) for emo in EMOTIONS}
    rows = []
    for i in range(FULL_SPEAKERS):
        for emo in EMOTIONS:
            rows += [{"path": pools[emo].pop(), "speaker": f"full{i:02d}", "emotion": emo} for _ in range(6)]
    for i in range(SINGLE_SPEAKERS):
        emo = EMOTIONS[i % len(EMOTIONS)]
        share = len(pools[emo]) // sum(1 for j in range(i, SINGLE_SPEAKERS) if EMOTIONS[j % len(EMOTIONS)] == emo)
        rows += [{"path": pools[emo].pop(), "speaker": f"one{i:02d}", "emotion": emo} for _ in range(share)]
    frame = pd.DataFrame(rows)
    frame["gender"] = ["female" if int(s[-2:]) % 2 else "male" for s in frame["speaker"]]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.csv"
    frame.to_csv(path, index=False)
    return path
