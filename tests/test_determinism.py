"""Same seed, same numbers: every registered loss (baselines included) evaluated twice, each time in a
fresh Python process, gives bit-identical per-split results.

A fresh process is the point: a draw taken from global random state that the cell's seed does not set
(a module built before seeding, a generator seeded from the clock, hash randomisation) differs between
processes and not within one. Both repetitions share the corpus and feature cache (made by the first),
never the model cache: every model is trained twice.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import FAST_TRAINING, TINY

# Evaluates every loss on an oodt and a few-shot cell each (training from scratch, and fine-tuning on
# drawn episodes), serially, and prints their per-split results as JSON.
# Floats go through JSON as repr, so equal text means equal bits.
SCRIPT = """
import json, sys
from pathlib import Path
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run

cache, results, base = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
registry = load_registry(PluginSettings(entry_points=False))
# pml wraps any pytorch-metric-learning loss; ArcFace holds weights of its own, drawn when it is built.
losses = [{"pml": "pml:ArcFaceLoss"}.get(e.spec.name, e.spec.name) for e in registry.entries("losses")]
cells = expand(Grid(protocols=["oodt", "fewshot"], losses=losses, targets=["sim-ravdess"], sources=["sim-crema"],
                    base=base), registry)
ctx = RunContext(data_dirs=[], cache_dir=cache, workers=1)
report = run(cells, registry, ctx, results, executor="serial", cache_models=False)
failed = {cell.cell_id(): repr(exc) for cell, exc in report.failed}
print(json.dumps({"losses": losses, "failed": failed,
                  "splits": {r.cell_id.split("__seed")[0]: [s.to_json() for s in r.splits] for r in report.ran}}))
"""

# Wall-clock and bookkeeping fields of a split; everything else must repeat exactly.
NOT_RESULTS = {"timings", "seconds", "fit_seconds", "score_seconds", "created"}


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in NOT_RESULTS and "time" not in k}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def evaluate_every_loss(cache, results) -> dict:
    base = {"training": FAST_TRAINING, "dataset_params": TINY,
            "protocol_params": {"fewshot": {"k": [1], "repeats": 2, "frozen": [0, 1]}}}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(cache), str(results), json.dumps(base)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_loss_repeats_bit_for_bit_in_a_fresh_process(tmp_path):
    first = evaluate_every_loss(tmp_path / "cache", tmp_path / "first")
    second = evaluate_every_loss(tmp_path / "cache", tmp_path / "second")
    assert not first["failed"] and not second["failed"], (first["failed"], second["failed"])
    assert len(first["splits"]) == 2 * len(first["losses"]), "a loss ran no cell"
    assert sorted(first["splits"]) == sorted(second["splits"])
    differing = [cell for cell in sorted(first["splits"])
                 if strip(first["splits"][cell]) != strip(second["splits"][cell])]
    assert not differing, f"not reproducible from the cell seed: {differing}"
