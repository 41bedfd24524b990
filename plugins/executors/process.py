"""process: a pool of worker processes, one per core; each worker trains with one thread.

One thread per worker because the networks are small: parallelism across cells beats parallelism
inside one tiny matrix product, and it keeps N workers from fighting over N cores.
"""
from __future__ import annotations

import os

from ser_bench import hookimpl
from ser_bench.types import ExecutorSpec


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


class ProcessExecutor:
    """``concurrent.futures`` process pool (spawned workers, so no state is inherited by accident)."""

    def __init__(self, workers=None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def map_unordered(self, fn, items):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        items = list(items)
        if not items:
            return
        self._pool = ProcessPoolExecutor(min(self.workers, len(items)), mp_context=mp.get_context("spawn"),
                                         initializer=_init_worker)
        futures = {self._pool.submit(fn, item): item for item in items}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="process", build=ProcessExecutor,
                         summary="a process per core on this machine (the default)")]
