"""The runner end to end on tiny simulated corpora: result files, resume, failures, skipping done cells."""
from __future__ import annotations

import json

import pytest

from ser_bench.running import evaluation
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run
from ser_bench.results.record import SCHEMA_VERSION
from ser_bench.results.store import load_results

from .conftest import FAST_TRAINING, TINY


def grid(**overrides):
    base = {"training": FAST_TRAINING, "dataset_params": TINY,
            "protocol_params": {"fewshot": {"k": [1, 2], "repeats": 2, "frozen": [0, 2]}}}
    kwargs = dict(protocols=["oodt", "idt", "fewshot"], losses=["bce_pair", "ratio_distance"],
                  targets=["sim-ravdess"], sources=["sim-crema"], base=base)
    kwargs.update(overrides)
    return Grid(**kwargs)


def test_grid_runs_and_writes_complete_result_files(registry, ctx, tiny_corpora, tmp_path):
    cells = expand(grid(), registry)
    assert len(cells) == 6 and {c.source for c in cells if c.protocol == "idt"} == {None}
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert len(report.ran) == 6 and not report.failed
    results = {r.params.protocol + "/" + r.params.loss: r for r in load_results(tmp_path)}
    fewshot = results["fewshot/ratio_distance"]
    assert fewshot.schema_version == SCHEMA_VERSION and len(fewshot.splits) == 2 * 2 * 2
    assert fewshot.params.loss_params == {"weight": 1.0, "delta": 0.1, "balance": True}
    assert fewshot.params.protocol_params["k"] == [1, 2]
    assert fewshot.data["target"].manifest_hash and fewshot.provenance["packages"]["torch"]
    assert all(len(s.hash) == 16 and 0 <= s.metrics.uar <= 1 for s in fewshot.splits)
    assert set(fewshot.timings) >= {"train", "finetune", "scoring", "total"}
    idt = results["idt/bce_pair"]
    assert len(idt.splits) == 4 and idt.data["target"].speakers == 4
    assert idt.data["target"].clips_used == 4 * 32  # 4 emotions x 2 intensities x 2 statements x 2 reps
    # Identical episodes across losses: the paired comparison of issue 4 relies on it.
    hashes = lambda r: [s.hash for s in r.splits]  # noqa: E731
    assert hashes(fewshot) == hashes(results["fewshot/bce_pair"])
    again = run(cells, registry, ctx, tmp_path, executor="serial")
    assert len(again.already_done) == 6 and not again.ran


def test_interrupted_run_resumes_without_recomputing(registry, ctx, tiny_corpora, tmp_path, monkeypatch):
    cells = expand(grid(protocols=["oodt"], losses=["bce_pair", "ratio_distance"]), registry)
    real = evaluation.evaluate_cell
    calls = []

    def interrupt_second(cell, data, reg, **kwargs):
        calls.append(cell.loss)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(cell, data, reg, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_cell", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        run(cells, registry, ctx, tmp_path, executor="serial")
    written = load_results(tmp_path)
    assert len(written) == 1 and not list(tmp_path.glob(".*.tmp"))
    first_mtime = (tmp_path / f"{written[0].cell_id}.json").stat().st_mtime_ns
    calls.clear()
    monkeypatch.setattr(evaluation, "evaluate_cell", real)
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert len(report.already_done) == 1 and len(report.ran) == 1
    assert (tmp_path / f"{written[0].cell_id}.json").stat().st_mtime_ns == first_mtime


def test_a_failing_cell_does_not_lose_the_others(registry, ctx, tiny_corpora, tmp_path):
    cells = expand(grid(protocols=["idt", "fewshot"], losses=["bce_pair"],
                        base={"training": FAST_TRAINING, "dataset_params": TINY,
                              "protocol_params": {"fewshot": {"k": [9], "repeats": 1}}}), registry)
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert len(report.ran) == 1 and len(report.failed) == 1
    assert "impossible with 4 target speakers" in str(report.failed[0][1])
    assert [json.loads(p.read_text())["params"]["protocol"] for p in tmp_path.glob("*.json")] == ["idt"]


@pytest.mark.slow
def test_process_executor_gives_the_same_numbers_as_serial(registry, ctx, tiny_corpora, tmp_path):
    cells = expand(grid(protocols=["fewshot"], losses=["ratio_distance"]), registry)
    serial = run(cells, registry, ctx, tmp_path / "serial", executor="serial").ran[0]
    process = run(cells, registry, ctx, tmp_path / "process", executor="process").ran[0]
    assert [s.metrics.uar for s in serial.splits] == [s.metrics.uar for s in process.splits]


def test_missing_corpora_are_all_named_before_any_work(registry, ctx, tmp_path):
    from ser_bench.errors import CorpusNotFoundError

    cells = expand(Grid(protocols=["oodt"], losses=["bce_pair"], targets=["ravdess"], sources=["crema"]), registry)
    with pytest.raises(CorpusNotFoundError) as info:
        run(cells, registry, ctx, tmp_path, executor="serial")
    assert "'crema' not found" in str(info.value) and "'ravdess' not found" in str(info.value)
    assert not list(tmp_path.glob("*.json"))


def test_skipped_files_are_listed_in_the_result(registry, tmp_path, tiny_corpora):
    import pandas as pd

    from ser_bench.plugin_api.context import RunContext

    clips = tiny_corpora["sim-ravdess"]
    clips = clips[clips["emotion"].isin(["anger", "happiness", "sadness", "fear"])]
    rows = [{"path": p, "speaker": s, "emotion": e} for p, s, e in zip(clips["path"], clips["speaker"], clips["emotion"])]
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    rows.append({"path": str(broken), "speaker": "01", "emotion": "anger"})
    rows.append({"path": str(tmp_path / "gone.wav"), "speaker": "02", "emotion": "fear"})
    pd.DataFrame(rows).to_csv(tmp_path / "corpus.csv", index=False)
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path / "cache", workers=1, skip_bad_files=True)
    cells = expand(Grid(protocols=["idt"], losses=["bce_pair"], targets=["csv"],
                        base={"training": FAST_TRAINING, "dataset_params": {"csv": {"path": str(tmp_path / "corpus.csv")}}}),
                   registry)
    result = run(cells, registry, ctx, tmp_path / "results", executor="serial").ran[0]
    skipped = "\n".join(result.data["target"].skipped_files)
    assert "broken.wav" in skipped and "gone.wav" in skipped
    assert result.data["target"].clips_used == len(clips)
    assert result.splits[0].sentence_overlap is not None


def test_every_loss_runs_fewshot_and_incompatible_cells_are_recorded(registry, ctx, tiny_corpora, tmp_path):
    losses = ["bce_pair", "ratio_distance", "cross_entropy", "contrastive", "triplet", "supcon", "multi_similarity",
              "pml:CircleLoss", "continuous_slope", "log_ratio"]
    base = {"training": FAST_TRAINING, "dataset_params": TINY,
            "protocol_params": {"fewshot": {"k": [2], "repeats": 1, "frozen": [1]}}}
    cells = expand(grid(protocols=["fewshot"], losses=losses, base=base), registry)
    cells += expand(grid(protocols=["fewshot"], losses=["triplet"], base={**base, "head": "siamese"}), registry)
    cells += expand(grid(protocols=["fewshot"], losses=["log_ratio"], encoders=["dae"], base=base), registry)
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert not report.failed, report.failed
    assert len(report.ran) == len(losses) + 1 and len(report.skipped) == 1
    results = {r.cell_id: r for r in load_results(tmp_path)}
    skipped = [r for r in results.values() if r.status == "skipped"]
    assert len(skipped) == 1 and "siamese head needs" in skipped[0].reason
    heads = {r.params.loss: r.params.head for r in results.values() if r.status == "ok"}
    assert heads["bce_pair"] == "siamese" and heads["triplet"] == "prototype" and heads["cross_entropy"] == "linear"
    continuous = [r for r in results.values() if r.params.loss == "continuous_slope"][0]
    assert set(continuous.splits[0].metrics.extra["continuous"]["arousal"]) == {"ccc", "spearman"}
    pretrain = {r.params.loss: r.params.pretrain_loss for r in results.values()}
    assert pretrain["ratio_distance"] == "bce_pair" and pretrain["supcon"] == "supcon"
