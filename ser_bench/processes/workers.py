"""Worker processes that never outlive the process that started them.

Shared by the process executor and the feature-extraction pool: each worker watches its parent and
exits as soon as the parent is gone, even after ``kill -9``; a pool stopped early is terminated, not
waited for; and a worker the pool stops leaves without tearing its interpreter down (:func:`exit_quickly`).
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager


def exit_with_parent(parent_pid: int | None = None, poll: float = 0.5) -> None:
    """In a worker process: start a daemon thread that ends this process when its parent dies.

    It waits on ``multiprocessing.parent_process().sentinel``, which the operating system makes
    ready when the parent is gone (the end of a pipe only the parent holds on POSIX, the parent's
    process handle on Windows), so it works after ``kill -9`` and costs nothing while waiting. Outside
    a multiprocessing child it polls whether ``parent_pid`` is still this process's parent instead.
    A parent that died before this call is noticed at once.
    """
    import multiprocessing as mp

    parent = mp.parent_process()

    def watch() -> None:
        if parent is not None:
            from multiprocessing.connection import wait

            wait([parent.sentinel])
        else:
            while os.getppid() == parent_pid:
                time.sleep(poll)
        os._exit(1)  # no cleanup: the parent that would receive our results is gone

    if parent is not None or parent_pid is not None:
        threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def exit_quickly() -> None:
    """In a worker process: when the interpreter exits (the pool has told the worker to stop), leave with
    ``os._exit(0)`` instead of unloading every module (torch, scipy, pandas: most of a second, which the
    parent waits for before it can go on or end; measured 0.8 s at the end of a run, 0.18 s after a
    feature extraction). Atexit handlers registered after this call (by the worker's tasks) still run
    first; every task has returned by then, and what a task writes is written before it returns.

    A worker forked from a fork server (the process executor's, see ``plugins/executors/process.py``)
    leaves with ``os._exit`` by itself once its last task is done, which runs no atexit handler; so the
    handlers are run from multiprocessing's own exit step (its finalizers, run in every start method
    when the worker's loop ends), and a task's atexit handler runs however its worker was started."""
    import atexit
    from multiprocessing import util

    atexit.register(_exit_now)
    util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)


def _exit_now() -> None:
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


def start_worker(parent_pid: int) -> None:
    """A pool's ``initializer``: :func:`exit_with_parent` (first, so a parent killed while the worker
    imports is noticed) and :func:`exit_quickly`. The worker ignores Ctrl-C (SIGINT), which the terminal
    sends to every process of the run: the run handles it and stops its workers, and a worker
    interrupted mid-task would only print a traceback ("Exception ignored ... KeyboardInterrupt").
    Its warnings print as the command line's do, one ``ser-bench: warning:`` line each
    (:func:`~ser_bench.errors.warnings_on_one_line`): they reach the same terminal."""
    import signal

    from ser_bench.errors import warnings_on_one_line

    exit_with_parent(parent_pid)
    warnings_on_one_line()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_quickly()


def stop_workers(pool) -> None:
    """Terminate the processes of a ``ProcessPoolExecutor`` now, abandoning the items they run."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    # Reap them before the pool releases its queues and their semaphores: a worker still starting up
    # when those go would fail to find them and print a traceback. SIGTERM ends a worker at once.
    for process in processes:
        process.join(timeout=2)


@contextmanager
def signals_deferred(signals=("SIGINT", "SIGTERM")):
    """Hold Ctrl-C (SIGINT) and SIGTERM while the block runs, then deliver them to the handlers they had.

    Around starting pool workers: a ``KeyboardInterrupt`` raised inside ``Process.start()`` leaves a
    worker forked but never recorded by its pool, so stopping the pool cannot stop it; it then waits on
    the pool's queue for ever, and the interpreter waits for it at exit (a run that hangs after Ctrl-C).
    Starting a worker takes milliseconds, so the signal is late by as much. Outside the main thread
    (where handlers cannot be set) the block runs as it is.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = {}
    for name in signals:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, lambda signum, _frame: caught.append(signum))
    # Ctrl-C reaches the whole process group, new workers too: one still starting its interpreter (before its
    # initializer ignores Ctrl-C) would die printing a traceback. Blocked here, SIGINT stays blocked in the
    # processes started meanwhile (the mask is inherited across fork and exec), which ignore it anyway;
    # SIGTERM is never blocked, so stopping a pool still ends its workers.
    masked = "SIGINT" in signals and hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masked else None
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(number, handler)
        if mask is not None:  # a Ctrl-C held by the mask reaches the handler just put back
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)
