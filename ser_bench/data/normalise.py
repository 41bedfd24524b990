"""Feature normalisation: z-scores fitted on the training data (default), per corpus, or per speaker.

``corpus`` z-scores each corpus on its own clips: a domain's, or in a union of corpora (``emodb|turev``)
each corpus of it apart, by its ``corpus`` column. ``corpus`` and ``speaker`` use the statistics of
unlabelled test-side data too (transductive); they are options because the paper does not say, are
recorded in every result, and are what Schuller et al. (2010, "Cross-corpus acoustic emotion
recognition") found to matter most across corpora.
"""
from __future__ import annotations

import numpy as np

MODES = ("train", "corpus", "speaker")


def _z(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (x - ref.mean(0)) / (ref.std(0) + 1e-8)


def normalise(domains: dict, train_domain: str, train_rows, mode: str = "train") -> dict:
    """Return ``{domain: normalised X}`` for ``domains = {name: (manifest, X)}``."""
    if mode not in MODES:
        raise ValueError(f"normalisation must be one of {MODES}, not {mode!r}")
    if mode == "train":
        ref = domains[train_domain][1][np.asarray(train_rows)]
        return {d: _z(x, ref).astype(np.float32) for d, (_, x) in domains.items()}
    column = "corpus" if mode == "corpus" else "speaker"
    out = {}
    for d, (manifest, x) in domains.items():
        groups = manifest[column].astype(str).to_numpy() if column in manifest else np.zeros(len(x), dtype=str)
        names = np.unique(groups)
        if len(names) == 1:  # the whole domain at once, as it always was
            out[d] = _z(x, x).astype(np.float32)
            continue
        y = np.empty_like(x)
        for s in names:
            rows = groups == s
            y[rows] = _z(x[rows], x[rows])
        out[d] = y.astype(np.float32)
    return out
