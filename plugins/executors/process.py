"""process: a pool of worker processes, one per core; each worker trains with one thread.

Workers are forked from a fork server (``multiprocessing``'s ``forkserver``, where the platform has one)
that imports torch while the run prepares its corpora, so a worker starts its first task in
milliseconds instead of importing it itself; elsewhere they are spawned. Either way a worker inherits
no state of the run's process: the server is a fresh interpreter that has only imported libraries
(:mod:`ser_bench.processes.worker_preload`), and each worker takes the run's environment variables
as they are when the pool starts, and its ``sys.path`` and working directory as they are when the
worker starts.

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
from ser_bench.plugin_kit.helpers import signals_deferred, start_worker, stop_workers
from ser_bench.plugin_api.types import ExecutorSpec


PRELOAD = ["ser_bench.processes.worker_preload"]


def _init_worker(parent_pid: int, environ: dict) -> None:
    start_worker(parent_pid)  # watches the parent first, so a parent killed while torch loads is noticed
    # A forked worker has the fork server's environment, the run's when the server started: take the
    # run's as it is now, as a spawned worker would.
    os.environ.clear()
    os.environ.update(environ)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def cannot_start(exc: OSError):
    """The :class:`~ser_bench.errors.SerBenchError` for a pool that could not be created."""
    from ser_bench.errors import SerBenchError

    return SerBenchError(f"cannot start worker processes ({exc.strerror or exc}): their locks live in shared "
                         "memory (/dev/shm), which is full or refused by a limit (ulimit -f). Free space there, "
                         "lift the limit, or run in this process with --executor serial; finished cells are kept.")


def _ready() -> None:
    """A no-op task: submitting one per worker makes the pool spawn its processes now."""


def _context():
    """The multiprocessing context workers start in: ``forkserver`` preloading :data:`PRELOAD` where the
    platform has it (Linux, macOS), else ``spawn``."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect on a server already running: it has imported less
    return context


class ProcessExecutor:
    """``concurrent.futures`` process pool (workers forked from a fork server or spawned, so no state is
    inherited by accident).

    The pool lives from :meth:`start` (or the first :meth:`map_unordered`) to :meth:`close`, so the
    workers import torch once per run, not once per batch of items.
    """

    def __init__(self, workers=None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = None
        self._futures: list = []  # everything submitted to the pool: close() waits only if all are done

    def start(self, items: int | None = None) -> None:
        """Get the workers (at most ``items`` of them) going without waiting for them: importing torch
        takes seconds, which the caller can spend preparing the work. With a fork server, the server
        starts importing now and the workers are forked from it when the first items are submitted
        (forking blocks until its imports are done, so it is not done here); spawned workers start now."""
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is not None:
            return
        n = max(1, min(self.workers, items or self.workers))
        context = _context()
        try:
            self._pool = ProcessPoolExecutor(n, mp_context=context, initializer=_init_worker,
                                             initargs=(os.getpid(), dict(os.environ)))
            if context.get_start_method() == "forkserver":
                from multiprocessing import forkserver

                with signals_deferred():  # the server's interpreter starts: see signals_deferred
                    forkserver.ensure_running()
                return
        except OSError as exc:  # the pool's semaphores live in /dev/shm: full, or a file-size limit
            raise cannot_start(exc) from None
        with signals_deferred():  # submitting starts workers: see signals_deferred
            for _ in range(n):  # a spawn pool starts a process per submitted item while none is idle
                self._futures.append(self._pool.submit(_ready))

    def map_unordered(self, fn, items):
        """Yield ``(item, result or exception)`` as each item finishes; stopped early (an exception
        in the caller, Ctrl-C, SIGTERM, the generator closed), the workers are stopped at once."""
        from concurrent.futures import as_completed

        items = list(items)
        if not items:
            return
        self.start(len(items))
        with signals_deferred():  # the first submissions fork the workers: see signals_deferred
            futures = {self._pool.submit(fn, item): item for item in items}
        self._futures += list(futures)
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())
        except BaseException:
            # Waiting for the cells in progress could take minutes after a SIGTERM, and their results
            # would not be written anyway.
            self.close()
            raise

    def close(self) -> None:
        """Stop the pool: idle workers exit cleanly (without being waited for); items still running are
        abandoned, their workers stopped at once (a finished map leaves none)."""
        pool, self._pool = self._pool, None
        futures, self._futures = self._futures, []
        if pool is None:
            return
        if all(f.done() for f in futures):
            # Idle workers have their stop sentinel and exit by themselves; waiting for them to tear torch
            # down (about 0.4 s) would only delay the leaderboard. They are joined before the interpreter
            # begins its exit (see _join_at_exit).
            manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() lets go of it
            pool.shutdown(wait=False)
            _join_at_exit(manager)
            return
        stop_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)


_closed_managers: list = []


def _join_at_exit(manager) -> None:
    """Have the manager thread of a pool shut down without waiting joined before ``concurrent.futures``
    wakes the managers at exit. Python 3.11's exit handler writes to each manager's wake-up pipe while the
    manager may be closing it, and prints an ``OSError: [Errno 9] Bad file descriptor`` traceback after a
    run that went well (CPython gh-125451, fixed in later releases). Threading's exit callbacks run newest
    first, so one registered here runs before that handler: the managers are done, their pipes closed."""
    import threading

    register = getattr(threading, "_register_atexit", None)  # where concurrent.futures registers its own
    if manager is None or register is None:
        return
    if not _closed_managers:
        register(_join_closed_pools)
    _closed_managers.append(manager)


def _join_closed_pools() -> None:
    while _closed_managers:
        _closed_managers.pop().join()


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="process", build=ProcessExecutor,
                         summary="a process per core on this machine (the default)")]
