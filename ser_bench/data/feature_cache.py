"""The entries of the feature cache: one file per clip and feature configuration, read and written here
by both ways of extracting (per clip in worker processes, :mod:`ser_bench.data.features`; in batches,
:mod:`ser_bench.data.batching`).

An entry is ``np.save``'s bytes of the clip's vector followed by the key it was computed for
(:data:`ENTRY_MARK`, the configuration's folder name, the hash of the clip's bytes), kept by a
:class:`~ser_bench.cache_store.CacheStore`. It is used only where the key matches: an entry copied, moved
or swapped under another clip's or feature's name is recomputed and named in a warning, like a damaged
one.

Entries are where extraction writes as it goes, and where an older ser-bench left a corpus's features:
once a corpus is extracted they are folded into its pack (:mod:`ser_bench.data.feature_pack`), one file
for the corpus, and removed (:meth:`FeatureEntries.remove`).
"""
from __future__ import annotations

import hashlib
import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ser_bench.cache_store import CacheStore, NoKeyRecorded, NotAFile, WrongKey, file_kind
from ser_bench.data.corpus import not_a_file

# What an entry holds after its values: this line, then the key it was computed for.
ENTRY_MARK = b"\nser-bench feature cache entry for "
OLD_ENTRY = "written without the key it was computed for (by an older ser-bench, or not by ser-bench)"


class Stale(str):
    """The path of an entry in the format before entries recorded their key: said once per extraction,
    with a count, rather than once per entry (a whole cache written by an older ser-bench)."""


class Blocked(str):
    """A message for an entry's path that is not a file and cannot be replaced: the run stops with it once
    every clip is extracted (and every other entry cached)."""


def file_digest(path: str | Path) -> str:
    """BLAKE2b-160 of a file's bytes; an ``OSError`` saying what ``path`` is when it is not a regular file
    (a named pipe would make the read wait for ever)."""
    problem = not_a_file(Path(path))
    if problem:
        raise OSError(problem)
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=None)
def _entry_header(dim: int) -> bytes:
    """The bytes ``np.save`` writes before the values of a float32 vector of ``dim`` values (this
    machine's byte order), which is what :meth:`FeatureEntries.write` writes for every vector it caches."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(dim, dtype=np.float32))
    return buffer.getvalue()[:-4 * dim]


def vector_of(data: bytes, dim: int):
    """The vector in an entry's values (``np.save``'s bytes), or ``(None, why)`` when they are not one of
    ``dim`` values (any length when ``dim`` is 0).

    Values byte for byte what :meth:`FeatureEntries.write` writes for a float32 vector of ``dim`` values
    (the header ``np.save`` writes) are read without ``np.load``, whose header parsing
    (``ast.literal_eval``) made reading an entry six times slower than reading the file: 0.6 s of a
    fully cached feng2020 run's 6,704 clips. Anything else goes through ``np.load``, which says what is
    wrong.
    """
    if dim:
        header = _entry_header(dim)
        if len(data) == len(header) + 4 * dim and data.startswith(header):
            return np.frombuffer(data, dtype=np.float32, count=dim, offset=len(header)).copy(), ""
    try:
        vector = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        return None, f"unreadable ({exc})"
    if not isinstance(vector, np.ndarray):
        return None, "unreadable (not a single array)"
    if vector.ndim != 1 or (dim and vector.shape != (dim,)):
        return None, f"holds shape {vector.shape}, expected ({dim or 'n'},)"
    return vector, ""


class FeatureEntries:
    """The entries of one feature configuration: the folder ``folder`` (named by
    :func:`~ser_bench.data.features.extractor_key`), holding vectors of ``dim`` values (0: any)."""

    def __init__(self, folder: str | Path, dim: int = 0) -> None:
        self.store = CacheStore(folder, ".npy", mark=ENTRY_MARK)
        self.dim = dim

    def path(self, digest: str) -> Path:
        """Where the entry of the clip with content hash ``digest`` lives."""
        return self.store.path(digest)

    def read(self, digest: str):
        """The cached vector of the clip with content hash ``digest``, or ``(None, why)`` when it cannot be
        trusted as one: absent, not a file, unreadable, recording another key or none."""
        try:
            data = self.store.get_bytes(digest)
        except NotAFile as exc:
            return None, str(exc)
        except OSError as exc:
            return None, f"unreadable ({exc})"
        except NoKeyRecorded as exc:
            vector, why = vector_of(exc.data, self.dim)
            return None, why or OLD_ENTRY
        except WrongKey as exc:
            return None, (f"copied, moved or swapped here from another clip or feature (it records "
                          f"{exc.recorded}, not {exc.expected})")
        return vector_of(data, self.dim)

    def lookup(self, digest: str, clip: str):
        """``(vector, None)`` for a sound, finite cached vector of ``clip`` (content hash ``digest``); else
        ``(None, warning)``, the warning (or None) naming an entry that is there but refused, which the
        caller recomputes."""
        target = self.path(digest)
        if not target.exists():
            return None, None
        vector, why = self.read(digest)
        if vector is not None:
            return (vector, None) if np.isfinite(vector).all() else (None, None)
        if why == OLD_ENTRY:
            return None, Stale(target)
        return None, f"feature cache entry {target} (for {clip}) was {why}: recomputed"

    def write(self, digest: str, vector: np.ndarray) -> str:
        """Cache ``vector`` as the entry of ``digest``, atomically; returns a warning instead of failing
        when the cache cannot take it (the features are computed either way), or a :class:`Blocked`
        message when the entry's path is not a file (a folder) and cannot be replaced by one."""
        buffer = io.BytesIO()
        np.save(buffer, vector)
        target = self.path(digest)
        try:
            self.store.put_bytes(digest, buffer.getvalue())
        except OSError as exc:
            try:
                kind = file_kind(os.lstat(target).st_mode)
            except OSError:
                kind = ""
            if kind:
                return Blocked(f"the feature cache entry {target} is {kind}, not a file, and cannot be replaced by "
                               f"one ({exc.strerror or exc}): remove it, then run again (the features of every "
                               "other clip are cached)")
            return (f"could not write the feature cache entry {target} ({exc.strerror or exc}); the features "
                    "were computed but will be computed again next time: free space or fix the cache folder")
        return ""

    def remove(self, digest: str) -> None:
        """Remove the entry of ``digest`` once its vector is in the corpus's pack; whatever cannot be
        removed (a folder, a read-only cache) stays, and is read (or named) as before."""
        try:
            self.path(digest).unlink(missing_ok=True)
        except OSError:
            pass


def joined(first, second):
    """Two warnings about one entry as one (the second from writing it: a :class:`Blocked` one wins)."""
    if not first or not second:
        return first or second or None
    if isinstance(second, Blocked):
        return second
    if isinstance(first, Stale):
        first = f"feature cache entry {first} was {OLD_ENTRY}: recomputed"
    return f"{first}; {second}"
