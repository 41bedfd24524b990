"""Result files: one JSON per cell, written atomically, with schema version and provenance."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import subprocess
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ser_bench.errors import SerBenchWarning
from ser_bench.results.record import RecordError, Result, UnknownSchema, load_json

TRACKED_PACKAGES = ("ser-bench", "torch", "numpy", "pandas", "scipy", "scikit-learn", "opensmile",
                    "pluggy", "pytorch-metric-learning", "espeakng-loader", "soundfile", "transformers")

# protocol__loss__source__target__seedN__<10 hex>.json: how a result file is recognised when it does not
# parse (an empty or cut file says nothing about itself).
RESULT_NAME = re.compile(r"^[^.].*__seed\d+__[0-9a-f]{10}\.json$")
LOCKS = ".locks"  # per-cell lock files, inside the results folder, never read as results
DAMAGED = ".damaged"  # damaged result files moved aside before their cell is recomputed
CACHE = ".cache"  # boards rendered from the results, keyed by what they were rendered from (reporting.board_cache)
HIDDEN = (LOCKS, DAMAGED, ".tuning", CACHE)


@dataclass(frozen=True)
class ResultProblem:
    """A result file left out of the readings: ``kind`` is ``damaged``, ``unknown schema`` or
    ``duplicate`` (a second file of a cell already read, e.g. a copy in a sub-folder)."""

    path: str
    kind: str
    reason: str

    def __str__(self) -> str:
        if self.kind == "damaged":
            return f"{self.path}: left out, damaged: {self.reason}"
        return f"{self.path}: left out: {self.reason}"


@dataclass
class Stored:
    """What the file of one cell holds: ``kind`` is ``missing``, ``ok``, ``damaged`` or ``unknown schema``
    (``reason`` says why for the last two; ``result`` is the record when ``ok``)."""

    kind: str
    result: Optional[Result] = None
    reason: str = ""


@dataclass
class ResultScan:
    """A results folder as it is: the usable results (:class:`Result`) and the files left out."""

    results: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def read_result(path: Path) -> Stored:
    """The state of one result file (see :class:`Stored`); never raises for a bad file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Stored("missing")
    except (OSError, UnicodeDecodeError) as exc:
        return Stored("damaged", reason=f"unreadable ({getattr(exc, 'strerror', None) or exc})")
    if not text.strip():
        return Stored("damaged", reason=f"empty ({len(text)} bytes)")
    try:
        payload = load_json(text)
    except RecordError as exc:  # nested too deeply for Python's JSON reader
        return Stored("damaged", reason=str(exc))
    except ValueError as exc:
        return Stored("damaged", reason=f"not valid JSON, truncated? ({exc})")
    try:
        result = Result.from_json(payload)
    except UnknownSchema as exc:
        return Stored("unknown schema", reason=str(exc))
    except RecordError as exc:
        return Stored("damaged", reason=str(exc))
    return Stored("ok", dataclasses.replace(result, path=str(path)))


def _looks_like_result(path: Path) -> bool:
    """Named like a result, or a JSON object with ``schema_version`` or ``cell_id`` (paired.json is not)."""
    if RESULT_NAME.match(path.name):
        return True
    try:
        payload = load_json(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):  # RecordError is a ValueError
        return False
    return isinstance(payload, dict) and bool({"schema_version", "cell_id"} & set(payload))


def json_files(folder: Path) -> list[Path]:
    """The JSON files under ``folder`` (recursively) that :func:`scan_results` reads, in its order: not those
    in the folders ser-bench keeps beside the results (locks, tuning journals, damaged files moved aside,
    cached boards), nor hidden ones (a result being written). Shallowest first, so that of a cell's two
    files the folder's own counts and a copy below it is the duplicate. Only the parts below ``folder`` are
    looked at: a results folder may itself live under a ``.cache``."""
    folder = Path(folder)
    return [path for path in sorted(folder.rglob("*.json"), key=lambda p: (len(p.parts), p))
            if not (set(path.relative_to(folder).parts) & set(HIDDEN) or path.name.startswith("."))]


def scan_results(folder: Path) -> ResultScan:
    """Every result file under ``folder`` (recursively), read as it is: see :class:`ResultScan`.

    Other JSON files (paired.json) are not results and are ignored; so are the folders ser-bench keeps
    beside the results (:func:`json_files`). A second file of a cell already read is a ``duplicate``
    problem, not a second result: it would count the cell twice.
    """
    scan = ResultScan()
    seen: dict = {}
    for path in json_files(folder):
        stored = read_result(path)
        if stored.kind == "ok":
            first = seen.setdefault(stored.result.cell_id, path)
            if first != path:
                scan.problems.append(ResultProblem(str(path), "duplicate", f"a second file of cell "
                                                   f"{stored.result.cell_id} (first: {first}); not counted twice"))
            else:
                scan.results.append(stored.result)
        elif stored.kind == "unknown schema" or _looks_like_result(path):
            scan.problems.append(ResultProblem(str(path), stored.kind, stored.reason))
    return scan


def move_aside(path: Path, results_dir: Path) -> Path:
    """Move the (damaged) file ``path`` into ``<results_dir>/.damaged/``, under its name and the time, and
    return where it went; the folder is never read as results."""
    folder = Path(results_dir) / DAMAGED
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{Path(path).name}.{stamp}"
    os.replace(path, target)
    return target


def result_path(results_dir: Path, cell_id: str) -> Path:
    """Where the result of a cell lives."""
    return Path(results_dir) / f"{cell_id}.json"


def load_results(folder: Path, problems: list | None = None) -> list[Result]:
    """Every usable result file under ``folder`` (recursively); other JSON files are ignored.

    Damaged result files (truncated, empty, not JSON, a key missing) and files of an unknown schema
    version are left out, each issued as a :class:`~ser_bench.plugin_api.context.SerBenchWarning` naming the file
    and the reason, and appended to ``problems`` (as :class:`ResultProblem`) when given.
    """
    scan = scan_results(folder)
    for problem in scan.problems:
        warnings.warn(str(problem), SerBenchWarning, stacklevel=2)
    if problems is not None:
        problems.extend(scan.problems)
    return scan.results


def package_versions() -> dict:
    """Installed versions of the packages that can change a result (a fresh dict on every call).

    Read once per process: the code a process runs is the code it imported, so a package upgraded while
    it runs must not be recorded as the one that computed the cell; and reading the metadata of every
    tracked package took 11 ms, once per cell of a run (3.3 s of the parent's CPU for feng2020's 301)."""
    return dict(_package_versions())


@lru_cache(maxsize=1)
def _package_versions() -> dict:
    from importlib import metadata  # here, not at the top: reading a board needs no package metadata

    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the ser-bench checkout, when running from one; asked of git once per process (the
    code this process runs is the checkout as it was when it was imported)."""
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest_hash(manifest, digests) -> str:
    """SHA-256 over (file name, speaker, emotion, content digest) of every clip used."""
    h = hashlib.sha256()
    names = (_file_name(p) for p in manifest["path"].tolist())
    for name, spk, emo, dig in zip(names, manifest["speaker"].tolist(), manifest["emotion"].tolist(), digests):
        h.update(f"{name}|{spk}|{emo}|{dig}\n".encode())
    return h.hexdigest()


def _file_name(path) -> str:
    """``Path(path).name``, without building a Path where the name is plain (a tenth of the hash's time)."""
    name = os.path.basename(path)
    return name if name not in ("", ".", "..") else Path(path).name


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def explain_write_error(exc: OSError, path: Path, change: str) -> str:
    """A message for a failed write of ``path``: what happened and what to free or change."""
    import errno

    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        remedy = f"free space on the disk holding {Path(path).parent} (or {change})"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        remedy = f"make {Path(path).parent} writable (or {change})"
    else:
        remedy = change
    return f"could not write {path} ({reason}): {remedy}"


class CellLocks:
    """Per-cell locks (``filelock``) in ``<results>/.locks``, so that two runs on one folder never compute
    the same cell at once. The operating system releases a lock when its holder dies, so a lock file
    left by a killed run blocks nobody; the files stay (deleting one another run may be waiting on
    would break the lock) and are never read as results."""

    def __init__(self, results_dir: Path):
        self.folder = Path(results_dir) / LOCKS
        self.held: dict = {}

    def _lock(self, cell_id: str):
        from filelock import FileLock

        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / ".gitignore").write_text("*\n")  # lock files are never part of the results
        return FileLock(str(self.folder / f"{cell_id}.lock"))

    def try_acquire(self, cell_id: str) -> bool:
        """Take the cell's lock if nobody holds it; False when another run is computing the cell."""
        from filelock import Timeout

        lock = self._lock(cell_id)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return False
        self.held[cell_id] = lock
        return True

    def acquire(self, cell_id: str, poll: float = 0.5) -> None:
        """Wait until the cell's lock is free, then take it."""
        lock = self._lock(cell_id)
        lock.acquire(poll_interval=poll)
        self.held[cell_id] = lock

    def release(self, cell_id: str) -> None:
        """Let go of the cell's lock (no-op when not held)."""
        lock = self.held.pop(cell_id, None)
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        """Let go of every lock this object holds."""
        for cell_id in list(self.held):
            self.release(cell_id)
