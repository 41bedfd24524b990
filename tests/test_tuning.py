"""Tuning on validation speakers: no test speaker is ever seen, the record reruns, budgets are equal."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ser_bench.running import evaluation

from ser_bench.running import tuning
from ser_bench.running.cells import Cell, resolve
from ser_bench.errors import SerBenchError
from ser_bench.running.runner import run
from ser_bench.plugin_api.search import Choice, Range, parse
from ser_bench.running.splits import parts

from .conftest import FAST_TRAINING, TINY

LABELS = ("anger", "happiness", "sadness", "fear")
FEWSHOT = {"k": [1], "repeats": 2, "frozen": [0]}
# Small, cheap ranges: the tests are about where data goes, not about finding good settings.
CHEAP = {"training.epochs": "2..4:int", "training.finetune_steps": "2..6:int", "encoder.hidden": "off"}


@pytest.fixture(scope="module")
def data(tiny_cell_data):
    return tiny_cell_data


def tuned_cell(registry, protocol, loss="ratio_distance", trials=3, speakers=2, search=None):
    return resolve(Cell(protocol=protocol, loss=loss, target="sim-ravdess",
                        source=None if protocol == "idt" else "sim-crema", training=dict(FAST_TRAINING),
                        dataset_params=TINY, protocol_params=dict(FEWSHOT) if protocol == "fewshot" else {},
                        tuning={"trials": trials, "validation_speakers": speakers, "search": search or dict(CHEAP)}),
                   registry)


def test_ranges_parse_from_text():
    assert parse("1e-4..1e-2:log") == Range(1e-4, 1e-2, log=True)
    assert parse("20..120:step=10") == Range(20, 120, integer=True, step=10)
    assert parse("[64,32,16]|[128,64,32]") == Choice(([64, 32, 16], [128, 64, 32]))
    for bad in ("3..1", "0..1:log", "1.5..3:int", "abc", "1..2:cubic"):
        with pytest.raises(SerBenchError):
            parse(bad)


@pytest.mark.parametrize("protocol", ["oodt", "idt", "fewshot"])
def test_no_test_speaker_is_seen_while_tuning(registry, data, protocol, monkeypatch):
    """Every split evaluated while tuning is recorded with the speakers of each of its parts, and so is
    every split of the final evaluation: the target speakers tuning touched never appear in the final
    run at all (neither tested nor trained on), and out-of-domain tuning touches no target speaker."""
    seen = {"tuning": [], "final": []}
    phase = {"now": "final"}
    evaluate, tune = evaluation._CellRun.evaluate, tuning.tune

    def recording_evaluate(self, split):
        for name in ("train", "finetune", "support", "test"):
            for p in parts(getattr(split, name)):
                speakers = set(self.manifests[p.domain]["speaker"].astype(str).iloc[list(p.indices)])
                seen[phase["now"]].append((name, p.domain, speakers))
        return evaluate(self, split)

    def recording_tune(*args, **kwargs):
        phase["now"] = "tuning"
        try:
            return tune(*args, **kwargs)
        finally:
            phase["now"] = "final"

    monkeypatch.setattr(evaluation._CellRun, "evaluate", recording_evaluate)
    monkeypatch.setattr(tuning, "tune", recording_tune)
    body = evaluation.evaluate_cell(tuned_cell(registry, protocol), data, registry)

    tuned_target = set().union(*[s for _, d, s in seen["tuning"] if d == "target"] or [set()])
    final_target = set().union(*[s for _, d, s in seen["final"] if d == "target"])
    final_test = set().union(*[s for part, d, s in seen["final"] if part == "test" and d == "target"])
    assert seen["tuning"] and seen["final"]
    assert not tuned_target & final_target
    assert final_test, "the final evaluation tests on target speakers"
    assert sorted(tuned_target) == body.tuning["reserved_target_speakers"]
    if protocol == "oodt":
        assert tuned_target == set()
    else:
        assert len(tuned_target) == 2


def test_a_tuned_result_reruns_from_its_record(registry, tmp_path, ctx):
    cell = tuned_cell(registry, "fewshot", trials=4)
    report = run([cell], registry, ctx, tmp_path / "tuned", executor="serial")
    assert not report.failed, report.failed
    stored = json.loads(next((tmp_path / "tuned").glob("*.json")).read_text())
    record = stored["tuning"]
    assert [t["state"] for t in record["history"]].count("COMPLETE") >= 1 and len(record["history"]) == 4
    first = record["history"][0]["values"]  # the defaults go first
    assert first["training.epochs"] == FAST_TRAINING["epochs"] and first["loss.weight"] == 1.0
    as_run = stored["params_as_run"]
    assert as_run["tuning"]["trials"] == 0
    for key, value in record["best_values"].items():
        scope, name = key.split(".")
        field = {"training": "training", "loss": "loss_params", "encoder": "encoder_params"}[scope]
        assert as_run[field][name] == value

    again = run([Cell(**{**as_run, "labels": tuple(as_run["labels"])})], registry, ctx, tmp_path / "again",
                executor="serial")
    assert not again.failed, again.failed
    rerun = json.loads(next((tmp_path / "again").glob("*.json")).read_text())
    assert [(s["name"], s["metrics"]) for s in rerun["splits"]] == [(s["name"], s["metrics"]) for s in stored["splits"]]
    assert rerun["tuning"]["trials"] == 0 and rerun["tuning"]["reserved_target_speakers"] == record["reserved_target_speakers"]


def test_default_cells_with_validation_speakers_pair_with_tuned_ones(registry, data):
    tuned = evaluation.evaluate_cell(tuned_cell(registry, "fewshot", trials=2), data, registry)
    default = evaluation.evaluate_cell(tuned_cell(registry, "fewshot", trials=0), data, registry)
    assert [s.episode_hash for s in tuned.splits] == [s.episode_hash for s in default.splits]
    assert default.tuning["reserved_target_speakers"] == tuned.tuning["reserved_target_speakers"]


def test_an_interrupted_tuning_resumes_from_its_journal(registry, data, tmp_path):
    cell = tuned_cell(registry, "oodt", trials=4)
    splits, _ = tuning.validation_plan(cell, data, registry)
    calls = {"n": 0}

    def scorer(trial_cell):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        run = evaluation._CellRun(trial_cell, data, registry, None, {})
        return lambda split: run.evaluate(split).uar

    store = tmp_path / "journal"
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(cell, data, registry, splits, store=store, evaluate_split=scorer)
    record = tuning.tune(cell, data, registry, splits, store=store, evaluate_split=scorer)
    states = [t["state"] for t in record["history"]]
    assert states.count("COMPLETE") + states.count("PRUNED") == 4
    assert calls["n"] == 3 + 2  # two trials kept, the interrupted one and one more run afresh


def test_tuning_errors_say_what_to_do(registry):
    from ser_bench.running.grid import Grid, expand

    grid = Grid(protocols=["oodt"], losses=["ratio_distance", "bce_pair"], targets=["sim-ravdess"],
                sources=["sim-crema"], base={"tuning": {"trials": 2, "search": {"loss.wieght": "0.1..1"}}})
    with pytest.raises(SerBenchError, match="Did you mean loss.weight"):
        expand(grid, registry)
    grid.base["tuning"]["search"] = {"loss.weight": "0.1..1"}  # ratio_distance takes it, bce_pair has none
    cells = expand(grid, registry)
    assert [("loss.weight" in c.tuning["space"]) for c in cells] == [True, False]
    assert cells[0].tuning["space"]["loss.weight"] == "0.1..1"
    with pytest.raises(SerBenchError, match="validation speakers impossible"):
        from ser_bench.running.splits import choose_speakers
        import pandas as pd

        choose_speakers(pd.DataFrame({"speaker": ["a", "b"]}), 2, 0, "x")


def test_search_overrides_are_recorded_and_off_removes(registry):
    cell = tuned_cell(registry, "idt", search={"training.lr": "0.001|0.01", "encoder.hidden": "off",
                                               "training.epochs": "2..4:int"})
    space = cell.tuning["space"]
    assert space["training.lr"] == "0.001|0.01" and "encoder.hidden" not in space
    assert space["loss.weight"] == registry.get("losses", "ratio_distance").search_space["weight"]
    assert cell.cell_id() != replace(cell, tuning={**cell.tuning, "trials": 5}).cell_id()
    untuned = resolve(Cell(protocol="idt", loss="ratio_distance", target="sim-ravdess"), registry)
    assert "tuning" not in untuned.as_dict()  # cell ids of untuned settings are those of 0.2


def test_baselines_tune_their_head(registry):
    cell = tuned_cell(registry, "oodt", loss="logreg", search={})
    assert set(cell.tuning["space"]) == {"head.C"}  # nothing is trained by gradient: only the head's C


def test_run_tune_on_the_command_line_labels_rows(tmp_path, cache_dir, capsys):
    from ser_bench.cli.main import main

    args = ["-q", "run", "--protocol", "oodt", "--loss", "bce_pair", "--source", "sim-crema", "--target", "sim-ravdess",
            "--dataset-param", "sim-crema.speakers=4", "--dataset-param", "sim-ravdess.speakers=4",
            "--train-param", "epochs=2", "--cache-dir", str(cache_dir), "--seed", "0", "--results", str(tmp_path),
            "--executor", "serial", "--validation-speakers", "2"]
    search = ["--search", "training.epochs=2..3:int", "--search", "encoder.hidden=off", "--search",
              "training.lr=off", "--search", "training.weight_decay=off"]
    assert main(args + search + ["--tune", "2"]) == 0
    assert main(args + ["--tune", "0"]) == 0
    out = capsys.readouterr().out
    assert "bce_pair (tuned 2)" in out and "bce_pair (default)" in out
    assert "rows marked *tuned N*" in out
    assert main(args + ["--search", "loss.wieght=1..2", "--tune", "2"]) == 2
    assert "loss 'bce_pair' has no setting 'wieght'" in capsys.readouterr().err
    assert main(args + ["--search", "training.lr=1..2"]) == 2  # --search without --tune
    assert "add --tune TRIALS" in capsys.readouterr().err
    assert main(["run", "--protocol", "idt", "--loss", "bce_pair", "--target", "sim-ravdess", "--tune", "2",
                 "--search", "training.epochs=3..1", "--results", str(tmp_path)]) == 2


def test_search_ranges_come_from_the_config_file(tmp_path, monkeypatch):
    import argparse

    from ser_bench.cli.run_command import tuning_settings

    args = argparse.Namespace(search=["training.lr=off"], tune=4, validation_speakers=None)
    config = {"search": {"training.epochs": "20..80:step=10", "training.lr": "1e-3..1e-2:log"}}
    assert tuning_settings(args, config) == {"trials": 4, "validation_speakers": 0,
                                             "search": {"training.epochs": "20..80:step=10", "training.lr": "off"}}


def test_views_take_their_base_corpus_parameters(registry):
    cell = resolve(Cell(protocol="oodt", loss="bce_pair", source="sim-crema[half=1]", target="sim-ravdess[half=2]",
                        dataset_params={"sim-crema": {"speakers": 4}, "sim-ravdess[half=2]": {"speakers": 6}}), registry)
    assert cell.dataset_params["sim-crema[half=1]"]["speakers"] == 4
    assert cell.dataset_params["sim-ravdess[half=2]"]["speakers"] == 6


def test_failed_trials_are_kept_and_all_failing_is_an_error(registry, data):
    cell = tuned_cell(registry, "oodt", trials=3)
    splits, _ = tuning.validation_plan(cell, data, registry)
    calls = {"n": 0}

    def diverging(trial_cell):
        calls["n"] += 1

        def score(split):
            if calls["n"] == 2:
                raise FloatingPointError("loss is nan")
            return 0.5
        return score

    record = tuning.tune(cell, data, registry, splits, evaluate_split=diverging)
    assert [t["state"] for t in record["history"]] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert record["history"][1]["error"] == "FloatingPointError: loss is nan"

    def always(trial_cell):
        def score(split):
            raise FloatingPointError("loss is nan")
        return score

    with pytest.raises(SerBenchError, match="every tuning trial failed .FloatingPointError: loss is nan"):
        tuning.tune(cell, data, registry, splits, evaluate_split=always)
