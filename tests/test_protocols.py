"""Protocols choose indices only: check disjointness, sizes and seeding on a synthetic manifest."""
from __future__ import annotations

import pandas as pd
import pytest

from ser_bench.errors import ProtocolError
from ser_bench.running.splits import check_speaker_disjoint
from ser_bench.plugin_api.types import ProtocolData, Split, Subset

EMOTIONS = ["anger", "happiness", "sadness", "fear"]


def manifest(speakers, clips_per_emotion=3, prefix=""):
    rows = [{"path": f"{prefix}{s}-{e}-{i}.wav", "speaker": f"{prefix}{s}", "emotion": e}
            for s in range(speakers) for e in EMOTIONS for i in range(clips_per_emotion)]
    return pd.DataFrame(rows)


@pytest.fixture()
def data():
    return ProtocolData(target=manifest(6), source=manifest(5, prefix="src"))


@pytest.mark.parametrize("name", ["oodt", "idt", "fewshot"])
def test_every_split_is_speaker_disjoint(registry, data, name):
    spec = registry.get("protocols", name)
    params = {"k": [1, 2, 5], "repeats": 3} if name == "fewshot" else {}
    splits = spec.splits(data, seed=0, **params)
    assert splits
    manifests = {"target": data.target, "source": data.source}
    for split in splits:
        assert check_speaker_disjoint(split, manifests) == []


def test_idt_holds_out_each_speaker_once(registry, data):
    splits = registry.get("protocols", "idt").splits(data, seed=0)
    assert sorted(s.info["test_speaker"] for s in splits) == sorted(data.target["speaker"].unique())
    for s in splits:
        assert len(s.test.indices) == 12 and len(s.train.indices) == 60


def test_fewshot_draws_k_speakers_one_clip_per_emotion(registry, data):
    splits = registry.get("protocols", "fewshot").splits(data, seed=3, k=[2, 4], frozen=[0, 2], repeats=2)
    assert len(splits) == 2 * 2 * 2
    for s in splits:
        shots = data.target.iloc[list(s.finetune.indices)]
        assert shots["speaker"].nunique() == s.info["k"]
        assert shots.groupby("speaker")["emotion"].nunique().eq(4).all() and len(shots) == 4 * s.info["k"]
        assert s.support == s.finetune and s.train.domain == "source"


def test_fewshot_episodes_are_shared_across_frozen_settings_and_seeded(registry, data):
    spec = registry.get("protocols", "fewshot")
    a = spec.splits(data, seed=7, k=[2], frozen=[0, 1, 2], repeats=3)
    b = spec.splits(data, seed=7, k=[2], frozen=[1], repeats=3)
    c = spec.splits(data, seed=8, k=[2], frozen=[1], repeats=3)
    by_repeat = {}
    for s in a:
        by_repeat.setdefault(s.info["repeat"], set()).add(s.finetune.indices)
    assert all(len(v) == 1 for v in by_repeat.values())
    assert [s.finetune for s in b] == [s.finetune for s in a if s.frozen_layers == 1]
    assert [s.finetune for s in c] != [s.finetune for s in b]


def test_fewshot_impossible_k_is_a_clear_error(registry, data):
    with pytest.raises(ProtocolError, match=r"k=\[6\] impossible with 6 target speakers"):
        registry.get("protocols", "fewshot").splits(data, seed=0, k=[2, 6], repeats=1)


def test_fewshot_paper_variant_records_overlap(registry, data):
    splits = registry.get("protocols", "fewshot").splits(data, seed=0, k=[2], repeats=1, frozen=[0], test="samples")
    overlap = check_speaker_disjoint(splits[0], {"target": data.target, "source": data.source})
    assert sorted(overlap) == sorted(splits[0].info["speakers"])
    assert not set(splits[0].finetune.indices) & set(splits[0].test.indices)


def test_a_leaking_split_is_an_error(data):
    leaky = Split(name="leaky", train=Subset("target", (0, 1, 2)), support=Subset("target", (0, 1, 2)),
                  test=Subset("target", (3, 4)))
    with pytest.raises(ProtocolError, match="leaks speakers"):
        check_speaker_disjoint(leaky, {"target": data.target})
