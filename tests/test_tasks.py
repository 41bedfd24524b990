"""Cells cut into parts (folds, episodes as executor tasks): the same result as the whole cell, and a
small grid keeps every worker busy."""
from __future__ import annotations

import os

import pytest

from ser_bench.running.evaluation import evaluate_cell
from ser_bench.running.corpora import prepare_corpus
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run
from ser_bench.running.tasks import merge_parts, part_filter, plan_parts

from .conftest import FAST_TRAINING, TINY

FEWSHOT = {"k": [1, 2], "repeats": 2, "frozen": [0, 1]}


def cells_of(registry, protocols, losses=("bce_pair",)):
    base = {"training": FAST_TRAINING, "dataset_params": TINY, "protocol_params": {"fewshot": FEWSHOT}}
    return expand(Grid(protocols=list(protocols), losses=list(losses), targets=["sim-ravdess"],
                       sources=["sim-crema"], base=base), registry)


def corpora_of(cell, registry, ctx):
    return {role: prepare_corpus(getattr(cell, role), cell.feature, cell.labels,
                                 cell.dataset_params[getattr(cell, role)], registry, ctx)
            for role in ("target", "source") if getattr(cell, role)}


@pytest.mark.parametrize("protocol,loss", [("idt", "bce_pair"), ("fewshot", "cross_entropy"),
                                           ("fewshot", "ratio_distance")])
@pytest.mark.parametrize("parts", [2, 3])
def test_a_cell_in_parts_gives_the_whole_cells_result(registry, ctx, tiny_corpora, protocol, loss, parts):
    cell = cells_of(registry, [protocol], [loss])[0]
    data = {role: (c.manifest, c.features) for role, c in corpora_of(cell, registry, ctx).items()}
    whole = evaluate_cell(cell, data, registry)
    bodies = {p: evaluate_cell(cell, data, registry, split_filter=part_filter(p, parts)) for p in range(parts)}
    merged = merge_parts(bodies)
    assert [s.name for s in merged.splits] == [s.name for s in whole.splits]
    assert merged.splits == whole.splits
    assert merged.summary == whole.summary
    assert merged.timings["parts"] == parts
    assert merged.timings["train"] == pytest.approx(sum(b.timings["train"] for b in bodies.values()))


def test_parts_fill_the_workers_only_for_a_small_grid(registry, ctx, tiny_corpora):
    idt, fewshot = cells_of(registry, ["idt", "fewshot"])
    roles = {c.cell_id(): corpora_of(c, registry, ctx) for c in (idt, fewshot)}
    of = lambda c: roles[c.cell_id()]  # noqa: E731
    assert plan_parts([idt], of, registry, slots=1) == {idt.cell_id(): 1}
    assert plan_parts([idt, fewshot], of, registry, slots=2) == {idt.cell_id(): 1, fewshot.cell_id(): 1}
    assert plan_parts([idt], of, registry, slots=3) == {idt.cell_id(): 3}
    # never more parts than splits: 4 speakers, 4 folds
    assert plan_parts([idt], of, registry, slots=16) == {idt.cell_id(): 4}
    assert plan_parts([idt, fewshot], of, registry, slots=4) == {idt.cell_id(): 2, fewshot.cell_id(): 2}


@pytest.mark.slow
def test_one_idt_cell_runs_as_parts_on_the_process_executor(registry, ctx, tiny_corpora, tmp_path):
    cells = cells_of(registry, ["idt"], ["cross_entropy"])
    serial = run(cells, registry, ctx, tmp_path / "serial", executor="serial", cache_models=False).ran[0]
    process = run(cells, registry, ctx, tmp_path / "process", executor="process", cache_models=False).ran[0]
    assert ctx.workers == 2 and process.timings["parts"] == 2 and "parts" not in serial.timings
    assert [s.name for s in process.splits] == [s.name for s in serial.splits]
    assert [s.metrics for s in process.splits] == [s.metrics for s in serial.splits]
    assert process.summary == serial.summary


class TwoSlots:
    """An in-process executor that claims two workers, so the runner cuts a lone cell into parts."""

    workers = 2

    def __init__(self, **_):
        pass

    def map_unordered(self, fn, items):
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:
                yield item, exc

    def close(self):
        pass


@pytest.fixture()
def two_slots(registry, monkeypatch):
    from ser_bench.plugin_api.registry import Entry
    from ser_bench.plugin_api.types import ExecutorSpec

    spec = ExecutorSpec(name="two-slots", build=TwoSlots, summary="tests: two slots in this process")
    monkeypatch.setitem(registry._entries["executors"], "two-slots", Entry("executors", spec, "tests", "tests", "0"))
    return "two-slots"


def test_a_failing_part_fails_its_cell_once_and_not_the_others(registry, ctx, tiny_corpora, tmp_path, monkeypatch,
                                                               two_slots):
    from ser_bench.running import evaluation

    real = evaluation.evaluate_cell

    def second_part_breaks(cell, data, reg, split_filter=None, **kwargs):
        if split_filter is not None and split_filter(range(4))[0] == 1:
            raise RuntimeError("part 1 broke")
        return real(cell, data, reg, split_filter=split_filter, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_cell", second_part_breaks)
    report = run(cells_of(registry, ["idt"]), registry, ctx, tmp_path, executor=two_slots, cache_models=False)
    assert len(report.failed) == 1 and "part 1 broke" in str(report.failed[0][1])
    assert not report.ran and not list(tmp_path.glob("*.json"))
    monkeypatch.setattr(evaluation, "evaluate_cell", real)
    again = run(cells_of(registry, ["idt"]), registry, ctx, tmp_path, executor=two_slots, cache_models=False)
    assert len(again.ran) == 1 and again.ran[0].timings["parts"] == 2 and len(again.ran[0].splits) == 4


def test_the_pool_starts_before_the_corpora_are_prepared_only_when_work_is_certain(registry, ctx, tiny_corpora,
                                                                                 tmp_path, monkeypatch):
    """Workers import torch while the parent reads features; a run whose results are all stored starts none."""
    from ser_bench.plugin_api.registry import Entry
    from ser_bench.plugin_api.types import ExecutorSpec
    from ser_bench.running import runner

    events = []

    class Starting(TwoSlots):
        def start(self, items=None):
            events.append("start")

    real_prepare = runner.prepare_all

    def prepare(*args, **kwargs):
        events.append("prepare")
        return real_prepare(*args, **kwargs)

    spec = ExecutorSpec(name="starting", build=Starting, summary="tests: says when it is started")
    monkeypatch.setitem(registry._entries["executors"], "starting", Entry("executors", spec, "tests", "tests", "0"))
    monkeypatch.setattr(runner, "prepare_all", prepare)
    report = run(cells_of(registry, ["idt"]), registry, ctx, tmp_path, executor="starting", cache_models=False)
    assert len(report.ran) == 1 and events == ["start", "prepare"]
    events.clear()
    again = run(cells_of(registry, ["idt"]), registry, ctx, tmp_path, executor="starting", cache_models=False)
    assert len(again.already_done) == 1 and events == ["prepare"]  # stored: maybe nothing to do, no workers


def test_every_executor_scores_with_one_blas_thread(registry, ctx, tiny_corpora, tmp_path, monkeypatch):
    """numpy/scipy/scikit-learn's BLAS and OpenMP pools are at one thread during a task in the serial
    executor's own process, as in a process worker: with more, a solver sums in another order and the
    serial executor's numbers differ from the others'. The caller's setting is back afterwards."""
    from threadpoolctl import threadpool_info

    from ser_bench.running import evaluation

    real = evaluation.evaluate_cell
    seen = []

    def recording(*args, **kwargs):
        seen.extend(pool["num_threads"] for pool in threadpool_info())
        return real(*args, **kwargs)

    def threads() -> dict:
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}

    before = threads()
    monkeypatch.setattr(evaluation, "evaluate_cell", recording)
    report = run(cells_of(registry, ["idt"]), registry, ctx, tmp_path, executor="serial", cache_models=False)
    assert len(report.ran) == 1 and seen and set(seen) == {1}
    after = threads()
    assert {path: after[path] for path in before} == before


def _register_marker(path: str) -> int:
    """A task that leaves an atexit handler behind (as a plugin might): it writes ``path`` at exit."""
    import atexit
    import os
    from pathlib import Path

    atexit.register(lambda: Path(path).write_text("ran"))
    return os.getpid()


def test_a_process_worker_leaves_cleanly_and_runs_the_atexit_handlers_of_its_tasks(tmp_path):
    """Workers skip the interpreter's teardown when the pool stops them (the parent would wait most of a
    second for torch to unload), yet end with status 0, after the atexit handlers their tasks left."""
    from ser_bench_plugins.executors.process import ProcessExecutor

    executor = ProcessExecutor(workers=1)
    marker = tmp_path / "marker"
    [(_, pid)] = list(executor.map_unordered(_register_marker, [str(marker)]))
    processes = list(executor._pool._processes.values())
    assert [p.pid for p in processes] == [pid]
    # The pool's own thread joins its workers after close(). A second thread polling the same worker
    # races it: a forkserver worker's status is read once from a pipe, and the loser of that race reads
    # end-of-file and records 255. So wait for that thread, which leaves the status recorded.
    manager = executor._pool._executor_manager_thread
    executor.close()
    manager.join(timeout=60)
    assert not manager.is_alive()
    assert processes[0].exitcode == 0
    assert marker.read_text() == "ran"


def test_a_pool_closed_without_waiting_is_joined_before_the_interpreter_wakes_its_manager_at_exit():
    """Python 3.11's exit handler for process pools writes to each manager's wake-up pipe while that manager
    may be closing it, and prints a Bad file descriptor traceback after a good run. A pool closed without
    waiting has its manager put where a threading exit callback, run before that handler, joins it:
    afterwards the manager is done and its pipe closed, so the handler writes nothing."""
    import threading

    from ser_bench_plugins.executors import process

    executor = process.ProcessExecutor(workers=1)
    [(_, value)] = list(executor.map_unordered(abs, [-3]))
    pool = executor._pool
    manager, wakeup = pool._executor_manager_thread, pool._executor_manager_thread_wakeup
    executor.close()
    assert value == 3 and manager in process._closed_managers
    # threading runs its exit callbacks newest first: ours after every concurrent.futures one in the list
    names = [getattr(f, "func", f).__name__ for f in threading._threading_atexits]
    assert names.index("_join_closed_pools") > max(i for i, n in enumerate(names) if n == "_python_exit")
    process._join_closed_pools()
    assert process._closed_managers == [] and not manager.is_alive() and wakeup._closed


def _environment_and_modules(name: str) -> tuple:
    import sys

    return os.environ.get(name), "torch" in sys.modules, os.environ.get("OMP_NUM_THREADS")


@pytest.mark.skipif("forkserver" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no fork server on this platform: workers are spawned")
def test_process_workers_start_with_torch_imported_and_the_runs_environment(monkeypatch):
    """Workers fork from a server that imported torch before the run asked for them, yet take the
    environment as it is when their pool starts (not the server's, from when it started), as spawned
    workers would."""
    from ser_bench_plugins.executors.process import ProcessExecutor

    monkeypatch.delenv("SER_BENCH_PROBE", raising=False)
    first = ProcessExecutor(workers=1)
    try:
        [(_, before)] = list(first.map_unordered(_environment_and_modules, ["SER_BENCH_PROBE"]))
    finally:
        first.close()
    monkeypatch.setenv("SER_BENCH_PROBE", "set after the server started")
    second = ProcessExecutor(workers=1)
    try:
        [(_, after)] = list(second.map_unordered(_environment_and_modules, ["SER_BENCH_PROBE"]))
    finally:
        second.close()
    assert before[0] is None and after[0] == "set after the server started"
    assert before[1] and after[1]  # torch was there before the task imported anything
    assert after[2] == os.environ.get("OMP_NUM_THREADS", "1")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux /proc")
def test_the_fork_servers_imports_start_no_thread():
    """The process executor's fork server forks workers after importing its preload: a thread running in
    it then (a library's background thread) could hold a lock that no forked worker would ever see
    released. Run in a fresh interpreter, as the server is."""
    import subprocess
    import sys

    code = ("import os, ser_bench.processes.worker_preload; "
            "print(sorted(open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['python']", done.stdout
