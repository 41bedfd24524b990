"""Faults of the main process of ``ser-bench run`` with the process executor: after ``kill -9`` no pool
worker (nor the fork server or the multiprocessing resource tracker) outlives it; SIGTERM stops the run
like Ctrl-C, with the same message and no traceback, exit status 143, and no process left behind. A real
run on the hand-made RAVDESS tree, with training long enough that the cells are still running when the
signal comes; processes are found through /proc (psutil is not a dependency)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _stat(pid: int):
    """(parent pid, state letter) of ``pid``, or ``None`` when it no longer exists."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), fields[0]


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every living process below ``pid``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) and info[1] != "Z":
            parents[int(entry.name)] = info[0]
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append(child)
    return found


def workers(family: dict) -> list[int]:
    """The process executor's workers among ``family`` (pid -> command line): on Linux they are forked
    from its fork server and carry the server's command line (the feature-extraction pool's workers are
    spawned: ``spawn_main``)."""
    return [pid for pid, cmd in family.items()
            if "forkserver" in cmd and "forkserver" in family.get(_parent(pid), "")]


def _parent(pid: int) -> int | None:
    info = _stat(pid)
    return info[0] if info else None


def alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] != "Z"  # a zombie has exited; only its parent's wait is missing


def _default_sigint() -> None:
    """In the child before exec: SIGINT at its default, as in a terminal. A suite started in the
    background by a non-interactive shell (``make test &``) inherits SIGINT ignored, and Python then
    installs no KeyboardInterrupt handler: the run would never see the signal this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture()
def long_run(clean_tree, cache_dir, tmp_path):
    """Start a run of two long cells (two seeds) on two workers; yields (process, its workers and
    helpers once both workers exist). Whatever is left at the end is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ser_bench.cli", "-q", "run", "--executor", "process", "--workers", "2",
         "--target", "ravdess", "--corpus-path", f"ravdess={clean_tree}", "--protocol", "idt", "--loss", "bce_pair",
         "--labels", "anger,sadness", "--seed", "0,1", "--train-param", "epochs=100000", "--cache-dir",
         str(cache_dir), "--results", str(tmp_path / "results")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=_default_sigint)
    family: dict = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            family = descendants(proc.pid)
            if len(workers(family)) >= 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        assert len(workers(family)) >= 2, family
        time.sleep(0.5)  # let the workers get into their cells
        family.update(descendants(proc.pid))
        yield proc, family
    finally:
        for pid in [proc.pid, *family]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.communicate()


def survivors(pids, within: float) -> list:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def test_kill_9_of_the_main_process_leaves_no_worker_behind(long_run):
    proc, family = long_run
    assert any("resource_tracker" in cmd for cmd in family.values()), family
    assert any("forkserver" in cmd for cmd in family.values()), family  # the server workers fork from
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    left = survivors(family, within=8)
    assert not left, {pid: family[pid] for pid in left}


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_sigterm_stops_the_run_like_ctrl_c(long_run, signum, status):
    """SIGINT to the main process alone (``kill -INT``; Ctrl-C reaches the workers too) must not wait
    for the cells in progress either."""
    proc, family = long_run
    os.kill(proc.pid, signum)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert "interrupted: finished cells are saved in" in err and "run the same command again" in err
    left = survivors(family, within=5)
    assert not left, {pid: family[pid] for pid in left}
