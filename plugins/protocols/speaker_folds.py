"""speaker-folds: in-domain training on the target, scored by folds of speakers instead of one speaker per fold.

When to use it: on corpora whose speakers do not each cover every emotion (natural speech: podcasts,
talk shows, call centres). There a leave-one-speaker-out fold tests a speaker heard in one or two
emotions only, so its UAR is over fewer classes, and a fold whose test set lacks a class is left out of a
mean of per-fold UARs: on such a corpus ``idt`` may give no number at all. Acted corpora, where every
speaker has every emotion, are served by ``idt``. Papers on such corpora evaluate on groups of speakers
instead: IEMOCAP (Busso et al. 2008) mostly leave-one-session-out, five folds of two speakers each;
MSP-Podcast by its speaker-independent partitions (Lotfian & Busso 2019; the ``official`` protocol);
and they often report one UAR over the predictions of every fold. Schuller et al. (2010) count plain
cross-validation, where folds are not speaker-disjoint, among the reasons published numbers overestimate.

``folds`` (default 5, from 2 to the number of target speakers) folds of speakers; each fold tests its
speakers' clips and trains (and takes its support set) on every other target speaker, as IDT does.
Split ``fold-i``'s ``info``: ``fold`` (i), ``test_speakers`` (sorted) and ``missing_test_classes`` (the
emotions of the corpus its test set lacks; usually none).

Assignment: speakers are taken in order of their rarest class (the class heard from the fewest speakers
first; ties in a seeded shuffle of the cell seed), and each goes to the fold that lacks most of that
speaker's classes, then to the fold with fewest clips, then to the first. Afterwards, while moving a
speaker into a fold that lacks a class, or swapping one for a speaker of that fold, makes the two folds
cover more classes in all, the change adding most (then leaving the larger of the two smallest) is made.
So each fold's test set covers as many classes as the corpus allows (a local search: on corpora with
very few speakers per class it may miss a better assignment) and the folds stay balanced in clips. The
folds depend only on the corpus and the seed; every speaker is in exactly one fold.
"""
from __future__ import annotations

import zlib

from ser_bench import hookimpl
from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.params import at_least, defaults_of
from ser_bench.plugin_api.types import BoardLayout, ProtocolSpec, Split, Subset


def check_folds(folds, speakers: int) -> int:
    """``folds`` as a whole number, or a :class:`ProtocolError` when ``speakers`` speakers cannot fill them."""
    if int(folds) < 2 or int(folds) > speakers:
        raise ProtocolError(
            f"speaker-folds: folds={folds} impossible with {speakers} target speakers with these labels: choose "
            f"folds between 2 and {speakers} (each fold tests at least one speaker and trains on the others); idt "
            "holds out each speaker in turn")
    return int(folds)


def assign(frame, folds: int, seed: int) -> list[list[str]]:
    """The speakers of ``frame`` in ``folds`` folds (each sorted), by the rule of the module's docstring."""
    import numpy as np
    import pandas as pd

    speakers = sorted(set(frame["speaker"].astype(str)))
    folds = check_folds(folds, len(speakers))
    table = pd.crosstab(frame["speaker"].astype(str), frame["emotion"].astype(str))  # clips per speaker and class
    has = {spk: (table.loc[spk].to_numpy() > 0).astype(int) for spk in speakers}  # 0/1 per class
    clips = {spk: int(table.loc[spk].sum()) for spk in speakers}
    holders = sum(has.values())  # speakers per class
    shuffled = np.random.default_rng([int(seed), zlib.crc32(b"speaker-folds")]).permutation(speakers).tolist()
    members: list[list[str]] = [[] for _ in range(folds)]
    heard = np.zeros((folds, len(holders)), dtype=int)  # per fold and class: how many of its speakers have it
    sizes = np.zeros(folds, dtype=int)

    def place(spk, fold, sign=1):
        (members[fold].append if sign > 0 else members[fold].remove)(spk)
        heard[fold] += sign * has[spk]
        sizes[fold] += sign * clips[spk]

    def covers(fold, out=None, into=None) -> int:  # classes the fold covers, with speaker out and into swapped
        return int((heard[fold] - has.get(out, 0) + has.get(into, 0) > 0).sum())

    for spk in sorted(shuffled, key=lambda s: holders[has[s] > 0].min()):
        lacks = (heard[:, has[spk] > 0] == 0).sum(axis=1)
        place(spk, int(np.lexsort((np.arange(folds), sizes, -lacks))[0]))
    improved = True
    while improved:  # each change adds to the classes the folds cover in all, so this ends
        improved = False
        # Only a speaker t of fold b with a class another speaker of b also has can add to the classes that b and
        # another fold a cover in all (moved to a, or swapped for a's speaker s): else b loses what a gains.
        donors = [(b, t) for b in range(folds) for t in members[b]]
        shared = np.array([(has[t] > 0) & (heard[b] > 1) for b, t in donors]).reshape(len(donors), -1)
        for a in np.flatnonzero((heard == 0).any(axis=1)):
            useful = np.flatnonzero((shared & (heard[a] == 0)).any(axis=1))
            changes = [(covers(a) + covers(b) - covers(a, s, t) - covers(b, t, s),
                        max(sizes[a] + clips[t] - clips.get(s, 0), sizes[b] - clips[t] + clips.get(s, 0)), t, s or "", b)
                       for b, t in (donors[i] for i in useful) if b != a for s in [None, *members[a]]]
            fewer, _, t, s, b = min(changes, default=(0, 0, "", "", 0))
            if fewer < 0:  # a move (s empty) or a swap that covers more classes in all
                place(t, b, -1)
                place(t, a)
                if s:
                    place(s, a, -1)
                    place(s, b)
                improved = True
                break  # the donors have changed
    return [sorted(m) for m in members]


def _splits(frame, folds: int, seed: int, prefix: str = "", rows=None) -> list:
    """One split per fold of ``frame``'s speakers; ``rows`` maps ``frame``'s rows to the target's."""
    import numpy as np

    speaker_col = frame["speaker"].astype(str).to_numpy()
    emotion_col = frame["emotion"].astype(str).to_numpy()
    emotions = sorted(set(emotion_col))
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=int)
    groups = assign(frame, folds, seed)
    fold_of = {spk: number for number, group in enumerate(groups) for spk in group}
    fold_col = np.array([fold_of[spk] for spk in speaker_col])
    out = []
    for number, group in enumerate(groups):
        inside = fold_col == number
        train = Subset("target", tuple(rows[~inside].tolist()))
        heard = set(emotion_col[inside])
        out.append(Split(name=f"{prefix}fold-{number + 1}", train=train, support=train,
                         test=Subset("target", tuple(rows[inside].tolist())),
                         info={"fold": number + 1, "test_speakers": group,
                               "missing_test_classes": [str(e) for e in emotions if e not in heard]}))
    return out


def splits(data, seed: int, folds: int = 5):
    """One split per fold of target speakers, ``fold-1`` to ``fold-N``."""
    return _splits(data.target, folds, seed)


def validation(data, seed: int, speakers: int = 0, folds: int = 5):
    """Tuning splits: the same folds among ``speakers`` target speakers drawn for validation (0: a quarter,
    at least 2), as many as there are of them up to ``folds``. The runner leaves them out of the test folds."""
    from ser_bench.plugin_kit.helpers import choose_speakers, rows_of_speakers

    check_folds(folds, len(set(data.target["speaker"].astype(str))))
    chosen = choose_speakers(data.target, speakers, seed, "speaker-folds-validation")
    rows = rows_of_speakers(data.target, chosen)
    view = data.target.iloc[list(rows)].reset_index(drop=True)
    return _splits(view, min(int(folds), len(chosen)), seed, prefix="val-", rows=rows)


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="speaker-folds", splits=splits, validation=validation,
                         params=defaults_of(splits, "protocols"), bounds={"folds": at_least(2)},
                         board=BoardLayout(order=2, unit="folds"),
                         summary="in-domain folds of target speakers, each fold's test set covering every "
                                 "class it can (for corpora whose speakers lack classes)",
                         reference="Schuller et al. (2010); Busso et al. (2008); Lotfian & Busso (2019)")]
