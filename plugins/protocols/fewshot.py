"""fewshot: Siamese few-shot fine-tuning from the out-of-domain model (Feng & Chaspari 2020, Sec. 3).

For each number of target speakers k, each number of frozen feature layers and each repeat: draw k
target speakers and one random clip per emotion per speaker (k x n_emotions labelled clips); starting
from the model trained on the source, fine-tune on those clips with the first layers frozen; score the
test clips against the labelled clips. ``test="speakers"`` (default) tests on the other speakers only,
so no speaker is on both sides; ``test="samples"`` is the paper's "remaining data" variant, which also
tests on the k speakers' other clips (recorded as a speaker overlap in the result).

Keeping what the source taught (not in the paper; both default to 0, the paper's setting):
``rehearsal=R`` mixes R source clips per emotion into fine-tuning alongside the k speakers' clips, so a
few target clips cannot drag the model away from everything it learnt; ``source_support=S`` adds S
source clips per emotion to the support set the test clips are scored against. With k = 2 the support
otherwise holds 8 clips, and a user can see whether adaptation helps at all only against these.

The draw of repeat r for k speakers depends only on (seed, k, r), and the source clips only on
(seed, k, r) and their own stream, so the episodes of different losses, frozen-layer settings and
source options share their target clips and can be compared pairwise (equal ``episode_hash``).

Corpora whose speakers do not each cover every emotion (natural speech: podcasts, talk shows): the k
speakers drawn must together cover every emotion of the label set when k speakers can, or the episode
has no labelled clip of an emotion and cannot score it. A draw that already covers every emotion is
kept as it is (always, on acted corpora, whose speakers each have every emotion: their episodes are
those of a plain draw). Otherwise up to :data:`COVER_TRIES` further draws of k speakers from a stream
of their own, ``(seed, k, r, "fewshot-cover")``, are tried in turn, and if none covers every emotion,
the draw covering most is completed greedily: a speaker heard in an emotion the others lack is swapped
in for one whose emotions the others have, while that covers more. Where k speakers cannot cover every
emotion the episode keeps the draw covering most, and ``info["support_missing"]`` lists the emotions
none of its k speakers was heard in (no target clip of them in fine-tuning or the support set;
``source_support`` clips may still stand for them). The key is only there when the list is not empty.
With ``test="speakers"`` no k speaker is ever in the test set, whichever draw is kept.
"""
from __future__ import annotations

import zlib

from ser_bench import hookimpl
from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.params import at_least, defaults_of
from ser_bench.plugin_api.types import BoardLayout, ProtocolSpec, Split, Subset


def emotion_rows(frame, emotions) -> dict:
    """``{emotion: row indices of frame with that emotion}``, ascending: the pools the draws choose from."""
    import numpy as np

    column = frame["emotion"].to_numpy()
    return {emo: np.flatnonzero(column == emo) for emo in emotions}


def source_subset(source, emotions, counts: dict, rng, rows: dict | None = None) -> dict:
    """For each name in ``counts``, a source :class:`Subset` of that many clips per emotion (all when
    fewer). The draws are nested: a smaller count takes the first clips of the same random order.
    ``rows`` (:func:`emotion_rows` of ``source``) saves finding each emotion's clips again per draw."""
    rows = emotion_rows(source, emotions) if rows is None else rows
    order = {emo: rng.permutation(rows[emo]).tolist() for emo in emotions}
    return {name: Subset("source", tuple(sorted(int(i) for emo in emotions for i in order[emo][:int(m)])))
            for name, m in counts.items()}


COVER_TRIES = 20  # further draws of k speakers tried when the first lacks an emotion, before a greedy completion


def covering(first: list, speakers: list, heard: dict, emotions: list, rng, tries: int = COVER_TRIES) -> list:
    """``first`` (sorted speakers) when ``heard`` (``{speaker: the emotions they have clips of}``) says they
    cover every emotion; else the first of ``tries`` draws of as many ``speakers`` from ``rng`` that does;
    else the draw covering most (``first`` on a tie) with, while it helps, a speaker heard in a missing
    emotion swapped in for one whose emotions the others have (candidates in an order drawn from ``rng``)."""
    def reach(group) -> int:
        return len(set().union(*(heard[s] for s in group)))

    best = list(first)
    for _ in range(int(tries)):
        if reach(best) == len(emotions):
            return best
        draw = sorted(rng.choice(speakers, size=len(first), replace=False).tolist())
        best = draw if reach(draw) > reach(best) else best
    chosen = list(best)
    order = rng.permutation(speakers).tolist()
    while True:
        count = {emo: sum(emo in heard[s] for s in chosen) for emo in emotions}
        missing = {emo for emo in emotions if not count[emo]}
        swaps = [(len(heard[new] & missing) - sum(count[emo] == 1 and emo not in heard[new] for emo in heard[old]),
                  -place, old, new) for place, new in enumerate(order)
                 if new not in chosen and heard[new] & missing for old in chosen]
        gain, _, old, new = max(swaps, default=(0, 0, "", ""))
        if gain <= 0:
            return sorted(chosen)
        chosen[chosen.index(old)] = new


def splits(data, seed: int, k=(2, 4, 6, 8, 10, 12, 14, 16, 18, 20), frozen=(0, 1, 2), repeats: int = 10,
           test: str = "speakers", rehearsal: int = 0, source_support: int = 0):
    """All episodes, ordered by k, repeat, then frozen layers."""
    import numpy as np

    if test not in ("speakers", "samples"):
        raise ProtocolError(f"fewshot: test must be 'speakers' or 'samples', not {test!r}")
    for name, value in (("rehearsal", rehearsal), ("source_support", source_support)):
        if int(value) < 0:
            raise ProtocolError(f"fewshot: {name} is a number of source clips per emotion, >= 0, not {value!r}")
    target = data.target
    speakers_all = sorted(set(target["speaker"].astype(str)))
    emotions = sorted(set(target["emotion"]))
    ks = [int(v) for v in (k if isinstance(k, (list, tuple)) else [k])]
    frozen = frozen if isinstance(frozen, (list, tuple)) else [frozen]  # frozen=0 is frozen=[0]
    limit = len(speakers_all) - (1 if test == "speakers" else 0)
    bad = [v for v in ks if v < 1 or v > limit]
    if bad:
        raise ProtocolError(
            f"fewshot: k={bad} impossible with {len(speakers_all)} target speakers; "
            f"k must be between 1 and {limit} (test={test!r} needs at least one speaker left to test on)"
        )
    speaker_col = target["speaker"].astype(str).to_numpy()
    emotion_col = target["emotion"].to_numpy()
    # Each speaker's rows and (speaker, emotion) pool found once, not per episode, by one grouping of the
    # clips (a pass per speaker would grow as clips x speakers). Pools hold row indices in ascending order.
    import pandas as pd

    found = pd.Series(np.arange(len(target))).groupby([speaker_col, emotion_col], sort=False).indices
    empty = np.array([], dtype=np.int64)
    pools = {(spk, emo): np.asarray(found.get((spk, emo), empty), dtype=np.int64)
             for spk in speakers_all for emo in emotions}
    rows_of = {spk: np.sort(np.concatenate([pools[spk, emo] for emo in emotions]))
               if emotions else empty for spk in speakers_all}
    heard = {spk: frozenset(emo for emo in emotions if len(pools[spk, emo])) for spk in speakers_all}
    draw_source = int(rehearsal) or int(source_support)
    source_rows = emotion_rows(data.source, emotions) if draw_source else None
    source = Subset("source", tuple(range(len(data.source))))
    out = []
    for n in ks:
        for r in range(int(repeats)):
            rng = np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot")])
            chosen = sorted(rng.choice(speakers_all, size=n, replace=False).tolist())
            if not all(any(emo in heard[spk] for spk in chosen) for emo in emotions):
                # Only here, so an episode whose draw covers every emotion is the plain draw's (acted corpora).
                chosen = covering(chosen, speakers_all, heard, emotions,
                                  np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot-cover")]))
            lacking = [emo for emo in emotions if not any(emo in heard[spk] for spk in chosen)]
            labelled = []
            for spk in chosen:
                for emo in emotions:
                    pool = pools[spk, emo]
                    if len(pool):
                        labelled.append(int(rng.choice(pool)))
            if test == "speakers":
                held = np.ones(len(target), dtype=bool)
                held[np.concatenate([rows_of[spk] for spk in chosen])] = False
                test_idx = tuple(np.flatnonzero(held).tolist())
            else:
                labelled_set = set(labelled)
                test_idx = tuple(i for i in range(len(target)) if i not in labelled_set)
            shots = Subset("target", tuple(sorted(labelled)))
            tested = Subset("target", test_idx)
            finetune = support = shots
            if draw_source:
                # Its own stream: adding source clips never changes which target clips are drawn.
                drawn = np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot-source")])
                extra = source_subset(data.source, emotions, {"rehearsal": rehearsal, "support": source_support},
                                      drawn, rows=source_rows)
                finetune = (shots, extra["rehearsal"]) if int(rehearsal) else shots
                support = (shots, extra["support"]) if int(source_support) else shots
            for f in frozen:
                out.append(Split(
                    name=f"k{n}-r{r}-f{f}", train=source, finetune=finetune, support=support,
                    test=tested, frozen_layers=int(f),
                    info={"k": n, "repeat": r, "frozen": int(f), "test": test, "rehearsal": int(rehearsal),
                          "source_support": int(source_support),
                          "speaker_overlap_allowed": test == "samples", "speakers": chosen,
                          **({"support_missing": lacking} if lacking else {})},
                ))
    return out


VALIDATION_REPEATS = 3  # episodes per k when tuning: enough to rank settings, a third of the paper's 10


def validation(data, seed: int, speakers: int = 0, on: str | None = None, **params):
    """Tuning episodes drawn like the protocol's own (``params`` over the protocol's defaults), but only
    among ``speakers`` speakers set aside for validation (0: a quarter, at least 2): k capped at their
    number minus one, at most :data:`VALIDATION_REPEATS` repeats.

    ``on="target"`` (the default, also ``None``) sets target speakers aside, and the runner leaves them out of the test
    episodes. ``on="source"`` plays the whole protocol inside the source instead: the source model is
    trained on the other source speakers and adapted to the ones set aside, so no target clip is used
    (for targets too small to spare speakers, and for the claim "tuned without target labels")."""
    from ser_bench.plugin_kit.helpers import choose_speakers, rows_of_speakers
    from ser_bench.plugin_api.types import ProtocolData

    on = on or "target"
    if on not in ("target", "source"):
        raise ProtocolError(f"fewshot validates on 'target' or 'source' speakers, not {on!r}")
    params = {**defaults_of(splits, "protocols"), **params}
    k, repeats = params.pop("k"), params.pop("repeats")
    pool = data.target if on == "target" else data.source
    chosen = choose_speakers(pool, speakers, seed, "fewshot-validation")
    rows = rows_of_speakers(pool, chosen)
    view = pool.iloc[list(rows)].reset_index(drop=True)
    if on == "target":
        source, source_rows = data.source, None
    else:  # the source speakers not set aside stand in for the source
        source_rows = tuple(i for i in range(len(pool)) if i not in set(rows))
        source = pool.iloc[list(source_rows)].reset_index(drop=True)
    ks = sorted({min(int(v), len(chosen) - 1) for v in (k if isinstance(k, (list, tuple)) else [k])})
    inner = splits(ProtocolData(target=view, source=source), seed=seed, k=ks,
                   repeats=min(int(repeats), VALIDATION_REPEATS), **params)

    def back(s):
        if s.domain == "target":
            return Subset(on, tuple(rows[i] for i in s.indices))
        return s if source_rows is None else Subset("source", tuple(source_rows[i] for i in s.indices))

    def remap(part):
        return tuple(back(p) for p in part) if isinstance(part, tuple) else back(part)

    return [Split(name=f"val-{s.name}", train=back(s.train), finetune=remap(s.finetune), support=remap(s.support),
                  test=back(s.test), frozen_layers=s.frozen_layers, info=dict(s.info)) for s in inner]


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(
        name="fewshot", splits=splits, needs_source=True, validation=validation, validation_on=("target", "source"),
        params=defaults_of(splits, "protocols"), training_only={"frozen": 0},
        board=BoardLayout(order=1, breakdown=("k", "frozen"), split_noun="episode"),
        bounds={"k": at_least(1), "frozen": at_least(0, "0: fine-tune every layer"), "repeats": at_least(1),
                "rehearsal": at_least(0, "0: no source clips in fine-tuning"),
                "source_support": at_least(0, "0: support set of target clips only")},
        summary="few-shot fine-tuning: k target speakers x 1 clip per emotion, 0/1/2 frozen layers",
        reference="Feng & Chaspari (2020)",
    )]
