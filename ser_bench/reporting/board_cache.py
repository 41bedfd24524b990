"""Boards rendered once: ``ser-bench leaderboard`` keeps the text it printed in the results folder's
``.cache/boards/`` and prints it again, computing nothing, for as long as nothing it depends on changed.

A board is a pure function of the result files, so the key is everything the text depends on:

- every JSON file the board reads (:func:`ser_bench.results.store.json_files`, so a file added or removed
  changes the key): its path, size, modification and change times, inode and the SHA-256 of its bytes
  (an edit that keeps the size and the modification time is still seen, and the change time, which no
  one can set back, moves on with every write);
- the command's options, and the folder as it was given (the board prints file names that way);
- the code that renders: ser-bench's version, the size and modification time of each of its source
  files (an edited checkout renders anew), the Python version and the distributions installed on
  ``sys.path`` (a new pandas or scipy renders anew).

The warnings a board raised (files left out, and splits left out, one warning per cause: a held-out speaker
or a protocol and target whose test sets lack a class) are kept with it and raised again on a hit, the same
warnings in the same order.
The key is taken again after rendering, and a board rendered while the folder changed (a run writing into
it) is shown but not kept. A folder that cannot be written is read without a cache. Importing this module
costs next to nothing: a hit loads neither numpy nor pandas.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Callable

from ser_bench.cache_store import write_json_atomic
from ser_bench.results.store import CACHE, json_files

BOARDS = "boards"  # under <results>/.cache/


def _code_state() -> dict:
    """What the rendering code is: ser-bench's version and sources, Python, the installed distributions."""
    import ser_bench

    root = Path(ser_bench.__file__).parent
    sources = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                stat = os.stat(os.path.join(folder, name))
                sources.append([os.path.relpath(os.path.join(folder, name), root), stat.st_size, stat.st_mtime_ns])
    distributions = []
    for entry in sys.path:
        try:
            distributions += sorted(n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:  # a zip file or a folder that is gone
            continue
    return {"ser-bench": ser_bench.__version__, "sources": sources, "python": sys.version,
            "distributions": distributions}


def board_key(folder: Path, options: dict) -> str:
    """The key of the board of ``folder`` rendered with ``options``: a SHA-256 of everything it depends on
    (the module docstring lists it). Raises OSError when a file vanishes while it is read."""
    folder = Path(folder)
    files = []
    for path in json_files(folder):
        stat = path.stat()
        files.append([str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino,
                      hashlib.sha256(path.read_bytes()).hexdigest()])
    state = {"folder": str(folder), "options": options, "files": files, "code": _code_state()}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def entry_path(folder: Path, options: dict) -> Path:
    """Where the board of ``folder`` with ``options`` is kept: one file per folder spelling and options,
    overwritten when the results change."""
    name = hashlib.sha256(json.dumps({"folder": str(Path(folder)), "options": options},
                                     sort_keys=True).encode()).hexdigest()[:20]
    return Path(folder) / CACHE / BOARDS / f"{name}.json"


def _category(name: str):
    """A warning category kept by name: a built-in one or one of ser-bench's (else None: not kept)."""
    import builtins

    from ser_bench import errors

    module, _, qualname = name.partition(":")
    found = getattr({"builtins": builtins, "ser_bench.errors": errors}.get(module), qualname, None)
    return found if isinstance(found, type) and issubclass(found, Warning) else None


def _read(entry: Path) -> dict | None:
    try:
        stored = json.loads(entry.read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):  # none yet, or damaged: render anew
        return None
    return stored if isinstance(stored, dict) else None


def _keep(entry: Path, stored: dict) -> None:
    """Write a cache entry; a folder that cannot be written (read-only results) just has no cache."""
    try:
        cache = entry.parent.parent
        cache.mkdir(parents=True, exist_ok=True)
        ignore = cache / ".gitignore"
        if not ignore.exists():  # cached boards are never part of the results
            ignore.write_text("*\n")
        write_json_atomic(entry, stored)
    except OSError:
        pass


def cached_board(folder: Path, options: dict, render: Callable[[], str]) -> str:
    """The text of ``render()``, the board of ``folder`` with ``options`` (JSON-able): from the cache when
    its key (:func:`board_key`) is unchanged, else rendered, kept and returned; its warnings are raised
    either way."""
    folder = Path(folder)
    try:
        key = board_key(folder, options)
    except OSError:  # a file vanished while the key was taken: render without the cache this time
        return render()
    entry = entry_path(folder, options)
    stored = _read(entry)
    if stored is not None and stored.get("key") == key:
        categories = [_category(name) for name, _, _, _ in stored.get("warnings", [])]
        if all(categories):
            for category, (_, message, filename, lineno) in zip(categories, stored.get("warnings", [])):
                warnings.warn_explicit(message, category, filename, lineno)
            return stored["text"]
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            text = render()
    finally:
        # Shown as they would have been (catch_warnings collected what the filters let through), once the
        # display it replaced while collecting is back.
        for w in caught:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
    kept = [[f"{w.category.__module__}:{w.category.__qualname__}", str(w.message), w.filename, w.lineno]
            for w in caught]
    try:
        unchanged = board_key(folder, options) == key
    except OSError:
        unchanged = False
    if unchanged and all(_category(name) for name, *_ in kept):
        _keep(entry, {"key": key, "text": text, "warnings": kept})
    return text
