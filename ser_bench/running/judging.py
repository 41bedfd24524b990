"""What a split measures beyond its labels: the embedding (retrieval, clustering, what else it encodes)
and how far the head's class probabilities can be trusted.

Each measurement is recorded in the split's ``Metrics.extra`` (``retrieval``, ``invariance``,
``calibration``) and averaged by the boards over the same unit as UAR. Nothing here changes a prediction:
predictions come from the head before any of this runs, and every computation seeds its own generator.
"""
from __future__ import annotations

import numpy as np

# Clips of each corpus the corpus-identity probe reads at most: embedding a whole source corpus for every
# split would cost more than the split's own scoring.
CORPUS_PROBE_CLIPS = 400
# Retrieval compares every test clip with every other (a clips x clips distance matrix: 100,000 clips would
# need 40 GB): larger test sets are measured on this many clips, drawn per class in proportion, seeded.
RETRIEVAL_CLIPS = 4000
# The speaker probe's one-vs-rest targets grow with clips x speakers: larger test sets are probed on at most
# this many speakers (drawn, seeded) and clips.
PROBE_SPEAKERS = 200
PROBE_CLIPS = 4000


def embedding_measures(embed, x_test, truth, test_rows, source=None) -> dict:
    """``{"retrieval": ..., "invariance": {"speaker": ..., "corpus": ...}}`` of the test embeddings.

    ``embed(x) -> numpy`` embeds clips with the split's model; ``truth`` the test clips' class indices,
    ``test_rows`` their manifest rows (``speaker``). ``source`` (optional) is ``(embed_rows, rows,
    source_name, target_name)``: the split's training clips from other corpora (``embed_rows(positions)``
    embeds those of ``rows`` at the given positions), so that a probe can try to tell the corpora apart
    (``rows`` may carry a ``corpus`` column, as a union of corpora does; otherwise all are ``source_name``).
    """
    from ser_bench.model.embedding_metrics import invariance_probe, retrieval_metrics

    z_test = embed(x_test)
    truth = np.asarray(truth)
    rng = np.random.default_rng(0)
    keep = _drawn(rng, truth, RETRIEVAL_CLIPS)
    out = {"retrieval": retrieval_metrics(z_test[keep], truth[keep], seed=0)}
    if len(keep) < len(truth):
        out["retrieval"]["sampled_from"] = int(len(truth))
    speakers = test_rows["speaker"].astype(str).to_numpy()
    invariance = {}
    chosen = _probe_rows(rng, speakers)
    found = invariance_probe(z_test[chosen], speakers[chosen], seed=0)
    if found is not None:
        if len(chosen) < len(speakers):
            found["sampled_from"] = int(len(speakers))
        invariance["speaker"] = found
    if source is not None:
        found = _corpus_probe(z_test, speakers, test_rows, source)
        if found is not None:
            invariance["corpus"] = found
    if invariance:
        out["invariance"] = invariance
    return out


def _corpus_probe(z_test, test_speakers, test_rows, source):
    """Decode which corpus a clip comes from (the target's test clips against the source's training clips),
    with speaker-disjoint folds, on at most :data:`CORPUS_PROBE_CLIPS` clips of each corpus."""
    from ser_bench.model.embedding_metrics import invariance_probe

    embed_rows, source_rows, source_name, target_name = source
    corpora = (source_rows["corpus"].astype(str).to_numpy() if "corpus" in source_rows
               else np.full(len(source_rows), str(source_name)))
    rng = np.random.default_rng(0)
    keep_source = _sample(rng, corpora, CORPUS_PROBE_CLIPS)
    keep_target = _sample(rng, np.zeros(len(z_test)), CORPUS_PROBE_CLIPS)
    z_source = embed_rows(keep_source.tolist())
    identity = np.concatenate([np.array([f"source:{c}" for c in corpora[keep_source]]),
                               np.full(len(keep_target), f"target:{target_name}")])
    groups = np.concatenate([np.array([f"source:{c}/{s}" for c, s in zip(
        corpora[keep_source], source_rows["speaker"].astype(str).to_numpy()[keep_source])]),
        np.array([f"target/{s}" for s in test_speakers[keep_target]])])
    return invariance_probe(np.concatenate([z_source, z_test[keep_target]]), identity, groups=groups, seed=0)


def _drawn(rng, labels: np.ndarray, cap: int) -> np.ndarray:
    """All row positions when there are at most ``cap``; else ``cap`` of them drawn per label in proportion
    (at least one of each), sorted."""
    if len(labels) <= cap:
        return np.arange(len(labels))
    keep = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        take = max(1, round(cap * len(rows) / len(labels)))
        keep.append(rows if take >= len(rows) else rng.choice(rows, take, replace=False))
    return np.sort(np.concatenate(keep))


def _probe_rows(rng, speakers: np.ndarray) -> np.ndarray:
    """The rows the speaker probe reads: every row, or those of at most :data:`PROBE_SPEAKERS` speakers drawn
    (seeded), then at most :data:`PROBE_CLIPS` of their clips drawn per speaker in proportion."""
    names = np.unique(speakers)
    rows = np.arange(len(speakers))
    if len(names) > PROBE_SPEAKERS:
        rows = np.flatnonzero(np.isin(speakers, rng.choice(names, PROBE_SPEAKERS, replace=False)))
    return rows[_drawn(rng, speakers[rows], PROBE_CLIPS)]


def _sample(rng, labels, cap: int) -> np.ndarray:
    """Sorted indices of at most ``cap`` rows of each value of ``labels``."""
    keep = []
    for value in dict.fromkeys(labels.tolist()):
        rows = np.flatnonzero(labels == value)
        keep.append(rows if len(rows) <= cap else rng.choice(rows, cap, replace=False))
    return np.sort(np.concatenate(keep))


def calibration_measures(probabilities, truth, how: str) -> dict:
    """``{"ece", "brier", "nll", "bins", "method"}`` of the head's class probabilities of the test clips, with
    the temperature where one was fitted (distance-based heads)."""
    from ser_bench.model.calibration import calibration_metrics, temperature_of

    found = dict(calibration_metrics(probabilities.detach().cpu().numpy(), truth))
    found["method"] = how
    temperature = temperature_of(probabilities)
    if temperature is not None:
        found["temperature"] = temperature.record()
    return found
