"""The few-shot protocol's draws, computed once per call instead of once per episode, are the draws the
straightforward per-episode code made: every split (names, indices, infos) is equal, so every episode
and every result stays as it was."""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from ser_bench.plugin_api.types import ProtocolData, Split, Subset

EMOTIONS = ["anger", "happiness", "sadness", "fear"]


def _reference_splits(data, seed, k, frozen, repeats, test="speakers", rehearsal=0, source_support=0):
    """The few-shot splits as the protocol drew them before its pools were precomputed (kept verbatim, but for
    the completion of draws that lack an emotion, added since)."""
    from ser_bench_plugins.protocols.fewshot import covering

    target = data.target
    speakers_all = sorted(set(target["speaker"].astype(str)))
    emotions = sorted(set(target["emotion"]))

    def source_subset(source, counts, rng):
        column = source["emotion"].to_numpy()
        order = {emo: rng.permutation(np.flatnonzero(column == emo)).tolist() for emo in emotions}
        return {name: Subset("source", tuple(sorted(int(i) for emo in emotions for i in order[emo][:int(m)])))
                for name, m in counts.items()}

    speaker_col = target["speaker"].astype(str).to_numpy()
    emotion_col = target["emotion"].to_numpy()
    source = Subset("source", tuple(range(len(data.source))))
    out = []
    for n in k:
        for r in range(int(repeats)):
            rng = np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot")])
            chosen = sorted(rng.choice(speakers_all, size=n, replace=False).tolist())
            # Since speakers lacking emotions are provided for: a draw lacking an emotion is completed (only then).
            heard = {s: {e for e in emotions if ((speaker_col == s) & (emotion_col == e)).any()} for s in speakers_all}
            if set().union(*(heard[s] for s in chosen)) != set(emotions):
                chosen = covering(chosen, speakers_all, heard, emotions,
                                  np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot-cover")]))
            lacking = sorted(set(emotions) - set().union(*(heard[s] for s in chosen)))
            labelled = []
            for spk in chosen:
                for emo in emotions:
                    pool = np.flatnonzero((speaker_col == spk) & (emotion_col == emo))
                    if len(pool):
                        labelled.append(int(rng.choice(pool)))
            labelled_set = set(labelled)
            if test == "speakers":
                test_idx = tuple(int(i) for i in np.flatnonzero(~np.isin(speaker_col, chosen)))
            else:
                test_idx = tuple(i for i in range(len(target)) if i not in labelled_set)
            shots = Subset("target", tuple(sorted(labelled)))
            drawn = np.random.default_rng([seed, n, r, zlib.crc32(b"fewshot-source")])
            extra = source_subset(data.source, {"rehearsal": rehearsal, "support": source_support}, drawn)
            finetune = (shots, extra["rehearsal"]) if int(rehearsal) else shots
            support = (shots, extra["support"]) if int(source_support) else shots
            for f in frozen:
                out.append(Split(
                    name=f"k{n}-r{r}-f{f}", train=source, finetune=finetune, support=support,
                    test=Subset("target", test_idx), frozen_layers=int(f),
                    info={"k": n, "repeat": r, "frozen": int(f), "test": test, "rehearsal": int(rehearsal),
                          "source_support": int(source_support),
                          "speaker_overlap_allowed": test == "samples", "speakers": chosen,
                          **({"support_missing": lacking} if lacking else {})},
                ))
    return out


def _manifest(speakers: int, prefix: str, seed: int) -> pd.DataFrame:
    """Clips in a shuffled order, an uneven number per (speaker, emotion), and some pairs with none."""
    rng = np.random.default_rng(seed)
    rows = [{"speaker": f"{prefix}{s}", "emotion": e}
            for s in range(speakers) for e in EMOTIONS for _ in range(int(rng.integers(0, 4)))]
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


@pytest.fixture()
def data():
    return ProtocolData(target=_manifest(9, "t", 1), source=_manifest(6, "s", 2))


@pytest.mark.parametrize("params", [
    {"k": [1, 3, 8], "frozen": [0, 1, 2], "repeats": 4},
    {"k": [2], "frozen": [0], "repeats": 5, "test": "samples"},
    {"k": [2, 5], "frozen": [1], "repeats": 3, "rehearsal": 2, "source_support": 3},
    {"k": [4], "frozen": [0, 2], "repeats": 3, "source_support": 50},
    {"k": [3], "frozen": [0], "repeats": 2, "rehearsal": 1, "test": "samples"},
])
@pytest.mark.parametrize("seed", [0, 7])
def test_fewshot_splits_equal_the_per_episode_draws(registry, data, params, seed):
    fast = registry.get("protocols", "fewshot").splits(data, seed=seed, **params)
    assert fast == _reference_splits(data, seed, **params)


def test_source_subset_with_precomputed_rows_draws_the_same(data):
    from ser_bench_plugins.protocols.fewshot import emotion_rows, source_subset

    emotions = sorted(set(data.target["emotion"]))
    counts = {"a": 1, "b": 3, "none": 0}
    rows = emotion_rows(data.source, emotions)
    for r in range(5):
        plain = source_subset(data.source, emotions, counts, np.random.default_rng(r))
        assert source_subset(data.source, emotions, counts, np.random.default_rng(r), rows=rows) == plain
