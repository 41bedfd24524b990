"""ser-bench reproduce on tiny simulated corpora: outputs, shared pre-trained models, statistics across
source seeds, resume after kill -9, and identical results across executors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import FAST_TRAINING

ARGS = ["-q", "reproduce", "feng2020", "--source", "sim-crema", "--target", "sim-ravdess", "--k", "1,2",
        "--repeats", "2", "--frozen", "0,1", "--baselines", "logreg",
        *[a for k, v in FAST_TRAINING.items() for a in ("--train-param", f"{k}={v}")],
        "--dataset-param", "sim-ravdess.speakers=4", "--dataset-param", "sim-crema.speakers=4"]
# per seed: the paper's oodt, idt, fewshot x {bce, ratio} x k in {1, 2}; logreg x {train, speaker} x (oodt, idt,
# fewshot x k in {1, 2} x {k speakers' support, + source clips})
CELLS = 1 + 1 + 2 * 2 + 2 * (1 + 1 + 2 * 2)


def reproduce(tmp_path, cache_dir, results, *extra, wait=True):
    cmd = [sys.executable, "-m", "ser_bench.cli", *ARGS, "--results", str(results), "--cache-dir", str(cache_dir), *extra]
    if not wait:
        return subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_reproduce_writes_table_figure_and_paired_test(tmp_path, cache_dir, tiny_corpora):
    results = tmp_path / "out"
    proc = reproduce(tmp_path, cache_dir, results, "--seed", "0,1")
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in results.iterdir())
    assert {"LEADERBOARD.md", "figure2.png", "figure2.svg", "paired.json", "ranks.png", "ranks.svg"} <= set(files)
    for seed in (0, 1):
        assert len(list(results.glob(f"*__seed{seed}__*.json"))) == CELLS
    cells = [json.loads(p.read_text()) for p in results.glob("*__seed*__*.json")]
    board = (results / "LEADERBOARD.md").read_text()
    assert "Table 1: target sim-ravdess" in board and "29.3 (real crema)" in board and "43.4 (real crema)" in board
    assert "| OODT · logreg (normalise=speaker) " in board and "best (diagnostic)" in board and "(k=" in board
    assert "n = 2 source seeds" in board and "n = 4 held-out speakers" in board
    (paired,) = json.loads((results / "paired.json").read_text())
    assert paired["n"] == 2 and paired["unit"] == "source seeds" and set(paired["per_seed"]) == {"0", "1"}
    assert "p (Holm)" in board and "## Average ranks across settings" in board
    # The paper's methods use its sum rule; every fine-tuning cell starts from the OODT model trained once
    # and read from the disk cache.
    assert {c["params"]["decision"] for c in cells if c["params"]["loss"] in ("bce_pair", "ratio_distance")} == {"sum"}
    fewshot = [c for c in cells if c["params"]["protocol"] == "fewshot" and c["params"]["loss"] != "logreg"]
    assert all(c["timings"]["models_from_cache"] == 1 for c in fewshot)
    assert (results / "figure2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # --report-only: the report from the results as they are (one of an older schema, two missing), computing
    # nothing, and the missing cells named.
    files = sorted(results.glob("*__seed*__*.json"))
    for gone in files[:2]:
        gone.unlink()
    older = json.loads(files[2].read_text())
    files[2].write_text(json.dumps({**older, "schema_version": 2}))
    (results / "LEADERBOARD.md").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in results.glob("*__seed*__*.json")}  # paired.json is a report
    only = reproduce(tmp_path, cache_dir, results, "--seed", "0,1", "--report-only")
    assert only.returncode == 1 and f"2 of {2 * CELLS} cells missing" in only.stderr
    assert files[0].stem in only.stderr and (results / "LEADERBOARD.md").exists()
    assert {p.name: p.stat().st_mtime_ns for p in results.glob("*__seed*__*.json")} == before


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing(tmp_path, cache_dir, tiny_corpora):
    results = tmp_path / "out"
    proc = reproduce(tmp_path, cache_dir, results, "--executor", "serial", "--seed", "0", wait=False)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(results.glob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in results.glob("*.json")}
    assert 2 <= len(before) < CELLS
    for path in results.glob("*.json"):
        json.loads(path.read_text())  # nothing half-written is visible
    done = reproduce(tmp_path, cache_dir, results, "--executor", "serial", "--seed", "0")
    assert done.returncode == 0, done.stderr
    assert f"{CELLS - len(before)} cells run, {len(before)} already" in done.stderr
    after = {p.name: p.stat().st_mtime_ns for p in results.glob("*.json") if p.name in before}
    assert after == before


def _uars(folder):
    return {json.loads(p.read_text())["cell_id"]: [s["metrics"]["uar"] for s in json.loads(p.read_text())["splits"]]
            for p in folder.glob("*__seed0__*.json")}


@pytest.mark.slow
def test_process_and_ray_executors_give_identical_results(tmp_path, cache_dir, tiny_corpora):
    pytest.importorskip("ray")
    for executor in ("process", "ray"):
        proc = reproduce(tmp_path, cache_dir, tmp_path / executor, "--executor", executor, "--workers", "2", "--seed", "0")
        assert proc.returncode == 0, proc.stderr
    assert _uars(tmp_path / "process") == _uars(tmp_path / "ray") and len(_uars(tmp_path / "ray")) == CELLS
