"""Imported once by the process executor's fork server, so that its workers start with torch imported.

A worker forked from a server that has imported torch starts its first task without importing it
(1.6-1.9 s when two workers import at once on two cores). Only libraries are imported here (and
ser-bench's package root, which holds this module), so a worker runs ser-bench's code as it is when
the worker starts; only libraries that start no thread on import, so the server forks a
single-threaded process (pandas is left out: its import of pyarrow starts jemalloc's background
thread); and nothing touches CUDA, which a forked process could not initialise again. torch sees one
OpenMP thread, as a spawned worker's does (``_init_worker`` in the process executor).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import threadpoolctl  # noqa: E402,F401
import torch  # noqa: E402,F401
