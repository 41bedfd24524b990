"""The common emotion vocabulary, and arousal/valence coordinates for categorical labels.

Every dataset plugin maps its own codes to :data:`VOCABULARY` (its ``label_map`` says how; the map is
recorded in every result). Categorical emotions get dimensional coordinates in [-1, 1] for the
continuous-metric losses: positions of the emotion terms on Russell's circumplex of affect
(Russell 1980, J. Personality and Social Psychology 39(6): 1161-1178, Fig. 1), read off the figure and
rounded to one decimal, so they are approximate by construction. Where a corpus records intensity, a
strong/high take is moved 25 % further from neutral on arousal and a low one 25 % closer.
"""
from __future__ import annotations

VOCABULARY = ("anger", "happiness", "sadness", "fear", "neutral", "disgust", "surprise", "calm", "boredom")

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
