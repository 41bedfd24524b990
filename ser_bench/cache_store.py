"""Files ser-bench keeps on disk: how they are named, written, read back and checked.

Every cache and the results folder go through here: the feature cache and the model cache
(:class:`CacheStore`: one file per key in two-character shard folders, ``ab/abcdef....npy``), the
simulator's audio and the result files (:func:`write_atomic`, :func:`write_json_atomic`), and the check
that a folder can be written before any work (:func:`probe_writable`, :func:`ensure_writable`).

A file is written under a temporary name in its own folder and moved into place, so no reader and no
crash ever sees part of one. An entry can be checked on read in one of two ways, chosen by its cache's
format on disk: a record of the key it was computed for after its data (``mark``, the feature cache), or
a sidecar ``<entry>.sha256`` holding the SHA-256 of its bytes and its key (``checksum``, the model
cache). Either catches an entry damaged, copied, moved or swapped under another key; neither is a
signature (docs/operations.md, "Caches"). Only regular files are opened, without blocking: a named pipe at an
entry's path would make a plain read wait for ever.

This module stands on the ground floor: it imports only the standard library and
:mod:`ser_bench.errors`.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Union

from ser_bench.errors import SerBenchError

READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class NotAFile(OSError):
    """A path that is a folder, a named pipe, a socket or a device: never read (a pipe would block)."""


class EntryError(Exception):
    """An entry that was read but cannot be trusted for its key."""


class NoKeyRecorded(EntryError):
    """An entry of a ``mark`` store that records no key (an older ser-bench's, or not ser-bench's);
    :attr:`data` holds its bytes, so that the caller can tell a damaged entry from an old one."""

    def __init__(self, data: bytes):
        super().__init__("records no key")
        self.data = data


class WrongKey(EntryError):
    """An entry of a ``mark`` store that records another key: :attr:`recorded` and :attr:`expected` are
    the two, shown as text."""

    def __init__(self, recorded: str, expected: str):
        super().__init__(f"records {recorded}, not {expected}")
        self.recorded, self.expected = recorded, expected


class BadChecksum(EntryError):
    """An entry of a ``checksum`` store whose sidecar is missing, unreadable, names another key or does not
    match its bytes; the message completes "entry <path> ..."."""


def file_kind(mode: int) -> str:
    """What a path whose ``st_mode`` is ``mode`` is, when it is not a regular file ("" when it is)."""
    if stat.S_ISREG(mode):
        return ""
    return ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "not a regular file")


def read_regular(path: str | Path) -> bytes:
    """The bytes of the regular file at ``path``; :class:`NotAFile` (saying what it is) for anything else.
    Opened without blocking, then checked on the open descriptor, so a named pipe put there in between is
    not waited on."""
    fd = os.open(path, READ_FLAGS)
    try:
        info = os.fstat(fd)
        kind = file_kind(info.st_mode)
        if kind:
            raise NotAFile(f"{kind}, not a file")
        want, chunks = info.st_size + 1, []
        while True:  # a short read of a regular file is its end
            chunks.append(os.read(fd, want))
            if len(chunks[-1]) < want:
                return b"".join(chunks)
    finally:
        os.close(fd)


Data = Union[bytes, Callable]


def write_atomic(path: str | Path, data: Data, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` so that no reader and no crash ever sees part of it.

    ``data`` is bytes, or a function that writes them to the binary file object it is given. They go to a
    temporary file in ``path``'s folder (created if missing), which then replaces ``path``, whatever is
    there (a file or a named pipe). The file gets the user's umask, like any file the user creates.
    ``durable`` flushes it to the disk before the replace. On any failure the temporary file is removed,
    ``path`` is left as it was and the error is raised.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A random name, created exclusively: two writers of one entry can be two nodes of a shared folder
    # with the same process id, or two threads of one process.
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        with os.fdopen(os.open(tmp, _WRITE_FLAGS, 0o666), "wb") as fh:
            data(fh) if callable(data) else fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON to ``path`` with :func:`write_atomic`, flushed to the disk before
    it replaces ``path``: a result file is the record of work that may have taken hours."""
    def dump(fh):
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
        try:
            json.dump(payload, text, indent=1, sort_keys=False, allow_nan=True)
            text.flush()
        finally:
            text.detach()  # the file stays open for write_atomic to flush and close

    write_atomic(path, dump, durable=True)


def probe_writable(folder: str | Path, *, private: bool = False) -> str:
    """Why files cannot be written in ``folder`` ("" when they can): it is created if missing, then a file
    is created and removed in it. A ``private`` folder must also be this user's alone (no one else may
    write in it or in its parents up to the temporary folder), so that no other user of a shared
    temporary folder can plant entries in it. The reason names a file in the way of the folder, or is
    the system's."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if private and hasattr(os, "getuid"):
            top = Path(tempfile.gettempdir())
            for part in [folder, *folder.parents]:
                if part == top or part == part.parent:
                    break
                info = part.stat()
                if info.st_uid != os.getuid() or info.st_mode & 0o022:
                    return f"{part} belongs to another user or others may write in it"
        fd, probe = tempfile.mkstemp(prefix=".ser-bench-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        blocking = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
        return f"{blocking} is a file, not a folder" if blocking else (exc.strerror or str(exc))
    return ""


def ensure_writable(folder: str | Path, what: str, change: str) -> None:
    """Create ``folder`` if needed and prove a file can be written there (:func:`probe_writable`), before
    any work.

    Raises :class:`~ser_bench.errors.SerBenchError` naming the path and what to change (``change``,
    e.g. "pass another --results folder") when it is a file, or cannot be created or written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SerBenchError(f"{what} {folder} is a file, not a folder: {change}")
    why = probe_writable(folder)
    if why:
        raise SerBenchError(f"cannot write to {what} {folder} ({why}): make it writable, or {change}")


class CacheStore:
    """The entries of one cache folder: the entry of ``key`` is ``<root>/<key[:2]>/<key><suffix>``.

    With ``mark`` (bytes starting with a newline), an entry holds its data followed by :meth:`record`:
    ``mark``, the folder's name and the key; one recording another key, or none, is refused on read.
    With ``checksum``, an entry has a sidecar ``<entry>.sha256`` holding the SHA-256 of its bytes and the
    key, written after it; an entry without one, or not matching it, is refused on read.
    """

    def __init__(self, root: str | Path, suffix: str, *, mark: bytes = b"", checksum: bool = False) -> None:
        self.root = Path(root)
        self.suffix = suffix
        self.mark = mark
        self.checksum = checksum
        self._prefix = mark + os.path.basename(os.fspath(root).rstrip("/\\")).encode() + b" " if mark else b""

    def path(self, key: str) -> Path:
        """Where the entry of ``key`` lives."""
        return self.root / key[:2] / f"{key}{self.suffix}"

    def sidecar(self, key: str) -> Path:
        """Where the checksum of ``key``'s entry lives (a ``checksum`` store)."""
        path = self.path(key)
        return path.with_name(path.name + ".sha256")

    def record(self, key: str) -> bytes:
        """What the entry of ``key`` holds after its data in a ``mark`` store (b"" otherwise)."""
        return self._prefix + key.encode() + b"\n" if self.mark else b""

    def put_bytes(self, key: str, data: bytes) -> Path:
        """Store ``data`` as the entry of ``key`` (with its record or checksum), atomically; returns its
        path. An ``OSError`` (a full disk, a folder in the way) is raised with no temporary file left.

        A checksum is written after its entry: a crash in between leaves an entry that fails the check on
        read. A second writer whose replaces interleave with ours can leave a mixed pair too, so the pair
        is read back and written again until it checks (each writer's last pair is whole, so one
        writer's complete pair stands when both are done).
        """
        path = self.path(key)
        for _ in range(5):
            write_atomic(path, data + self.record(key))
            if not self.checksum:
                return path
            write_atomic(self.sidecar(key), f"{hashlib.sha256(data).hexdigest()} {key}\n".encode())
            try:  # a second writer whose replaces interleaved with ours leaves a mixed pair: write ours again
                self._check_sum(read_regular(path), key)
                return path
            except (BadChecksum, OSError):
                continue
        return path

    def get_bytes(self, key: str) -> bytes:
        """The data of ``key``'s entry (less its record), checked against its key.

        Raises ``OSError`` when it cannot be read (``FileNotFoundError`` when absent, :class:`NotAFile`
        when it is not a file), :class:`NoKeyRecorded` or :class:`WrongKey` (``mark``), and
        :class:`BadChecksum` (``checksum``).
        """
        data = read_regular(self.path(key))
        if self.mark:
            return self._unmarked(data, key)
        if self.checksum:
            self._check_sum(data, key)
        return data

    def _unmarked(self, data: bytes, key: str) -> bytes:
        record = self.record(key)
        if data.endswith(record):
            return data[:-len(record)]
        at = data.rfind(self.mark)
        if at < 0:
            raise NoKeyRecorded(data)
        raise WrongKey(self._shown(data[at:]), self._shown(record))

    def _shown(self, record: bytes) -> str:
        return record[len(self.mark):].decode("utf-8", "replace").strip()[:160] or "an empty key"

    def _check_sum(self, data: bytes, key: str) -> None:
        sidecar = self.sidecar(key)
        try:
            recorded = read_regular(sidecar).decode("utf-8", "replace").split() if sidecar.exists() else None
        except OSError as exc:
            raise BadChecksum(f"has an unreadable checksum {sidecar.name} ({exc.strerror or exc})" if exc.errno
                              else f"has a checksum {sidecar.name} that is {exc}") from None
        if not recorded:
            raise BadChecksum("has no checksum")
        if recorded[1:] != [key]:
            raise BadChecksum("was not written for this key (moved, copied or left by an older ser-bench)")
        if hashlib.sha256(data).hexdigest() != recorded[0]:
            raise BadChecksum("does not match its checksum (altered, damaged, or replaced while being read)")
