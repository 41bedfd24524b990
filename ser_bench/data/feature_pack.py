"""The packed feature cache: the vectors of one corpus under one feature configuration in one file.

A corpus of 100,000 clips cached one file per clip (:mod:`ser_bench.data.feature_cache`) costs 100,000
opens on every run; a pack is read in one. The pack of corpus ``NAME`` lives in the configuration's
folder (named by :func:`~ser_bench.data.features.extractor_key`) as ``packs/NAME.npy``:

- ``np.save``'s bytes of a little-endian float32 array of shape ``(rows, dim)``, so that ``np.load``
  reads a pack as the matrix it holds;
- the index: the content hash of each row's clip (the per-clip key, BLAKE2b-160 of the file's bytes, 40
  hex characters), row after row;
- :data:`PACK_MARK`, the configuration's folder name, the number of rows and the SHA-256 of the values
  and the index, on one line.

A pack is used only whole and only where that line matches: one cut short, altered, or copied from
another configuration's folder is said (a warning naming it), its clips' features are recomputed and
the pack is rebuilt. A pack is written with :func:`~ser_bench.cache_store.write_atomic` (flushed to the
disk first: it may hold hours of extraction) under a per-pack lock (``filelock``), re-reading what is
there inside the lock, so two runs adding clips to one pack keep both's rows. Rows are only ever added:
a clip whose bytes changed has a new hash, so it is another row.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ser_bench.cache_store import READ_FLAGS, NotAFile, file_kind, write_atomic
from ser_bench.errors import SerBenchError

PACK_MARK = b"\nser-bench feature pack of "
DIGEST_CHARS = 40  # a BLAKE2b-160 hex digest, as file_digest gives it
_DIGEST = re.compile(r"[0-9a-f]{40}\Z")
LOCK_TIMEOUT = 600.0  # seconds: writing a pack of a few GB takes a while


class DamagedPack(Exception):
    """A pack that was read but cannot be trusted; the message completes "the feature pack <path> ..."."""


@dataclass
class PackContents:
    """The rows of a pack: ``values[rows[digest]]`` is the vector of the clip with content hash ``digest``."""

    digests: list = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype="<f4"))
    rows: dict = field(default_factory=dict)

    def get(self, digest: str | None):
        """The cached vector of the clip with content hash ``digest`` (a view into :attr:`values`), or None."""
        row = self.rows.get(digest) if digest else None
        return None if row is None else self.values[row]


def pack_name(corpus: str) -> str:
    """A file name for the pack of ``corpus``: the name itself where it is safe as one, else its safe
    characters and a hash of the whole (``csv:/data/x.csv`` and ``csv:/data/y.csv`` stay apart)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", corpus).strip("._")[:80]
    if safe == corpus and safe:
        return safe
    return f"{safe or 'corpus'}-{hashlib.sha1(corpus.encode()).hexdigest()[:8]}"


class FeaturePack:
    """The pack of corpus file name ``name`` (:func:`pack_name`) in the feature folder ``folder``, holding
    vectors of ``dim`` values (0: any length, the same for every row)."""

    def __init__(self, folder: str | Path, name: str, dim: int = 0) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "packs" / f"{name}.npy"
        self.dim = dim
        self._key = os.path.basename(os.fspath(folder).rstrip("/\\")).encode()

    def read(self) -> tuple[PackContents, str]:
        """The pack's rows and ``""``; or no rows and a warning when there is something at its path that
        cannot be trusted (the caller recomputes those clips, and :meth:`add` rebuilds the pack). No pack
        yet, or a folder in its place (which :meth:`add` names in an error), is no rows and no warning."""
        try:
            return self._load(), ""
        except FileNotFoundError:
            return PackContents(), ""
        except NotAFile as exc:
            if self.path.is_dir():
                return PackContents(), ""
            why = str(exc)
        except OSError as exc:
            why = f"unreadable ({exc.strerror or exc})"
        except DamagedPack as exc:
            why = str(exc)
        return PackContents(), (f"the feature pack {self.path} {why}: its clips' features were recomputed and the "
                                "pack rebuilt")

    def _load(self) -> PackContents:
        fd = os.open(self.path, READ_FLAGS)
        with os.fdopen(fd, "rb") as fh:
            kind = file_kind(os.fstat(fd).st_mode)
            if kind:
                raise NotAFile(f"is {kind}, not a file")
            values = self._values(fh)
            index = fh.read(len(values) * DIGEST_CHARS)
            record = fh.read(len(PACK_MARK) + len(self._key) + 200)
        if len(index) < len(values) * DIGEST_CHARS:
            raise DamagedPack("is cut short (its index is incomplete)")
        check = hashlib.sha256(memoryview(values).cast("B") if values.size else b"")
        check.update(index)
        expected = self._record(len(values), check.hexdigest())
        if record != expected:
            if not record.startswith(PACK_MARK):
                raise DamagedPack("records no key (damaged, or not written by ser-bench)")
            if not record.startswith(PACK_MARK + self._key + b" "):
                shown = record[len(PACK_MARK):].split(b" ")[0].decode("utf-8", "replace")[:120]
                raise DamagedPack(f"was written for another feature configuration ({shown}, not {self._key.decode()})")
            raise DamagedPack("does not match its checksum (altered or damaged)")
        text = index.decode("ascii")
        digests = [text[i:i + DIGEST_CHARS] for i in range(0, len(text), DIGEST_CHARS)]
        return PackContents(digests=digests, values=values, rows=dict(zip(digests, range(len(digests)))))

    def _values(self, fh) -> np.ndarray:
        """The values at the head of the open pack ``fh``, read straight into their array (no copy)."""
        fmt = np.lib.format
        try:
            version = fmt.read_magic(fh)
            read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"an .npy format version {version} ser-bench does not write")
            shape, fortran, dtype = read_header(fh)
        except (ValueError, OSError, EOFError) as exc:
            raise DamagedPack(f"is unreadable ({exc})") from None
        if dtype != np.dtype("<f4") or fortran or len(shape) != 2 or (self.dim and shape[1] != self.dim):
            raise DamagedPack(f"holds {dtype} values of shape {shape}, expected float32 (rows, {self.dim or 'n'})")
        values = np.empty(shape, dtype="<f4")
        if values.size and fh.readinto(memoryview(values).cast("B")) != values.nbytes:
            raise DamagedPack("is cut short (its values are incomplete)")
        return values

    def _record(self, rows: int, checksum: str) -> bytes:
        return PACK_MARK + self._key + f" rows {rows} sha256 {checksum}\n".encode()

    def add(self, vectors: dict) -> tuple[bool, str]:
        """Add ``vectors`` (``{digest: vector}``) that the pack lacks, atomically, under the pack's lock;
        a pack that :meth:`read` would refuse is replaced. Returns ``(kept, warning)``: ``kept`` when the
        pack on disk holds every vector and was written under a working lock (so the per-clip entries
        folded into it can go), and a warning when it could not be written or locked.

        Raises :class:`~ser_bench.errors.SerBenchError` when a folder stands at the pack's path."""
        vectors = {d: v for d, v in vectors.items() if isinstance(d, str) and _DIGEST.match(d)}
        with self._lock() as (locked, warning):
            current, damaged = self.read()
            fresh = [d for d in vectors if d not in current.rows]
            if fresh or damaged or self.path.is_dir():
                dim = self.dim or (current.values.shape[1] if current.digests else len(vectors[fresh[0]]) if fresh else 0)
                added = np.array([vectors[d] for d in fresh], dtype="<f4").reshape(len(fresh), dim)
                values = np.concatenate([current.values.reshape(-1, dim), added]) if current.digests else added
                try:
                    self._write(current.digests + fresh, values)
                except OSError as exc:
                    if self.path.is_dir():
                        raise SerBenchError(
                            f"the feature pack {self.path} is a folder, not a file, and cannot be replaced by one "
                            f"({exc.strerror or exc}): remove it, then run again (the features of every clip are "
                            "cached clip by clip meanwhile)") from None
                    return False, (f"could not write the feature pack {self.path} ({exc.strerror or exc}); the features "
                                   "stay cached clip by clip: free space or fix the cache folder")
        return locked, warning

    def _write(self, digests: list, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype="<f4")
        index = "".join(digests).encode("ascii")
        check = hashlib.sha256(memoryview(values).cast("B") if values.size else b"")
        check.update(index)

        def dump(fh):
            np.save(fh, values, allow_pickle=False)
            fh.write(index)
            fh.write(self._record(len(values), check.hexdigest()))

        write_atomic(self.path, dump, durable=True)

    @contextlib.contextmanager
    def _lock(self):
        """The pack's lock: yields ``(True, "")``, or ``(False, warning)`` where it cannot be had (a
        filesystem without locks, a lock held too long): the write is atomic either way, and the caller
        then keeps the per-clip entries, so a concurrent writer can lose no vector."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path) + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=LOCK_TIMEOUT)
        except Timeout:
            yield False, (f"the feature pack lock {lock.lock_file} was held for more than {LOCK_TIMEOUT:.0f} s: "
                          "the pack was written without it, and the features stay cached clip by clip too")
            return
        except (OSError, NotImplementedError) as exc:
            yield False, (f"file locks do not work in {self.path.parent} ({getattr(exc, 'strerror', None) or exc}): "
                          "the pack was written without one, and the features stay cached clip by clip too")
            return
        try:
            yield True, ""
        finally:
            lock.release()
