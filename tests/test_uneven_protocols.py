"""Protocols on a corpus whose speakers do not each cover every emotion (tests/uneven.py: 29 speakers, 22 heard
in one emotion): speaker folds whose test sets cover every class the corpus allows, and few-shot episodes whose
k speakers together cover every class when k speakers can, saying so when they cannot."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.types import ProtocolData
from ser_bench.running.splits import check_speaker_disjoint

from .conftest import FAST_TRAINING
from .uneven import EMOTIONS, FULL_SPEAKERS, SINGLE_SPEAKERS, uneven_manifest

SPEAKERS = FULL_SPEAKERS + SINGLE_SPEAKERS


@pytest.fixture(scope="module")
def uneven_csv(tiny_corpora, tmp_path_factory):
    return uneven_manifest(tiny_corpora, tmp_path_factory.mktemp("uneven"))


@pytest.fixture(scope="module")
def uneven(registry, uneven_csv, tiny_corpora, tmp_path_factory) -> ProtocolData:
    """The uneven corpus as the csv dataset reads it (target), the tiny sim-crema as the source."""
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path_factory.mktemp("cache"), workers=1)
    target = registry.get("datasets", "csv").load(ctx, path=str(uneven_csv))
    return ProtocolData(target=target, source=tiny_corpora["sim-crema"])


def speakers_of(frame, rows) -> set:
    return set(frame["speaker"].astype(str).iloc[list(rows)])


def emotions_of(frame, rows) -> set:
    return set(frame["emotion"].iloc[list(rows)])


# --- speaker-folds -------------------------------------------------------------------------------------------

def test_speaker_folds_hold_every_speaker_once_and_each_fold_tests_every_class(registry, uneven):
    spec = registry.get("protocols", "speaker-folds")
    target = uneven.target
    assert spec.params == {"folds": 5} and spec.board.record()["unit"] == "folds"
    for seed in (0, 1, 2):
        splits = spec.splits(uneven, seed=seed, folds=3)
        assert [s.name for s in splits] == ["fold-1", "fold-2", "fold-3"]
        assert splits == spec.splits(uneven, seed=seed, folds=3)
        held = [s.info["test_speakers"] for s in splits]
        assert sorted(sum(held, [])) == sorted(set(target["speaker"])) and len(sum(held, [])) == SPEAKERS
        sizes = [len(s.test.indices) for s in splits]
        assert sum(sizes) == len(target) and max(sizes) <= 1.2 * min(sizes), sizes
        for number, split in enumerate(splits, 1):
            assert split.info["fold"] == number and held[number - 1] == sorted(held[number - 1])
            assert speakers_of(target, split.test.indices) == set(split.info["test_speakers"])
            assert emotions_of(target, split.test.indices) == set(EMOTIONS)
            assert split.info["missing_test_classes"] == []
            assert split.support == split.train and split.finetune is None
            assert sorted(split.train.indices + split.test.indices) == list(range(len(target)))
            assert check_speaker_disjoint(split, {"target": target}) == []
    assert spec.splits(uneven, seed=0, folds=3) != spec.splits(uneven, seed=1, folds=3)


def test_speaker_folds_name_the_classes_a_fold_cannot_test(registry, uneven):
    target = uneven.target
    splits = registry.get("protocols", "speaker-folds").splits(uneven, seed=0, folds=SPEAKERS)
    assert sorted(s.info["test_speakers"][0] for s in splits) == sorted(set(target["speaker"]))
    for split in splits:
        [speaker] = split.info["test_speakers"]
        heard = set(target.loc[target["speaker"] == speaker, "emotion"])
        assert split.info["missing_test_classes"] == sorted(set(EMOTIONS) - heard)
        assert len(split.info["missing_test_classes"]) == (0 if speaker.startswith("full") else 3)


def test_speaker_folds_find_the_swap_a_greedy_pass_misses(registry):
    # Greedy alone may give {b, d} and {cd, bc} (5 classes in all); a swap gives {b, cd} and {d, bc} (3 each).
    classes = {"s0": "b", "s1": "d", "s2": "cd", "s3": "bc"}
    frame = pd.DataFrame([{"speaker": s, "emotion": e} for s, es in classes.items() for e in es])
    spec = registry.get("protocols", "speaker-folds")
    for seed in range(8):
        assert [s.info["missing_test_classes"] for s in spec.splits(ProtocolData(target=frame), seed=seed, folds=2)] \
            == [[], []]


def test_speaker_folds_refuse_folds_the_speakers_cannot_fill(registry, uneven):
    from ser_bench.errors import SerBenchError
    from ser_bench.plugin_api.params import check_params

    spec = registry.get("protocols", "speaker-folds")
    for folds in (1, 0, SPEAKERS + 1):
        with pytest.raises(ProtocolError, match=rf"speaker-folds: folds={folds} impossible with {SPEAKERS} target "
                                                rf"speakers with these labels: choose folds between 2 and {SPEAKERS} "
                                                r"\(each fold tests at least one speaker.*idt holds out each speaker"):
            spec.splits(uneven, seed=0, folds=folds)
    with pytest.raises(ProtocolError, match=r"folds=1 impossible"):
        spec.validation(uneven, seed=0, speakers=0, folds=1)
    with pytest.raises(SerBenchError, match=r"folds=1 is out of range. folds takes a whole number >= 2"):
        check_params("protocol 'speaker-folds'", spec, {"folds": 1})  # as a cell's parameters are, up front


def test_speaker_folds_validation_folds_among_validation_speakers(registry, uneven):
    spec = registry.get("protocols", "speaker-folds")
    target = uneven.target
    val = spec.validation(uneven, seed=4, speakers=6, folds=3)
    assert [s.name for s in val] == ["val-fold-1", "val-fold-2", "val-fold-3"]
    chosen = set(sum((s.info["test_speakers"] for s in val), []))
    assert len(chosen) == 6
    for split in val:
        assert speakers_of(target, split.train.indices) == chosen - set(split.info["test_speakers"])
        assert speakers_of(target, split.test.indices) == set(split.info["test_speakers"])
    assert len(spec.validation(uneven, seed=4, speakers=2, folds=5)) == 2  # no more folds than speakers


# --- few-shot ------------------------------------------------------------------------------------------------

def test_fewshot_episodes_cover_every_class_and_test_on_other_speakers(registry, uneven):
    spec = registry.get("protocols", "fewshot")
    target = uneven.target
    for seed in (0, 5):
        for test in ("speakers", "samples"):
            episodes = spec.splits(uneven, seed=seed, k=[2, 3, 4], frozen=[0], repeats=10, test=test)
            for split in episodes:
                shots = split.finetune.indices
                assert emotions_of(target, shots) == set(EMOTIONS) and "support_missing" not in split.info
                assert speakers_of(target, shots) == set(split.info["speakers"])
                assert len(split.info["speakers"]) == split.info["k"]
                if test == "speakers":
                    assert not speakers_of(target, split.test.indices) & set(split.info["speakers"])
                    assert check_speaker_disjoint(split, {"target": target, "source": uneven.source}) == []


def test_fewshot_says_which_emotions_have_no_support(registry, uneven):
    # Only the speakers heard in one emotion: one speaker cannot cover four, four can.
    target = uneven.target[uneven.target["speaker"].str.startswith("one")].reset_index(drop=True)
    data = ProtocolData(target=target, source=uneven.source)
    spec = registry.get("protocols", "fewshot")
    for split in spec.splits(data, seed=0, k=[1, 2, 4], frozen=[0], repeats=5):
        heard = emotions_of(target, split.finetune.indices)
        assert len(heard) == min(split.info["k"], 4)
        if split.info["k"] == 4:
            assert "support_missing" not in split.info
        else:
            assert split.info["support_missing"] == sorted(set(EMOTIONS) - heard)
        assert not speakers_of(target, split.test.indices) & set(split.info["speakers"])


def test_fewshot_completes_a_draw_that_random_draws_do_not(registry):
    # 60 speakers heard in anger, one in each other emotion: a random four almost never holds all three.
    rows = [{"path": f"a{s}-{i}.wav", "speaker": f"a{s:02d}", "emotion": "anger"} for s in range(60) for i in range(2)]
    rows += [{"path": f"{e}-{i}.wav", "speaker": e, "emotion": e} for e in EMOTIONS[1:] for i in range(2)]
    target = pd.DataFrame(rows)
    data = ProtocolData(target=target, source=target)
    for split in registry.get("protocols", "fewshot").splits(data, seed=1, k=[4, 6], frozen=[0], repeats=5):
        assert emotions_of(target, split.finetune.indices) == set(EMOTIONS)
        assert set(EMOTIONS[1:]) <= set(split.info["speakers"]) and len(split.info["speakers"]) == split.info["k"]


def test_fewshot_keeps_the_plain_draw_when_it_covers_every_class(registry):
    """Acted corpora (every speaker has every emotion) keep exactly the episodes of the plain draw."""
    import zlib

    from ser_bench.plugin_kit.testing import _protocol_data

    data = _protocol_data()
    target = data.target
    speakers = sorted(set(target["speaker"]))
    for split in registry.get("protocols", "fewshot").splits(data, seed=3, k=[1, 2, 5], frozen=[0], repeats=4):
        k, r = split.info["k"], split.info["repeat"]
        rng = np.random.default_rng([3, k, r, zlib.crc32(b"fewshot")])
        chosen = sorted(rng.choice(speakers, size=k, replace=False).tolist())
        shots = [int(rng.choice(np.flatnonzero((target["speaker"] == s) & (target["emotion"] == e))))
                 for s in chosen for e in sorted(set(target["emotion"]))]
        assert split.info["speakers"] == chosen and split.finetune.indices == tuple(sorted(shots))
        assert "support_missing" not in split.info


# --- end to end ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_speaker_folds_end_to_end_on_the_uneven_corpus(registry, uneven_csv, tmp_path):
    from ser_bench.results.store import load_results
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run

    ctx = RunContext(data_dirs=[], cache_dir=tmp_path / "cache", workers=1)
    grid = Grid(protocols=["speaker-folds"], losses=["logreg"], targets=["csv"],
                base={"training": FAST_TRAINING, "dataset_params": {"csv": {"path": str(uneven_csv)}},
                      "protocol_params": {"speaker-folds": {"folds": 4}}})
    report = run(expand(grid, registry), registry, ctx, tmp_path / "results", executor="serial")
    assert not report.failed, report.failed
    [result] = load_results(tmp_path / "results")
    assert result.params.protocol == "speaker-folds" and result.params.protocol_params == {"folds": 4}
    assert [s.name for s in result.splits] == ["fold-1", "fold-2", "fold-3", "fold-4"]
    assert all(s.sizes["test"] > 0 for s in result.splits)
    assert sum(s.sizes["test"] for s in result.splits) == 352
    assert result.board == {"order": 2, "breakdown": [], "unit": "folds", "split_noun": "split"}


def test_speaker_folds_is_listed(registry, capsys):
    from ser_bench.cli.main import main

    assert main(["list", "protocols"]) == 0
    listed = [line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()]
    assert ["speaker-folds", registry.get("protocols", "speaker-folds").summary] in listed
