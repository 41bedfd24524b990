"""Tuning trials per wall-clock second: one at a time (``tuning.batch`` 1) against batches of 8 trained
together (:mod:`ser_bench.running.trial_batches`). Goal (issue "Four times the tuning budget for the same
time"): >= 3x on a 2-core machine.

The method: ``softmax_mlp`` (cross-entropy through a linear classifier on the plain ``mlp``, scored by a
logistic-regression head), tuned out of domain on the tiny simulated corpora of ``tests/conftest.py``
(sim-crema -> sim-ravdess, 4 speakers each, is09-64, 4 emotions): 16 trials over the learning rate, the
weight decay and the epochs (the training defaults' ranges: 1e-4..1e-2, 1e-6..1e-2, 20..120), the encoder's
hidden sizes, the label smoothing and the head's C fixed (a trial whose loss parameters differ from the
others' trains alone), so that every trial shares one architecture and
loss. On one torch thread, as every ser-bench worker trains. Both ways score a trial as tuning does
(``_CellRun(..., judge=False).evaluate(split).uar``: a trial is scored by its UAR alone, without the
embedding measurements of a cell's final splits); the batches propose other settings than one at a time (see
:mod:`ser_bench.running.tuning`), so each way's rate is its own trials over its own time.

Run: ``.venv/bin/python -m pytest benchmarks/test_tuning_batched.py --benchmark-only --benchmark-enable -s``.
Quote the medians of one run and their ratio (printed, and in the batched test's ``extra_info``).

Measured 2026-12-06 on the 2-core machine with nothing else running, two runs: linear head 12.2 and
12.5 trials/s one at a time, 25.9 and 25.7 in batches (2.1x, 2.0x); prototype head 12.6 and 14.2 against
32.4 and 32.2 (2.6x, 2.3x). The goal of 3x is not met. What bounds it: a stacked step of 8 of these
models costs about 2.3 single steps (0.51 ms per model against 1.79 ms alone, 128 rows), but the
trials of a batch train for different numbers of epochs (20-120 here), so the later steps of a batch
carry few models (4.6 on average over these two batches); and every trial's head is fitted and scored
alone, as training it alone would.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.running import evaluation, tuning
from ser_bench.running.cells import Cell, resolve

TINY = {"sim-ravdess": {"speakers": 4}, "sim-crema": {"speakers": 4}}
TRIALS, BATCH, ROUNDS = 16, 8, 3
SEARCH = {"encoder.hidden": "off", "loss.label_smoothing": "off", "head.C": "off"}
rates: dict = {}


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    from ser_bench.running.corpora import prepare_corpus

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    registry = load_registry(PluginSettings(entry_points=False))
    ctx = RunContext(data_dirs=[], cache_dir=Path(tmp_path_factory.mktemp("cache")), workers=2)
    data = {}
    for role, name in (("source", "sim-crema"), ("target", "sim-ravdess")):
        corpus = prepare_corpus(name, "is09-64", ("anger", "happiness", "sadness", "fear"), TINY[name], registry, ctx)
        data[role] = (corpus.manifest, corpus.features)
    yield registry, data
    torch.set_num_threads(threads)


def tuned_cell(registry, batch: int, head: str = "linear"):
    settings = {"trials": TRIALS, "validation_speakers": 2, "search": dict(SEARCH), **({"batch": batch} if batch > 1 else {})}
    return resolve(Cell(protocol="oodt", loss="softmax_mlp", source="sim-crema", target="sim-ravdess", head=head,
                        dataset_params=TINY, tuning=settings), registry)


# The method's own head (logistic regression, fitted per trial and split: not batched, and on these tiny
# corpora most of a trial's time) and the prototype head (nearest class mean: training is most of the time).
@pytest.mark.parametrize("head,batch", [("linear", 1), ("linear", BATCH), ("prototype", 1), ("prototype", BATCH)])
def test_tuning_trials_per_second(benchmark, setting, head, batch):
    registry, data = setting
    cell = tuned_cell(registry, batch, head)
    splits, _ = tuning.validation_plan(cell, data, registry)
    hashes: dict = {}

    def scorer(trial_cell):
        run = evaluation._CellRun(trial_cell, data, registry, None, hashes, judge=False)
        return lambda split: run.evaluate(split).uar

    def together(trial_cells):
        from ser_bench.running.trial_batches import score_together

        runs = [evaluation._CellRun(c, data, registry, None, hashes, judge=False) for c in trial_cells]
        return lambda split, which: score_together([runs[i] for i in which], split)

    scorer(cell)(splits[0])  # imports and first-call costs out of the rounds

    def once():
        return tuning.tune(cell, data, registry, splits, evaluate_split=scorer, evaluate_together=together)

    record = benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    assert len(record["history"]) == TRIALS
    rates[head, batch] = TRIALS / benchmark.stats.stats.median
    benchmark.extra_info["trials_per_second"] = round(rates[head, batch], 2)
    if batch > 1 and (head, 1) in rates:
        ratio = rates[head, batch] / rates[head, 1]
        benchmark.extra_info["speedup_over_one_at_a_time"] = round(ratio, 2)
        print(f"\ntuning {TRIALS} trials, head {head}: one at a time {rates[head, 1]:.2f} trials/s, batches of "
              f"{batch} {rates[head, batch]:.2f} trials/s (medians of {ROUNDS} rounds): {ratio:.1f}x")
