"""Feature normalisation: z-scores fitted on the training data (default), per corpus, or per speaker.

``corpus`` and ``speaker`` use the statistics of unlabelled test-side data too (transductive); they
are options because the paper does not say, and are recorded in every result.
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
    if mode == "corpus":
        return {d: _z(x, x).astype(np.float32) for d, (_, x) in domains.items()}
    out = {}
    for d, (manifest, x) in domains.items():
        y = np.empty_like(x)
        speakers = manifest["speaker"].astype(str).to_numpy()
        for s in np.unique(speakers):
            rows = speakers == s
            y[rows] = _z(x[rows], x[rows])
        out[d] = y.astype(np.float32)
    return out
