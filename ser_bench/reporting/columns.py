"""Where each per-split measurement beside UAR sits in a result (``Metrics.extra``), by the column name the
tidy rows and the exported board give it. Plain data: the tidy rows, the board sections and the export
read the same paths."""
from __future__ import annotations

SPLIT_MEASURES = {
    "precision_at_1": ("retrieval", "precision_at_1"),
    "r_precision": ("retrieval", "r_precision"),
    "map_at_r": ("retrieval", "map_at_r"),
    "nmi": ("retrieval", "nmi"),
    "ami": ("retrieval", "ami"),
    "speaker_probe": ("invariance", "speaker", "above_chance"),
    "corpus_probe": ("invariance", "corpus", "above_chance"),
    "ece": ("calibration", "ece"),
    "brier": ("calibration", "brier"),
    "nll": ("calibration", "nll"),
}


def lookup(split, path: tuple):
    """Whatever ``split.metrics.extra`` holds at ``path`` (a number, a text such as a head's calibration
    method), or None."""
    found = split.metrics.extra or {}
    for key in path:
        if not isinstance(found, dict):
            return None
        found = found.get(key)
    return found


def read(split, path: tuple):
    """The number at ``path`` in ``split.metrics.extra``, or None."""
    found = lookup(split, path)
    return found if isinstance(found, (int, float)) and not isinstance(found, bool) else None
