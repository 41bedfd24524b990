"""Case 7: two runs on one results folder never compute a cell twice (a per-cell filelock); a lock left
by a killed run blocks nobody; lock files are never read as results."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

from ser_bench.running import evaluation
from ser_bench.results.store import LOCKS, CellLocks, scan_results

from .conftest import idt_cells, make_ctx, run_idt


def test_two_identical_runs_compute_each_cell_once(registry, clean_tree, cache_dir, tmp_path, monkeypatch):
    real_evaluate, real_try = evaluation.evaluate_cell, CellLocks.try_acquire
    computed, tried = [], threading.Event()

    def slow(cell, *args, **kwargs):
        computed.append(cell.cell_id())
        tried.wait(30)  # still computing when the other run reaches the cell
        return real_evaluate(cell, *args, **kwargs)

    def try_acquire(self, cell_id):
        got = real_try(self, cell_id)
        if not got:
            tried.set()
        return got

    monkeypatch.setattr(evaluation, "evaluate_cell", slow)
    monkeypatch.setattr(CellLocks, "try_acquire", try_acquire)
    results = tmp_path / "results"
    reports = []

    def one_run():
        reports.append(run_idt(registry, make_ctx(clean_tree, cache_dir), results))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(computed) == 1 and len(reports) == 2
    first, second = sorted(reports, key=lambda r: -len(r.ran))
    assert len(first.ran) == 1 and not second.ran
    assert len(second.waited) == 1 and len(second.already_done) == 1
    assert len(list(results.glob("*.json"))) == 1 and not scan_results(results).problems


def test_a_lock_left_by_a_killed_run_blocks_nobody(registry, clean_tree, cache_dir, tmp_path):
    results = tmp_path / "results"
    (cell,) = idt_cells(registry)
    lock = results / LOCKS / f"{cell.cell_id()}.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, filelock\n"
                               f"filelock.FileLock({str(lock)!r}).acquire()\nprint('held', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)  # kill -9 while holding the lock
    holder.wait(10)
    assert lock.exists()
    done = []
    worker = threading.Thread(target=lambda: done.append(run_idt(registry, make_ctx(clean_tree, cache_dir), results)))
    worker.start()
    worker.join(30)
    assert done and len(done[0].ran) == 1, "the run waited on a dead run's lock"
    assert json.loads((results / f"{cell.cell_id()}.json").read_text())["status"] == "ok"


def test_lock_files_are_not_results_and_stay_out_of_git(registry, clean_tree, cache_dir, tmp_path):
    results = tmp_path / "results"
    run_idt(registry, make_ctx(clean_tree, cache_dir), results)
    locks = list((results / LOCKS).glob("*.lock"))
    assert locks and (results / LOCKS / ".gitignore").read_text().strip() == "*"
    scan = scan_results(results)
    assert len(scan.results) == 1 and not scan.problems
