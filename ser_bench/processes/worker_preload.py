"""Imported once by the process executor's fork server, so that its workers start with torch imported.

A worker forked from a server that has imported torch starts its first task without importing it
(1.6-1.9 s when two workers import at once on two cores). Only libraries are imported here (and
ser-bench's package root, which holds this module), so a worker runs ser-bench's code as it is when
the worker starts; only libraries that start no thread on import, so the server forks a
single-threaded process (pandas is left out: its import of pyarrow starts jemalloc's background
thread); and nothing touches CUDA, which a forked process could not initialise again. torch sees one
OpenMP thread, as a spawned worker's does (``_init_worker`` in the process executor). The server
ignores Ctrl-C (SIGINT), which is the run's to handle.
"""
import os
import signal

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Ctrl-C reaches every process of the terminal's group: the run handles it (and stops the workers), so
# the server must not die mid-import with forty lines of torch's traceback. Its workers inherit this.
signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quiet_start(main):
    """``multiprocessing.spawn._main`` for the workers this server forks: a worker forked as its run is
    stopping finds the pool's locks already gone while it reads its start-up data (the only step of
    ``_main`` outside the worker's own error handling) and would print a traceback; it leaves quietly."""
    def start(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except FileNotFoundError:
            os._exit(1)
    return start


def _install() -> None:
    from multiprocessing import spawn

    if not getattr(spawn._main, "_ser_bench_quiet", False):
        spawn._main = _quiet_start(spawn._main)
        spawn._main._ser_bench_quiet = True  # type: ignore[attr-defined]  # a mark on our wrapper function


_install()

import threadpoolctl  # noqa: E402,F401
import torch  # noqa: E402,F401
