"""Corpora whose speakers do not each cover every emotion: pooled scoring over folds, with intervals from a
bootstrap over test speakers, recorded in every result and stated on the board."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ser_bench.reporting.export import board_frame
from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.pooled import paired_bootstrap, pooled_estimate, uar_of
from ser_bench.reporting.stats import versus_best
from ser_bench.results.record import CellParams, Metrics, RecordError, Result, SplitResult
from ser_bench.running.scoring import choose_scoring

from .conftest import FAST_TRAINING
from .uneven import uneven_manifest

IDT = {"order": 2, "breakdown": [], "unit": "held-out speakers", "split_noun": "split"}


def _fold(speaker: str, confusion: list) -> SplitResult:
    matrix = np.asarray(confusion)
    present = matrix.sum(axis=1) > 0
    uar = float((np.diag(matrix)[present] / matrix.sum(axis=1)[present]).mean())
    missing = [c for c, has in zip(("anger", "sadness"), present) if not has]
    return SplitResult(name=f"loso-{speaker}", metrics=Metrics(uar=uar, accuracy=uar, macro_f1=uar, confusion=confusion),
                       info={"test_speaker": speaker}, missing_test_classes=missing,
                       speakers={speaker: {"confusion": confusion}})


def _result(loss: str, folds: list, seed: int = 0) -> Result:
    params = CellParams(protocol="idt", loss=loss, target="t", seed=seed, encoder="mlp", feature="is09-64",
                        labels=("anger", "sadness"), protocol_params={}, training={})
    return Result(cell_id=f"idt__{loss}__none__t__seed{seed}__0123456789", status="ok", params=params,
                  splits=tuple(folds), board=IDT, scoring=choose_scoring(folds, IDT))


# Four single-emotion speakers and one who has both: no per-speaker UAR over both classes but one.
FOLDS = {"a": [[3, 1], [0, 0]], "b": [[2, 2], [0, 0]], "c": [[0, 0], [1, 3]], "d": [[0, 0], [2, 2]],
         "e": [[1, 1], [0, 2]]}


def test_pooled_uar_is_the_uar_of_every_folds_predictions_together():
    folds = [_fold(s, c) for s, c in FOLDS.items()]
    # Summed: anger row 3+2+1 = 6 right of 10, sadness row 3+2+2 = 7 right of 10 -> UAR (0.6 + 0.7) / 2.
    mean, lo, hi, found = pooled_estimate([f.speakers for f in folds])
    assert mean == pytest.approx(0.65) and lo <= mean <= hi and sorted(found) == list(FOLDS)
    truth = np.repeat([0, 0, 1, 1], [6, 4, 3, 7])
    pred = np.repeat([0, 1, 0, 1], [6, 4, 3, 7])
    from sklearn.metrics import balanced_accuracy_score
    assert mean == pytest.approx(balanced_accuracy_score(truth, pred))


def test_a_corpus_of_speakers_lacking_classes_is_scored_pooled_and_says_why():
    folds = [_fold(s, c) for s, c in FOLDS.items()]
    result = _result("logreg", folds)
    assert result.pooled and "4 of 5 folds' test sets lack some class" in result.scoring["why"]
    board = to_markdown([result])
    assert "| idt · logreg | 65.0 ± " in board and "n = 5 test speakers, pooled over folds" in board
    assert "- idt on t: 5 folds, 4 lacking classes (loso-a: sadness; loso-b: sadness; loso-c: anger; loso-d: anger)" in board
    assert "Scored pooled over folds: 4 of 5" in board and "Splits left out" not in board
    frame = board_frame([result])
    assert frame.loc[0, "uar"] == pytest.approx(0.65) and frame.loc[0, "unit"] == "test speakers, pooled over folds"
    acted = [_fold(s, [[2, 1], [1, 2]]) for s in "abc"]
    assert choose_scoring(acted, IDT) == {"rule": "per-split", "why": "every split's test set covers every class"}
    fewshot = {**IDT, "unit": "folds", "breakdown": ["k", "frozen"]}
    assert choose_scoring(folds, {**fewshot, "unit": "source seeds"})["rule"] == "per-split"


def test_the_bootstrap_interval_resamples_speakers_and_widens_with_fewer_of_them():
    many = [_fold(f"{s}{i}", c) for i in range(6) for s, c in FOLDS.items()]
    few = [_fold(s, c) for s, c in FOLDS.items()]
    _, lo_many, hi_many, _ = pooled_estimate([f.speakers for f in many])
    _, lo_few, hi_few, _ = pooled_estimate([f.speakers for f in few])
    assert hi_many - lo_many < hi_few - lo_few
    assert all(math.isnan(v) for v in pooled_estimate([few[0].speakers])[1:3])  # one speaker: no interval


def test_pooled_comparisons_resample_the_same_speakers_for_both_methods():
    better = {s: np.asarray(c) for s, c in FOLDS.items()}
    worse = {s: np.asarray([[c[0][0] - min(c[0][0], 1), c[0][1] + min(c[0][0], 1)],
                            [c[1][0] + min(c[1][1], 1), c[1][1] - min(c[1][1], 1)]]) for s, c in FOLDS.items()}
    p, detectable = paired_bootstrap(better, worse)  # worse loses a clip of every class it has, on every speaker
    assert p < 0.05 and detectable > 0
    assert paired_bootstrap(better, better) == (1.0, math.nan)
    found = versus_best([float(uar_of(sum(better.values()))), float(uar_of(sum(worse.values())))],
                        [better, worse], ["test speakers, pooled over folds"] * 2, detectable=True)
    assert found[0][0] and not found[1][0] and found[1][1] == p and found[1][3] == detectable


def test_scoring_is_recorded_in_every_result_and_checked():
    result = _result("logreg", [_fold(s, c) for s, c in FOLDS.items()])
    assert Result.from_json(result.to_json()).scoring == result.scoring
    with pytest.raises(RecordError, match="scoring"):
        Result.from_json({**result.to_json(), "scoring": {"rule": "by mood"}})


def test_idt_on_a_natural_speech_corpus_gives_a_pooled_board(registry, tiny_corpora, tmp_path):
    """The case the issue tried as a new user: IDT on 29 speakers, 22 heard in one emotion, from a CSV
    manifest. Before, every fold was left out and the run ended with nothing to compare."""
    from ser_bench.plugin_api.context import RunContext
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run

    path = uneven_manifest(tiny_corpora, tmp_path / "corpus")
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path / "cache", workers=1)
    cells = expand(Grid(protocols=["idt"], losses=["logreg"], targets=["csv"],
                        base={"training": FAST_TRAINING, "labels": ("anger", "happiness", "sadness", "fear"),
                              "dataset_params": {"csv": {"path": str(path)}}}), registry)
    with pytest.warns(Warning, match="scored pooled over folds: 22 of 29 folds"):
        [result] = run(cells, registry, ctx, tmp_path / "results", executor="serial").ran
    assert result.pooled and result.summary["scoring"] == "pooled" and result.summary["n_units"] == 29
    assert result.summary["excluded_splits"] == [] and not math.isnan(result.summary["uar_ci95"][0])
    board = to_markdown([result])
    assert "n = 29 test speakers, pooled over folds" in board and "- idt on csv: 29 folds, 22 lacking classes (" in board


def test_the_board_says_which_episodes_support_lacked_an_emotion():
    folds = [SplitResult(name=f"k1-r{r}-f0", metrics=Metrics(uar=0.5, accuracy=0.5, macro_f1=0.5),
                         info={"k": 1, "repeat": r, "frozen": 0, **({"support_missing": ["sadness"]} if r else {})})
             for r in range(3)]
    params = CellParams(protocol="fewshot", loss="logreg", target="t", source="s", seed=0, encoder="mlp",
                        feature="is09-64", labels=("anger", "sadness"), protocol_params={}, training={})
    result = Result(cell_id="fewshot__logreg__s__t__seed0__0123456789", status="ok", params=params, splits=tuple(folds))
    assert "- fewshot on t: 2 episodes without sadness" in to_markdown([result])


@pytest.mark.slow
def test_fewshot_on_a_natural_speech_corpus_gives_a_board(registry, tiny_corpora, tmp_path):
    """Few-shot from a simulated source to the corpus of speakers heard in one emotion: every episode's k
    speakers together cover every emotion, no support speaker is tested, and the board has its numbers."""
    from ser_bench.plugin_api.context import RunContext
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run

    path = uneven_manifest(tiny_corpora, tmp_path / "corpus")
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path / "cache", workers=1)
    cells = expand(Grid(protocols=["fewshot"], losses=["logreg"], targets=["csv"], sources=["sim-enterface"],
                        base={"training": FAST_TRAINING, "labels": ("anger", "happiness", "sadness", "fear"),
                              "protocol_params": {"fewshot": {"k": [2, 4], "repeats": 2, "frozen": [0]}},
                              "dataset_params": {"csv": {"path": str(path)}, "sim-enterface": {"speakers": 4}}}),
                   registry)
    [result] = run(cells, registry, ctx, tmp_path / "results", executor="serial").ran
    assert not result.pooled and len(result.splits) == 4
    for split in result.splits:
        assert min(split.support_counts.values()) >= 1 and "support_missing" not in split.info  # every emotion
        assert not set(split.info["speakers"]) & set(split.speakers)  # no support speaker is tested
        assert not split.missing_test_classes
    board = to_markdown([result])
    summary = board.split("\n## ")[0]
    assert "fewshot · logreg" in summary and "n = 4 episode draws of one source model" in summary
    assert "Splits left out" not in board and "Episodes whose support lacked" not in board
