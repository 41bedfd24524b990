"""The official protocol: a corpus's own partitions (MSP-Podcast's Split_Set) as one split, end to end on a
fabricated MSP-Podcast tree, its messages, and the board's statement when the split is not speaker-independent."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.types import ProtocolData

from .test_corpora_dimensional import write_msp
from .test_described_corpora import context

EMOTIONS = {"A": "anger", "H": "happiness", "S": "sadness", "F": "fear"}
# speaker -> the partition of each of their clips (two clips per emotion); speaker 101 trains and is also
# tested (the official split puts one podcast's speaker on both sides), 301 is only in Test2.
SPEAKERS = {"101": ("Train", "Test1"), "102": ("Train",), "103": ("Train",), "201": ("Development",),
            "202": ("Development",), "203": ("Development",), "111": ("Test1",), "301": ("Test2",)}


def msp_rows() -> list[tuple]:
    """Rows of labels_consensus.csv: every speaker two clips of each emotion per partition, plus segments the
    loader leaves out (an unknown speaker, contempt)."""
    rows, n = [], 0
    for speaker, parts in SPEAKERS.items():
        for part in parts:
            for code in EMOTIONS:
                for _ in range(2):
                    n += 1
                    rows.append((f"MSP-PODCAST_{int(speaker):04d}_{n:04d}.wav", code, "4.0", "4.0", "4.0", speaker,
                                 "Female", part))
    rows.append(("MSP-PODCAST_0999_0001.wav", "A", "5", "3", "4", "Unknown", "Unknown", "Test1"))
    rows.append(("MSP-PODCAST_0102_0999.wav", "C", "4", "4", "4", "102", "Female", "Train"))
    return rows


def frame(partition=True) -> pd.DataFrame:
    rows = [{"path": f"{s}-{p}-{i}.wav", "speaker": s, "emotion": e, "corpus": "msp-podcast",
             **({"partition": p} if partition else {})}
            for s, parts in SPEAKERS.items() for p in parts for i, e in enumerate(EMOTIONS.values())]
    return pd.DataFrame(rows)


def partitions_of(manifest, rows) -> set:
    return set(manifest["partition"].iloc[list(rows)])


def test_the_split_trains_on_the_partitions_asked_for_and_tests_on_the_others(registry):
    spec = registry.get("protocols", "official")
    target = frame()
    [split] = spec.splits(ProtocolData(target=target), seed=0, **spec.params)
    assert spec.params == {"train": ["Train"], "test": ["Test1"], "development": "Development"}
    assert split.train == split.support and split.finetune is None
    assert split.train.indices == tuple(target.index[target["partition"] == "Train"])
    assert split.test.indices == tuple(target.index[target["partition"] == "Test1"])
    assert split.info["speaker_overlap_allowed"] is True
    # several partitions, one name or a comma-separated text (as the command line gives them)
    [split] = spec.splits(ProtocolData(target=target), seed=0, train=["Train", "Development"], test="Test1,Test2")
    assert partitions_of(target, split.train.indices) == {"Train", "Development"}
    assert partitions_of(target, split.test.indices) == {"Test1", "Test2"}
    assert split.name == "official-Test1+Test2"
    # tuning stays inside Development: some of its speakers held out, the rest trained on
    [val] = spec.validation(ProtocolData(target=target), seed=0, speakers=0, **spec.params)
    assert partitions_of(target, val.train.indices + val.test.indices) == {"Development"}
    tested = set(target["speaker"].iloc[list(val.test.indices)])
    assert tested == set(val.info["validation_speakers"]) and not tested & set(target["speaker"].iloc[list(val.train.indices)])


def test_a_corpus_without_partitions_or_a_partition_it_lacks_is_refused_naming_what_exists(registry):
    spec = registry.get("protocols", "official")
    with pytest.raises(ProtocolError, match=r"msp-podcast has no official split \(its manifest has no 'partition' "
                                            r"column\).*such as msp-podcast, or a csv manifest.*use idt"):
        spec.splits(ProtocolData(target=frame(partition=False)), seed=0)
    with pytest.raises(ProtocolError, match=r"test='Test4': msp-podcast has no partition 'Test4'; the partitions of "
                                            r"msp-podcast \(with clips of the label set\) are Development, Test1, Test2, "
                                            r"Train: give e.g. --protocol-param official.test=Development"):
        spec.splits(ProtocolData(target=frame()), seed=0, test="Test4")
    with pytest.raises(ProtocolError, match=r"train=\['Train', 'train'\]: msp-podcast has no partition 'train'"):
        spec.splits(ProtocolData(target=frame()), seed=0, train=["Train", "train"])
    with pytest.raises(ProtocolError, match=r"test='': names no partition"):
        spec.splits(ProtocolData(target=frame()), seed=0, test="")
    with pytest.raises(ProtocolError, match=r"Test1 are in both train and test"):
        spec.splits(ProtocolData(target=frame()), seed=0, train="Train,Test1")
    with pytest.raises(ProtocolError, match=r"development='Dev': msp-podcast has no partition 'Dev'"):
        spec.validation(ProtocolData(target=frame()), seed=0, speakers=0, development="Dev")


@pytest.mark.slow
def test_official_partitions_end_to_end_with_the_overlap_on_the_board(registry, tmp_path, monkeypatch):
    from ser_bench.reporting.leaderboard import to_markdown
    from ser_bench.results.store import load_results
    from ser_bench.running import evaluation
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run

    root = tmp_path / "MSP-PODCAST"
    rows = msp_rows()
    write_msp(root, rows=rows)
    partition = {name: part for name, *_, part in rows}
    seen = []  # (split, target manifest) as the runner evaluated them

    def spy(split, manifests):
        seen.append((split, manifests["target"]))
        return real(split, manifests)

    real = evaluation.check_speaker_disjoint
    monkeypatch.setattr(evaluation, "check_speaker_disjoint", spy)
    ctx = context(tmp_path, **{"msp-podcast": root})
    ctx.on_warning = lambda message: None  # the unknown speaker's segment, left out by the loader
    boards = {}
    for test in ("Test1", "Test2"):
        grid = Grid(protocols=["official"], losses=["logreg"], targets=["msp-podcast"],
                    base={"protocol_params": {"official": {"test": test}}})
        report = run(expand(grid, registry), registry, ctx, tmp_path / test, executor="serial")
        assert not report.failed, report.failed
        split, manifest = seen[-1]
        names = manifest["path"].map(lambda p: Path(p).name)
        # exactly the partitions asked for: every clip of them that the loader keeps, and nothing else
        assert sorted(names.iloc[list(split.train.indices)]) == sorted(
            n for n in names if partition[n] == "Train") and len(split.train.indices) == 3 * 8
        assert sorted(names.iloc[list(split.test.indices)]) == sorted(
            n for n in names if partition[n] == test) and len(split.test.indices) == 8 * (2 if test == "Test1" else 1)
        assert split.support == split.train
        [result] = load_results(tmp_path / test)
        [recorded] = result.splits
        assert recorded.name == f"official-{test}" and result.params.protocol_params["test"] == test
        assert recorded.speaker_overlap == (["101"] if test == "Test1" else [])
        assert result.board == {"order": 3, "breakdown": [], "unit": "folds", "split_noun": "split"}
        boards[test] = to_markdown([result], tests=False)
    # tuning validates inside Development: only its speakers are set aside, the official split is as before
    grid = Grid(protocols=["official"], losses=["logreg"], targets=["msp-podcast"], base={"tuning": {"trials": 0}})
    assert not run(expand(grid, registry), registry, ctx, tmp_path / "tuned", executor="serial").failed
    [result] = load_results(tmp_path / "tuned")
    assert result.tuning["reserved_target_speakers"] == ["201", "202", "203"]
    assert result.splits[0].sizes == {"train": 24, "support": 24, "test": 16, "finetune": 0}
    line = ("- *not speaker-independent*: protocol `official` on `msp-podcast`: 1 tested speaker(s) also in the "
            "training or support set, in 1 of 1 split(s): `101`")
    assert line in boards["Test1"].splitlines()
    assert "not speaker-independent" not in boards["Test2"]
    # one split per seed and no source: the interval is over the seeds of training, not of a source model
    assert "n = 1 training seed" in boards["Test2"] and "n = 1 source seed" not in boards["Test2"]
