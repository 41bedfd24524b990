"""What a tuning trial costs beyond training its models: Optuna's sampler and pruner, the journal, and
rebuilding the cell for each trial's settings. Target (issue 10): under 10 % of the training time.

Run: ``.venv/bin/python -m pytest benchmarks/test_tuning_overhead.py --benchmark-only --benchmark-enable``.
The overhead fractions are in each benchmark's ``extra_info`` (shown with ``--benchmark-json``) and
printed; quote the median over rounds.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch

from ser_bench.running import evaluation

from ser_bench.running import tuning
from ser_bench.running.cells import Cell, resolve
from ser_bench.plugin_api.manager import PluginSettings, load_registry

LABELS = ("anger", "happiness", "sadness", "fear")


@pytest.fixture(scope="module")
def setting():
    """An in-domain corpus of 12 speakers x 32 clips, 64 features with a class signal (no audio needed)."""
    rng = np.random.default_rng(0)
    rows = [(f"s{s:02d}", LABELS[i % 4]) for s in range(12) for i in range(32)]
    manifest = pd.DataFrame(rows, columns=["speaker", "emotion"])
    x = rng.normal(size=(len(rows), 64)).astype("float32")
    x[:, :4] += 1.5 * np.eye(4, dtype="float32")[[LABELS.index(e) for e in manifest["emotion"]]]
    registry = load_registry(PluginSettings.from_env())
    cell = resolve(Cell(protocol="idt", loss="ratio_distance", target="sim-ravdess",  # a name; data below
                        tuning={"trials": 6, "validation_speakers": 4,
                                "search": {"training.epochs": "20..60:step=10"}}), registry)
    return cell, {"target": (manifest, x)}, registry


@pytest.mark.parametrize("journal", [False, True])
def test_tuning_trial_overhead_beyond_training(benchmark, setting, tmp_path, journal):
    cell, data, registry = setting
    torch.set_num_threads(1)
    splits, _ = tuning.validation_plan(cell, data, registry)
    fractions = []

    def once():
        spent = {"evaluate": 0.0, "fit": 0.0}

        def scorer(trial_cell):
            run = evaluation._CellRun(trial_cell, data, registry, None, {})

            def score(split):
                start = time.perf_counter()
                before = run.timings["train"] + run.timings["finetune"]
                uar = run.evaluate(split).uar
                spent["evaluate"] += time.perf_counter() - start
                spent["fit"] += run.timings["train"] + run.timings["finetune"] - before
                return uar
            return score

        store = tmp_path / f"journal-{len(fractions)}" if journal else None
        record = tuning.tune(cell, data, registry, splits, store=store, evaluate_split=scorer)
        fractions.append({"beyond_evaluation": record["seconds"] / spent["evaluate"] - 1,
                          "beyond_training": record["seconds"] / spent["fit"] - 1})
        return record

    benchmark.pedantic(once, rounds=3, iterations=1)
    median = {k: float(np.median([f[k] for f in fractions])) for k in fractions[0]}
    benchmark.extra_info.update(median)
    print(f"\ntuning overhead (journal={journal}), median of {len(fractions)} rounds: "
          f"{100 * median['beyond_evaluation']:.1f} % beyond evaluating the splits (training and scoring), "
          f"{100 * median['beyond_training']:.1f} % beyond training alone")
