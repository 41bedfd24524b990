"""Judging embeddings, not only labels: what every split records beside UAR (its test set by speaker,
retrieval and clustering, invariance probes, calibration), and the board sections and columns built on it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ser_bench.reporting.export import board_frame
from ser_bench.reporting.fairness import by_sex, gap_of, speaker_uar
from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.results.record import CellParams, Metrics, RecordError, Result, SplitResult
from ser_bench.running.evaluation import evaluate_cell
from ser_bench.running.grid import Grid, expand

from .conftest import FAST_TRAINING, TINY

LABELS = ("anger", "happiness", "sadness", "fear")


def _cell(registry, protocol: str, loss: str, **protocol_params):
    base = {"training": FAST_TRAINING, "dataset_params": TINY, "protocol_params": {protocol: protocol_params}}
    [cell] = expand(Grid(protocols=[protocol], losses=[loss], targets=["sim-ravdess"], sources=["sim-crema"],
                         base=base), registry)
    return cell


@pytest.fixture(scope="module")
def fewshot_bce(registry, tiny_cell_data):
    return evaluate_cell(_cell(registry, "fewshot", "bce_pair", k=[1], repeats=1, frozen=[0]), tiny_cell_data,
                         registry)


def test_every_split_records_its_test_set_by_speaker_with_the_speakers_sex(fewshot_bce, tiny_cell_data):
    manifest = tiny_cell_data["target"][0]
    sexes = dict(zip(manifest["speaker"].astype(str), manifest["gender"]))
    for split in fewshot_bce.splits:
        assert split.speakers
        total = np.sum([found["confusion"] for found in split.speakers.values()], axis=0)
        assert total.tolist() == split.metrics.confusion  # the speakers' matrices sum to the split's
        assert {spk: found["sex"] for spk, found in split.speakers.items()} == {spk: sexes[spk] for spk in split.speakers}


def test_every_split_records_retrieval_probes_and_calibration(fewshot_bce):
    for split in fewshot_bce.splits:
        extra = split.metrics.extra
        retrieval = extra["retrieval"]
        assert retrieval["k"] == "max_bin_count" and retrieval["n"] == split.sizes["test"]
        assert all(0 <= retrieval[m] <= 1 for m in ("precision_at_1", "r_precision", "map_at_r", "nmi"))
        speaker = extra["invariance"]["speaker"]
        assert speaker["identities"] == len(split.speakers) and speaker["chance"] == pytest.approx(1 / len(split.speakers))
        corpus = extra["invariance"]["corpus"]  # a run with a source: target test clips against source training clips
        assert corpus["identities"] == 2 and "speaker-disjoint" in corpus["probe"]
        calibration = extra["calibration"]
        assert 0 <= calibration["ece"] <= 1 and 0 <= calibration["brier"] <= 2 and calibration["nll"] >= 0
        assert "temperature" in calibration["method"] and calibration["temperature"]["value"] > 0


def test_an_idt_split_has_no_speaker_probe_and_a_linear_svm_no_calibration(registry, tiny_cell_data):
    found = evaluate_cell(_cell(registry, "idt", "linear_svm"), tiny_cell_data, registry)
    for split in found.splits:
        assert len(split.speakers) == 1  # one held-out speaker: nothing to tell apart
        assert "invariance" not in split.metrics.extra and "calibration" not in split.metrics.extra
        assert split.metrics.extra["retrieval"]["precision_at_1"] is not None


def test_judging_leaves_every_prediction_as_it_was(registry, tiny_cell_data, monkeypatch):
    from ser_bench.running import evaluation

    cell = _cell(registry, "fewshot", "softmax_mlp", k=[1], repeats=1, frozen=[0])
    judged = evaluate_cell(cell, tiny_cell_data, registry)
    monkeypatch.setattr(evaluation._CellRun, "_judged", lambda self, *args: {})
    plain = evaluate_cell(cell, tiny_cell_data, registry)
    assert [s.metrics.confusion for s in judged.splits] == [s.metrics.confusion for s in plain.splits]
    assert [s.speakers for s in judged.splits] == [s.speakers for s in plain.splits]


def _split(name: str, speakers: dict, info=None) -> SplitResult:
    total = np.sum([found["confusion"] for found in speakers.values()], axis=0)
    recall = np.diag(total) / total.sum(axis=1)
    uar = float(recall.mean())
    return SplitResult(name=name, metrics=Metrics(uar=uar, accuracy=uar, macro_f1=uar, confusion=total.tolist()),
                       info=info or {}, speakers=speakers)


def _result(loss: str, splits: list, seed: int = 0) -> Result:
    params = CellParams(protocol="oodt", loss=loss, target="t", source="s", seed=seed, encoder="mlp",
                        feature="is09-64", labels=("anger", "sadness"), protocol_params={}, training={})
    return Result(cell_id=f"oodt__{loss}__s__t__seed{seed}__0123456789", status="ok", params=params,
                  splits=tuple(splits))


def _speaker(right: list, wrong: list, sex: str) -> dict:
    """A two-class speaker: ``right[c]`` clips of class c classified right, ``wrong[c]`` wrong."""
    return {"sex": sex, "confusion": [[right[0], wrong[0]], [wrong[1], right[1]]]}


def test_uar_by_sex_is_speaker_balanced_and_its_gap_matches_a_hand_computation():
    # Female speakers: UAR 1.0 (many clips) and 0.5; male: 0.75 and 0.25. Speaker-balanced: female 0.75,
    # male 0.5, gap +0.25 -- a clip-weighted mean would give the talkative first speaker most of the weight.
    speakers = {"f1": _speaker([90, 90], [0, 0], "female"), "f2": _speaker([1, 0], [1, 2], "F"),
                "m1": _speaker([2, 1], [0, 1], "male"), "m2": _speaker([1, 0], [3, 2], "male")}
    assert speaker_uar(speakers["f2"]["confusion"]) == pytest.approx(0.25)  # (1/2 + 0/2) / 2
    speakers["f2"] = _speaker([1, 1], [1, 1], "F")  # recall 1/2 and 1/2
    results = [_result("a", [_split("whole", speakers)])]
    [(key, sexes)] = by_sex(results).items()
    assert sexes == {"female": {"f1": 1.0, "f2": 0.5}, "male": {"m1": 0.75, "m2": 0.125}}
    row = gap_of(sexes)
    assert row["uar_female"] == pytest.approx(0.75) and row["uar_male"] == pytest.approx(0.4375)
    assert row["sex_gap"] == pytest.approx(0.3125) and row["sex_gap_low"] <= 0.3125 <= row["sex_gap_high"]
    board = to_markdown(results)
    assert "## UAR by speaker sex" in board and "| 75.0 (2) | 43.8 (2) | +31.2 [" in board
    frame = board_frame(results)
    assert frame.loc[0, "sex_gap"] == pytest.approx(0.3125) and frame.loc[0, "speakers_male"] == 2


def test_a_speaker_tested_in_several_splits_counts_once_with_the_mean_of_its_uars():
    a = _split("s1", {"f1": _speaker([2, 2], [0, 0], "female"), "m1": _speaker([1, 1], [1, 1], "male")})
    b = _split("s2", {"f1": _speaker([0, 2], [2, 0], "female"), "m1": _speaker([1, 1], [1, 1], "male")})
    [sexes] = by_sex([_result("a", [a], seed=0), _result("a", [b], seed=1)]).values()
    assert sexes == {"female": {"f1": 0.75}, "male": {"m1": 0.5}}
    assert math.isnan(gap_of(sexes)["sex_gap_low"])  # one speaker of each sex: no interval


def test_results_that_record_no_sex_have_no_fairness_section():
    plain = _split("whole", {"x": {"confusion": [[2, 0], [0, 2]]}})
    assert "UAR by speaker sex" not in to_markdown([_result("a", [plain])])


def test_a_speakers_record_that_does_not_fit_its_split_is_refused():
    good = _split("whole", {"x": {"confusion": [[2, 0], [0, 2]]}}).to_json()
    for bad, words in (({"x": {"confusion": [[2, 0, 0], [0, 2, 0], [0, 0, 1]]}}, "has 3 rows"),
                       ({"x": {"confusion": [[2, -1], [0, 2]]}}, ">= 0"), ({"x": [1]}, "confusion matrix"),
                       ({"x": {"confusion": [[2, 0], [0, 2]], "sex": 1}}, "sex")):
        with pytest.raises(RecordError, match=words):
            SplitResult.from_json({**good, "speakers": bad})


def test_measurements_out_of_range_are_refused():
    good = _split("whole", {"x": {"confusion": [[2, 0], [0, 2]]}}).to_json()
    for part, value, words in (("retrieval", {"map_at_r": 1.5}, "map_at_r"), ("calibration", {"brier": -0.1}, "brier"),
                               ("invariance", {"speaker": {"above_chance": float("nan")}}, "above_chance")):
        with pytest.raises(RecordError, match=words):
            SplitResult.from_json({**good, "metrics": {**good["metrics"], part: value}})


def test_a_schema_2_idt_fold_gains_its_held_out_speakers_matrix_on_reading():
    split = _split("fold-03", {"03": {"confusion": [[3, 1], [0, 4]]}}, info={"test_speaker": "03"}).to_json()
    del split["speakers"]
    old = {**_result("a", [SplitResult.from_json(split)]).to_json(), "schema_version": 2}
    read = Result.from_json(old)
    assert read.written_with == 2 and read.splits[0].speakers == {"03": {"confusion": [[3, 1], [0, 4]]}}
    other = {**old, "splits": [{**split, "info": {}}]}  # not one speaker's test set: nothing is invented
    assert Result.from_json(other).splits[0].speakers is None


def test_the_board_averages_each_measurement_over_the_unit_as_uar(registry):
    def judged(value: float) -> SplitResult:
        found = _split("whole", {"x": {"confusion": [[2, 0], [0, 2]]}})
        extra = {"retrieval": {"precision_at_1": value, "r_precision": value, "map_at_r": value, "nmi": value,
                               "ami": value, "k": "max_bin_count"},
                 "calibration": {"ece": value / 2, "brier": value, "nll": 1.0, "method": "a test head"}}
        return SplitResult.from_json({**found.to_json(), "metrics": {**found.metrics.to_json(), **extra}})

    results = [_result("a", [judged(v)], seed=s) for s, v in enumerate((0.5, 0.7, 0.9))]  # sd 0.2: t(2) 4.303 x 0.2 / √3 = 0.497
    board = to_markdown(results)
    assert "| 70.0 ± 49.7 | 70.0 ± 49.7 | 70.0 ± 49.7 | 70.0 ± 49.7 | 70.0 ± 49.7 | n = 3 source seeds |" in board
    assert "- a test head" in board and "| 35.0 ± 24.8 | 0.700 ± 0.497 | 1.00 ± 0.00 |" in board
    frame = board_frame(results)
    assert frame.loc[0, "map_at_r"] == pytest.approx(0.7) and frame.loc[0, "ece"] == pytest.approx(0.35)
    assert math.isnan(frame.loc[0, "speaker_probe"])


def test_the_web_page_shows_the_same_sections_as_the_markdown_board():
    from ser_bench.reporting.html import to_html

    speakers = {"f1": _speaker([3, 3], [1, 1], "female"), "m1": _speaker([2, 2], [2, 2], "male")}
    page = to_html([_result("a", [_split("whole", speakers)])])
    assert '<section id="measures"' in page and "<h2>UAR by speaker sex</h2>" in page
    assert "<td>75.0 (1)</td>" in page and "<td>50.0 (1)</td>" in page
    plain = to_html([_result("a", [_split("whole", {"x": {"confusion": [[2, 0], [0, 2]]}})])])
    assert 'id="measures"' not in plain


def test_large_test_sets_are_measured_on_a_seeded_sample_and_say_so():
    import pandas as pd

    from ser_bench.running import judging

    rng = np.random.default_rng(0)
    n = judging.RETRIEVAL_CLIPS + 1000
    truth = np.arange(n) % 4
    z = rng.normal(size=(n, 8)) + truth[:, None]
    rows = pd.DataFrame({"speaker": [f"s{i % 300}" for i in range(n)]})
    found = judging.embedding_measures(lambda x: x, z, truth, rows)
    assert found["retrieval"]["n"] == judging.RETRIEVAL_CLIPS and found["retrieval"]["sampled_from"] == n
    probe = found["invariance"]["speaker"]
    assert probe["identities"] == judging.PROBE_SPEAKERS and probe["sampled_from"] == n
    again = judging.embedding_measures(lambda x: x, z, truth, rows)
    assert again == found  # seeded
    small = judging.embedding_measures(lambda x: x, z[:400], truth[:400], rows[:400])
    assert "sampled_from" not in small["retrieval"] and small["retrieval"]["n"] == 400
