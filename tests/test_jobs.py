"""Typed all the way: a split's result is a SplitResult from where it is computed, a job is a frozen Job
whose shared corpora drive what the Ray executor puts in its object store once."""
from __future__ import annotations

import dataclasses
import math
import sys
import types

import pytest

from ser_bench.plugin_api.jobs import SharedWork
from ser_bench.plugin_api.manager import PluginSettings
from ser_bench.results.record import Metrics, SplitResult, make_split
from ser_bench.results.summary import summarise
from ser_bench.running.cells import Cell, resolve
from ser_bench.running.evaluation import evaluate_cell
from ser_bench.running.jobs import Evaluation, Job
from ser_bench.running.tasks import merge_parts
from ser_bench_plugins.executors import ray_executor

from .conftest import FAST_TRAINING, TINY


def test_evaluation_gives_split_results_that_read_back_as_themselves(registry, tiny_cell_data):
    """What a run computes is the record a file holds: each split is a SplitResult whose JSON reads back
    (with every check a file gets) as an equal record."""
    cell = resolve(Cell(protocol="fewshot", loss="bce_pair", target="sim-ravdess", source="sim-crema",
                        training=dict(FAST_TRAINING), dataset_params=TINY,
                        protocol_params={"k": [1], "repeats": 2, "frozen": [0, 1]}), registry)
    body = evaluate_cell(cell, tiny_cell_data, registry)
    assert isinstance(body, Evaluation) and len(body.splits) == 4
    for split in body.splits:
        assert type(split) is SplitResult and type(split.metrics) is Metrics
        assert SplitResult.from_json(split.to_json()) == split
        assert 0.0 <= split.uar <= 1.0 and split.frozen_layers in (0, 1) and split.loss_state
    assert body.summary == summarise(body.splits)
    assert set(body.timings) >= {"train", "finetune", "scoring", "total"}
    assert dataclasses.is_dataclass(body) and body.tuning is None and body.params_as_run is None


def test_summarise_reads_typed_splits():
    splits = (make_split("r0-a", 0.5, info={"repeat": 0}), make_split("r0-b", 0.7, info={"repeat": 0}),
              make_split("r1-a", 0.9, info={"repeat": 1}, support_balanced=False),
              make_split("r2-a", 1.0, info={"repeat": 2}, missing_test_classes=["fear"]))
    summary = summarise(splits)
    assert summary["uar"] == pytest.approx((0.6 + 0.9) / 2) and summary["n_units"] == 2 and summary["n_splits"] == 4
    assert summary["unbalanced_support"] == {"splits": 1, "examples": ["r1-a"]}
    assert summary["excluded_splits"] == [{"split": "r2-a", "missing_test_classes": ["fear"]}]
    assert math.isnan(summarise(splits[3:])["accuracy"])


def test_merge_parts_puts_typed_parts_back_in_the_protocols_order():
    splits = tuple(make_split(f"s{i}", i / 10) for i in range(5))
    parts = {p: Evaluation(splits=splits[p::2], summary=summarise(splits[p::2]), timings={"train": 1.0 + p})
             for p in range(2)}
    merged = merge_parts(parts)
    assert merged.splits == splits and merged.summary == summarise(splits)
    assert merged.timings == {"train": 3.0, "parts": 2}
    assert merge_parts({0: parts[0]}) is parts[0]


def _job(corpora: dict, part: int = 0, parts: int = 1) -> Job:
    cell = Cell(protocol="idt", loss="logreg", target="t")
    return Job(cell=cell, corpora=corpora, model_dir=None, settings=PluginSettings(entry_points=False),
               tuning_dir=None, part=part, parts=parts)


def test_a_job_is_a_frozen_value_that_declares_its_shared_corpora():
    target = object()
    job = _job({"target": target})
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.part = 1
    assert isinstance(job, SharedWork) and dict(job.shared) == {"target": target}
    other = job.with_shared({"target": "ref"})
    assert other.corpora == {"target": "ref"} and other.cell is job.cell and job.corpora["target"] is target
    assert not isinstance(("a", {"target": target}), SharedWork)


class FakeRef:
    def __init__(self, value):
        self.value = value


class FakeRay:
    """The object store of a Ray, in this process: ``put`` counts what it is given."""

    ObjectRef = FakeRef

    def __init__(self):
        self.stored = []

    def put(self, value):
        self.stored.append(value)
        return FakeRef(value)

    def get(self, ref):
        return ref.value

    def get_runtime_context(self):
        return types.SimpleNamespace(get_node_id=lambda: "node-1")


def test_ray_puts_each_corpus_that_several_jobs_share_in_the_store_once(monkeypatch):
    shared, own = object(), object()
    jobs = [_job({"target": shared, "source": own}, part=0, parts=2), _job({"target": shared}, part=1, parts=2),
            "not a job"]
    ray = FakeRay()
    sent = ray_executor._share(ray, jobs)
    assert ray.stored == [shared]  # once, though two jobs hold it; the corpus one job holds travels in it
    assert isinstance(sent[0].corpora["target"], FakeRef) and sent[0].corpora["source"] is own
    assert sent[1].corpora["target"] is sent[0].corpora["target"] and sent[2] == "not a job"
    assert jobs[0].corpora["target"] is shared  # the runner's jobs are left as they were
    monkeypatch.setitem(sys.modules, "ray", ray)
    node, got = ray_executor._on_node(lambda job: job, sent[0])
    assert node == "node-1" and got == jobs[0] and got.corpora["target"] is shared


def test_a_split_no_reader_would_accept_fails_its_cell_before_anything_is_written(registry):
    """Split records are built in code now, not read back from JSON: the checks a file gets on reading
    run when the cell is assembled, so a plugin protocol's fractional ``k`` fails the cell, naming it,
    instead of writing a file that every board would leave out."""
    import pandas as pd

    from ser_bench.errors import SerBenchError
    from ser_bench.running.runner import assemble

    cell = resolve(Cell(protocol="idt", loss="logreg", target="sim-ravdess", dataset_params=TINY), registry)
    corpus = types.SimpleNamespace(manifest=pd.DataFrame({"speaker": ["01", "02"]}), manifest_hash="0" * 16,
                                   n_clips_total=2, skipped=[], label_map={})
    good = make_split("loso-01", 0.5, info={"test_speaker": "01"})
    bad = make_split("loso-02", 0.5, info={"test_speaker": "02", "k": 1.5})
    body = Evaluation(splits=(good,), summary=summarise((good,)), timings={})
    assert assemble(cell, {"target": corpus}, {0: body}, registry).splits == (good,)
    body = Evaluation(splits=(good, bad), summary=summarise((good, bad)), timings={})
    with pytest.raises(SerBenchError, match=r"gave a result no reader would accept \(splits\[1\]"):
        assemble(cell, {"target": corpus}, {0: body}, registry)
