"""Content hashes of a corpus's clips without reading every clip on every run.

The feature cache and the manifest hash key a clip by the hash of its bytes
(:func:`~ser_bench.data.feature_cache.file_digest`). Reading 100,000 clips to learn that nothing changed
takes minutes, so the hash of each file is remembered in the cache (``<cache>/file-digests/NAME.tsv``)
with what ``stat`` said of it: its absolute path, size, modification time in nanoseconds and inode. A
file is hashed again only when one of them changed; the hashes given are the same either way.

A file modified less than :data:`RACY_NS` before it was hashed is not remembered (as git does with its
"racy" index entries): a filesystem that stamps times coarsely could give a second edit within the same
tick the same modification time, and the memo must never hide an edit. A file that changes while being
hashed is not remembered either. The memo records the SHA-256 of its lines: one that does not match
is said and dropped (every clip hashed again).
"""
from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path
from typing import Sequence

from ser_bench.cache_store import read_regular, write_atomic
from ser_bench.data import feature_cache
from ser_bench.data.path_parts import in_folders, join_name

HEADER = b"ser-bench file digests 1\n"
RACY_NS = 2_000_000_000  # FAT stamps times to 2 s; every other filesystem more finely


def _stat_key(path: str):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino) if stat.S_ISREG(info.st_mode) else None


class DigestMemo:
    """The remembered hashes of one corpus's files, kept in the file ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.hashed = 0  # files read (hashed) by the last call of :meth:`digests`
        self.warning = ""  # said when the memo on disk was damaged

    def _load(self) -> dict:
        """``{absolute path: (size, mtime_ns, inode, digest)}``; empty when there is no memo or it is damaged."""
        try:
            data = read_regular(self.path)
        except OSError:
            return {}
        body, _, trailer = data.rpartition(b"# sha256 ")
        if not body.startswith(HEADER) or trailer.strip() != hashlib.sha256(body).hexdigest().encode():
            self.warning = f"the file digest memo {self.path} was damaged: every clip was hashed again"
            return {}
        memo = {}
        try:
            for line in body[len(HEADER):].decode("utf-8", "surrogateescape").splitlines():
                digest, size, mtime, inode, path = line.split("\t", 4)
                memo[path] = (int(size), int(mtime), int(inode), digest)
        except ValueError:  # a line that checks but does not parse: not written by this ser-bench
            self.warning = f"the file digest memo {self.path} was damaged: every clip was hashed again"
            return {}
        return memo

    def _save(self, memo: dict) -> None:
        lines = [f"{d}\t{s}\t{m}\t{i}\t{p}\n" for p, (s, m, i, d) in memo.items()]
        body = HEADER + "".join(lines).encode("utf-8", "surrogateescape")
        try:
            write_atomic(self.path, body + b"# sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n")
        except OSError:
            pass  # a memo is a shortcut: without it the next run hashes the clips again

    def digests(self, paths: Sequence[str]) -> list:
        """The content hash of each file of ``paths`` (as ``file_digest`` gives it), or None for a file that
        cannot be read (which the caller reads again to say why). Only files whose stat changed since
        they were remembered are read; the memo is updated on disk when anything changed."""
        memo = self._load()
        out: list = []
        changed = False
        self.hashed = 0
        for path, folder, name in in_folders(paths, os.path.abspath):
            where = os.path.abspath(path) if folder is None else join_name(folder, name)
            key = _stat_key(where)
            known = memo.get(where)
            if key is not None and known is not None and known[:3] == key:
                out.append(known[3])
                continue
            try:
                digest = feature_cache.file_digest(path)
            except OSError:
                out.append(None)
                continue
            self.hashed += 1
            out.append(digest)
            settled = key is not None and time.time_ns() - key[1] >= RACY_NS and _stat_key(where) == key
            if settled and "\n" not in where and "\t" not in where:
                memo[where] = (*key, digest)
                changed = True
            elif memo.pop(where, None) is not None:
                changed = True
        if changed:
            self._save(memo)
        return out
