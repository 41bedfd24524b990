"""Peak resident memory of this process and every process below it, sampled from ``/proc`` (Linux).

``resource.getrusage(RUSAGE_CHILDREN)`` cannot give it for a run: the process executor's workers are
forked by multiprocessing's fork server, so they are this process's grandchildren, are never waited for
by it, and their ``ru_maxrss`` is only ever the largest one, not the sum of those alive together. So a
thread sums the resident set (``/proc/PID/statm``) of the whole tree every ``interval`` seconds and keeps
the largest sum. Pages shared between a worker and the fork server count once per process: an upper
bound of what the tree holds. Where there is no ``/proc`` the peak is ``RUSAGE_SELF``'s alone.
"""
from __future__ import annotations

import os
import resource
import sys
import threading
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PROC = Path("/proc")


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, read from every ``/proc/PID/stat``."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat[stat.rindex(")") + 2:].split()[1])  # the name in parentheses may hold spaces
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def tree_rss_bytes(root: int | None = None) -> int:
    """Resident bytes of ``root`` (this process) and its descendants now."""
    total = 0
    for pid in _tree(os.getpid() if root is None else root):
        try:
            total += int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def self_peak_mib() -> float:
    """This process's lifetime peak resident memory (``ru_maxrss``: KiB on Linux, bytes on macOS), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


class TreePeak:
    """``with TreePeak() as peak: ...``; then ``peak.mib``: the largest resident memory of the process tree
    seen while inside (sampled every ``interval`` seconds, and once at each end)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.bytes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sampling = PROC.is_dir()

    def _sample(self) -> None:
        self.bytes = max(self.bytes, tree_rss_bytes())
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "TreePeak":
        if self.sampling:
            self._sample()
            self._thread = threading.Thread(target=self._loop, name="tree-peak", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._sample()

    @property
    def mib(self) -> float:
        return self.bytes / (1 << 20) if self.sampling else self_peak_mib()
