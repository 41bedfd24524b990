"""The common emotion vocabulary, and arousal/valence coordinates for categorical labels.

Every dataset plugin maps its own codes to :data:`ser_bench.plugin_api.vocabulary.VOCABULARY` (its
``label_map`` says how; the map is recorded in every result). Categorical emotions get dimensional
coordinates in [-1, 1] for the continuous-metric losses: positions of the emotion terms on Russell's
circumplex of affect (Russell 1980, J. Personality and Social Psychology 39(6): 1161-1178, Fig. 1), read
off the figure and rounded to one decimal, so they are approximate by construction. Where a corpus
records intensity, a strong/high take is moved 25 % further from neutral on arousal and a low one 25 %
closer.
"""
from __future__ import annotations

from ser_bench.plugin_api.vocabulary import VOCABULARY

# emotion -> (valence, arousal)
CIRCUMPLEX = {
    "anger": (-0.6, 0.7),
    "happiness": (0.8, 0.5),
    "sadness": (-0.7, -0.4),
    "fear": (-0.5, 0.8),
    "neutral": (0.0, 0.0),
    "disgust": (-0.7, 0.3),
    "surprise": (0.3, 0.8),
    "calm": (0.5, -0.6),
    "boredom": (-0.4, -0.7),
}
INTENSITY_AROUSAL_SCALE = {"strong": 1.25, "high": 1.25, "low": 0.75}
DIMENSIONS_SOURCE = "Russell (1980) circumplex, approximate positions; intensity scales arousal by 0.75/1.25"


def add_dimensions(manifest):
    """Add ``valence`` and ``arousal`` columns from the categorical emotion where they are missing."""
    import numpy as np

    frame = manifest.copy()
    intensity = frame["intensity"] if "intensity" in frame else [None] * len(frame)
    valence = [CIRCUMPLEX[e][0] for e in frame["emotion"]]
    arousal = [float(np.clip(CIRCUMPLEX[e][1] * INTENSITY_AROUSAL_SCALE.get(i, 1.0), -1, 1))
               for e, i in zip(frame["emotion"], intensity)]
    for column, values in (("valence", valence), ("arousal", arousal)):
        if column in frame:
            frame[column] = frame[column].fillna(dict(enumerate(values)))
        else:
            frame[column] = values
    return frame

# Named label sets (``--labels NAME``). ``shared`` is not listed: it depends on the corpora of a grid and
# is worked out when they are read (:func:`shared_labels`).
LABEL_SETS = {
    "default": ("anger", "happiness", "sadness", "fear"),  # Feng & Chaspari (2020): RAVDESS's four
    "feng2020": ("anger", "happiness", "sadness", "fear"),
    "iemocap4": ("anger", "happiness", "sadness", "neutral"),  # the four classes most SER papers report
}
SHARED = "shared"  # the emotions every corpus of the grid has, after its label map


def named_set(text: str):
    """The emotions of the named label set ``text``, :data:`SHARED` for the grid-dependent set, or
    ``None`` when ``text`` names no set (it is then a comma-separated list)."""
    text = text.strip()
    if text == SHARED:
        return SHARED
    return LABEL_SETS.get(text)


def apply_label_map(manifest, mapping, corpus: str):
    """``manifest`` with its emotions renamed by ``mapping`` (``{"calm": "neutral"}``), the user's explicit
    choice for one corpus. Each source name must be an emotion of the corpus and each target name one of
    the vocabulary (else a :class:`~ser_bench.errors.SerBenchError` naming what the corpus has).
    Valence and arousal taken from the circumplex follow the new name; values a corpus annotates stay."""
    from ser_bench.errors import SerBenchError

    if not mapping:
        return manifest
    present = sorted(set(manifest["emotion"].dropna()))
    for source, target in mapping.items():
        if source not in present:
            raise SerBenchError(f"--label-map {corpus}.{source}={target}: {corpus} has no {source!r}; its emotions "
                                f"are {', '.join(present)}.")
        if target not in VOCABULARY:
            raise SerBenchError(f"--label-map {corpus}.{source}={target}: {target!r} is not an emotion of the "
                                f"common vocabulary ({', '.join(VOCABULARY)}).")
    frame = manifest.copy()
    renamed = frame["emotion"].isin(list(mapping)).to_numpy()
    if {"valence", "arousal"} <= set(frame.columns):
        # Circumplex values are derived from the old name: recompute those, keep annotated ones.
        derived = add_dimensions(frame.drop(columns=["valence", "arousal"]))
        for column in ("valence", "arousal"):
            from_name = (frame[column].to_numpy() == derived[column].to_numpy()) & renamed
            frame.loc[from_name, column] = float("nan")
    frame.loc[renamed, "emotion"] = frame.loc[renamed, "emotion"].map(dict(mapping))
    return add_dimensions(frame)


def shared_labels(emotions_by_corpus: dict) -> tuple:
    """The emotions every corpus of ``emotions_by_corpus`` (``{name: set of emotions}``) has, in
    vocabulary order; fewer than two is a :class:`~ser_bench.errors.SerBenchError` naming what each has."""
    from ser_bench.errors import SerBenchError

    common = set.intersection(*(set(e) for e in emotions_by_corpus.values())) if emotions_by_corpus else set()
    shared = tuple(e for e in VOCABULARY if e in common)
    if len(shared) < 2:
        have = "; ".join(f"{name}: {', '.join(_in_order(e))}" for name, e in emotions_by_corpus.items())
        raise SerBenchError(f"the corpora of this grid share {len(shared)} emotion(s) "
                            f"({', '.join(shared) or 'none'}); telling emotions apart needs two. What each has: "
                            f"{have}. Map a corpus's emotion onto another with --label-map CORPUS.FROM=TO "
                            "(e.g. turev.calm=neutral), or leave a corpus out.")
    return shared


def missing_labels(labels, emotions_by_corpus: dict) -> str:
    """"" when every corpus has every label, else one message naming, for each corpus lacking some,
    what it lacks and what it has, and how to choose labels they share."""
    lacking = {name: [label for label in labels if label not in have]
               for name, have in emotions_by_corpus.items()}
    lacking = {name: missing for name, missing in lacking.items() if missing}
    if not lacking:
        return ""
    lines = "; ".join(f"{name} has no {', '.join(missing)} (its emotions: "
                      f"{', '.join(_in_order(emotions_by_corpus[name]))})" for name, missing in lacking.items())
    common = set.intersection(*(set(e) for e in emotions_by_corpus.values()))
    hint = (f"--labels shared takes the emotions they all have ({', '.join(_in_order(common))})"
            if len(common) >= 2 else "they share fewer than two emotions")
    return (f"labels {','.join(labels)}: {lines}. Choose labels every corpus has ({hint}), or map a corpus's "
            "emotion onto another with --label-map CORPUS.FROM=TO (e.g. turev.calm=neutral).")


def _in_order(emotions) -> list:
    known = [e for e in VOCABULARY if e in emotions]
    return known + sorted(str(e) for e in emotions if e not in VOCABULARY)
