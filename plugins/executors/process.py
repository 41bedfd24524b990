"""process: a pool of worker processes, one per core; each worker trains with one thread.

One thread per worker because the networks are small: parallelism across cells beats parallelism
inside one tiny matrix product, and it keeps N workers from fighting over N cores.

Workers never outlive the run. Each watches its parent and exits as soon as the parent is gone,
even after ``kill -9`` (which leaves the parent no chance to clean up); when the run stops early
(Ctrl-C, SIGTERM, an error) the cells in progress are abandoned and the workers stopped at once
rather than waited for.
"""
from __future__ import annotations

import os

from ser_bench import hookimpl
from ser_bench.plugin_api.workers import exit_with_parent, stop_workers
from ser_bench.plugin_api.types import ExecutorSpec


def _init_worker(parent_pid: int) -> None:
    exit_with_parent(parent_pid)  # first, so a parent killed while torch loads is noticed
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


class ProcessExecutor:
    """``concurrent.futures`` process pool (spawned workers, so no state is inherited by accident)."""

    def __init__(self, workers=None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def map_unordered(self, fn, items):
        """Yield ``(item, result or exception)`` as each item finishes; stopped early (an exception
        in the caller, Ctrl-C, SIGTERM, the generator closed), the workers are stopped at once."""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        items = list(items)
        if not items:
            return
        pool = self._pool = ProcessPoolExecutor(min(self.workers, len(items)), mp_context=mp.get_context("spawn"),
                                                initializer=_init_worker, initargs=(os.getpid(),))
        futures = {pool.submit(fn, item): item for item in items}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())
        except BaseException:
            # Waiting for the cells in progress could take minutes after a SIGTERM, and their results
            # would not be written anyway.
            stop_workers(pool)
            raise
        finally:
            self._pool = None
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Stop the pool; cells still running are abandoned (a finished map has nothing left)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            stop_workers(pool)
            pool.shutdown(wait=False, cancel_futures=True)


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="process", build=ProcessExecutor,
                         summary="a process per core on this machine (the default)")]
