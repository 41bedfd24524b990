"""Feature extraction over a manifest: parallel over the cores, cached on disk by audio content.

The cache key of a clip is (extractor name, version, parameters, the channels the audio passes through
with their versions and parameters, BLAKE2 hash of the file's bytes), so renaming or moving a corpus
keeps its cache, editing a file invalidates only that file, and ``ravdess+telephone`` is cached apart
from ``ravdess``. The first part names the entry's folder (:func:`extractor_key`), the hash its file.

Each entry records that key after its values (:func:`entry_key`) and is used only where it matches:
an entry copied, moved or swapped under another clip's or feature's name is recomputed and named in a
warning, like a damaged one. The key is no secret, so this guards against accidents, not against
someone who writes the cache on purpose (README, "Caches"). Only regular files are opened: a named pipe
at an entry's path would block the read forever.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ser_bench.data.audio import SAMPLE_RATE, apply_channels, load_audio
from ser_bench.data.corpus import not_a_file
from ser_bench.plugin_api.context import warn
from ser_bench.errors import BadAudioError, SerBenchError
from ser_bench.plugin_api.workers import start_worker

# Clips per worker task: small enough that the last tasks of a run end close together (a task of 64
# eGeMAPS clips is 4-5 s, which one core would spend alone at the end), large enough to pay for one
# round trip to a worker.
CHUNK = 16


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


def extractor_key(spec, params: dict, channels: Sequence = ()) -> str:
    """Folder name for one extractor configuration in the cache; ``channels``
    (:class:`~ser_bench.data.domains.AppliedChannel`) add their names, versions and parameters."""
    blob = json.dumps(params, sort_keys=True)
    key = f"{spec.name}-v{spec.version}-{hashlib.sha1(blob.encode()).hexdigest()[:8]}"
    if channels:
        records = json.dumps([c.record() for c in channels], sort_keys=True)
        names = "+".join(f"{c.name}-v{c.version}" for c in channels)
        key += f"+{names}-{hashlib.sha1(records.encode()).hexdigest()[:8]}"
    return key


@dataclass
class FeatureMatrix:
    """Features of a manifest: ``values[i]`` belongs to manifest row ``i`` unless ``i`` is in ``skipped``."""

    values: np.ndarray
    columns: list
    digests: list
    skipped: dict = field(default_factory=dict)  # row index -> reason
    cache_hits: int = 0


# What an entry holds after its values: this line, then the key it was computed for (entry_key).
ENTRY_MARK = b"\nser-bench feature cache entry for "
OLD_ENTRY = "written without the key it was computed for (by an older ser-bench, or not by ser-bench)"
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class NotAFile(OSError):
    """A cache path that is a folder, a named pipe, a socket or a device: never read (a pipe would block)."""


class _Stale(str):
    """The path of an entry in the format before entries recorded their key: said once per extraction,
    with a count, rather than once per entry (a whole cache written by an older ser-bench)."""


class _Blocked(str):
    """A message for an entry's path that is not a file and cannot be replaced: the run stops with it once
    every clip is extracted (and every other entry cached)."""


def entry_key(folder: str | Path, digest: str) -> bytes:
    """What the entry of the clip with content hash ``digest`` in the feature folder ``folder`` records
    after its values: the folder's name (the :func:`extractor_key`) and the hash."""
    return _key_prefix(os.fspath(folder)) + digest.encode() + b"\n"


@lru_cache(maxsize=64)
def _key_prefix(folder: str) -> bytes:
    return ENTRY_MARK + os.path.basename(folder.rstrip("/\\")).encode() + b" "


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
    fd = os.open(path, _READ_FLAGS)
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


@lru_cache(maxsize=None)
def _entry_header(dim: int) -> bytes:
    """The bytes ``np.save`` writes before the values of a float32 vector of ``dim`` values (this
    machine's byte order), which is what :func:`_write_entry` writes for every vector it caches."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(dim, dtype=np.float32))
    return buffer.getvalue()[:-4 * dim]


def _read_entry(target: Path, dim: int, key: bytes | None = None):
    """The cached vector at ``target``, or ``(None, why)`` when it cannot be trusted as one.

    An entry is ``np.save``'s bytes of the vector followed by ``key`` (:func:`entry_key`), the key it was
    computed for; one recording another key, or none (an older ser-bench's), is refused. Without ``key``
    (to inspect an entry) the values are read as ``np.load`` reads them, whatever follows them.

    An entry that is byte for byte what :func:`_write_entry` writes for a float32 vector of ``dim``
    values (its header equal to the one ``np.save`` writes) is read without ``np.load``, whose header
    parsing (``ast.literal_eval``) made it six times slower than reading the file: 0.6 s of a fully
    cached feng2020 run's 6,704 clips; checking the key adds one comparison of its bytes. Anything else
    goes through ``np.load``, which says what is wrong.
    """
    try:
        data = read_regular(target)
    except NotAFile as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"unreadable ({exc})"
    if dim:
        header = _entry_header(dim)
        record = key or b""
        if len(data) == len(header) + 4 * dim + len(record) and data.startswith(header) and data.endswith(record):
            return np.frombuffer(data, dtype=np.float32, count=dim, offset=len(header)).copy(), ""
    if key is not None:
        at = data.rfind(ENTRY_MARK)
        if at < 0:
            vector, why = _loaded(data, dim)
            return None, why or OLD_ENTRY
        if data[at:] != key:
            return None, (f"copied, moved or swapped here from another clip or feature (it records "
                          f"{_shown(data[at:])}, not {_shown(key)})")
        data = data[:at]
    return _loaded(data, dim)


def _loaded(data: bytes, dim: int):
    """``np.load`` of an entry's bytes (what follows the values is ignored), checked to be a vector."""
    try:
        vector = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        return None, f"unreadable ({exc})"
    if not isinstance(vector, np.ndarray):
        return None, "unreadable (not a single array)"
    if vector.ndim != 1 or (dim and vector.shape != (dim,)):
        return None, f"holds shape {vector.shape}, expected ({dim or 'n'},)"
    return vector, ""


def _shown(record: bytes) -> str:
    return record[len(ENTRY_MARK):].decode("utf-8", "replace").strip()[:160] or "an empty key"


def _refused(target: Path, path: str, why: str) -> str:
    """The warning for an entry :func:`_read_entry` refused (it is recomputed)."""
    if why == OLD_ENTRY:
        return _Stale(target)
    return f"feature cache entry {target} (for {path}) was {why}: recomputed"


def _write_entry(target: Path, digest: str, vector: np.ndarray) -> str:
    """Cache ``vector`` atomically, followed by its :func:`entry_key` (from ``target``'s folder, which
    the key names); returns a warning instead of failing when the cache cannot take it (the features
    are computed either way), or a :class:`_Blocked` message when ``target`` is not a file (a folder)
    and cannot be replaced by one."""
    tmp = target.with_name(f".{digest}.{os.getpid()}.tmp.npy")
    buffer = io.BytesIO()
    np.save(buffer, vector)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(buffer.getvalue() + entry_key(target.parent.parent, digest))
        os.replace(tmp, target)  # replaces a named pipe as well as a file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        try:
            kind = file_kind(os.lstat(target).st_mode)
        except OSError:
            kind = ""
        if kind:
            return _Blocked(f"the feature cache entry {target} is {kind}, not a file, and cannot be replaced by "
                            f"one ({exc.strerror or exc}): remove it, then run again (the features of every "
                            "other clip are cached)")
        return (f"could not write the feature cache entry {target} ({exc.strerror or exc}); the features "
                "were computed but will be computed again next time: free space or fix the cache folder")
    return ""


def _joined(first, second):
    """Two warnings about one entry as one (the second from writing it: a :class:`_Blocked` one wins)."""
    if not first or not second:
        return first or second or None
    if isinstance(second, _Blocked):
        return second
    if isinstance(first, _Stale):
        first = f"feature cache entry {first} was {OLD_ENTRY}: recomputed"
    return f"{first}; {second}"


def _cached_hit(path: str, cache: Path, dim: int):
    """``("hit", digest, vector, None)`` when ``path`` has a sound cache entry, else ``None`` (no entry, an
    unreadable file or entry, a non-finite vector: left to :func:`_extract_chunk`, which says why)."""
    try:
        digest = file_digest(path)
    except OSError:
        return None
    vector, _ = _read_entry(cache / digest[:2] / f"{digest}.npy", dim, entry_key(cache, digest))
    if vector is None or not np.isfinite(vector).all():
        return None
    return ("hit", digest, vector, None)


def _extract_chunk(build: Callable, params: dict, cache: str, paths: Sequence[str], dim: int = 0,
                   channels: Sequence = ()) -> list:
    """Worker body: hash each file; read the cached vector or extract (after ``channels``) and cache it.

    Returns ``(status, info, vector, warning)`` per path: status ``hit``, ``new`` or ``error`` (then
    ``info`` says which file and why). A corrupt cache entry, or one written for another key, is
    recomputed and named in ``warning``.
    """
    extractor = None
    chain = [(c.name, c.build(**c.params)) for c in channels]
    out = []
    for path in paths:
        try:
            digest = file_digest(path)
        except OSError as exc:
            out.append(("error", f"{path}: cannot read ({exc.strerror or exc})", None, None))
            continue
        target = Path(cache) / digest[:2] / f"{digest}.npy"
        warning = None
        if target.exists():
            vector, why = _read_entry(target, dim, entry_key(cache, digest))
            if vector is not None and np.isfinite(vector).all():
                out.append(("hit", digest, vector, None))
                continue
            if vector is None:
                warning = _refused(target, path, why)
        try:
            signal = load_audio(path, SAMPLE_RATE)
            if chain:
                signal = apply_channels(signal, SAMPLE_RATE, chain, digest)
            if extractor is None:
                extractor = build(**params)
            vector = np.asarray(extractor(signal, SAMPLE_RATE), dtype=np.float32)
        except BadAudioError as exc:
            out.append(("error", str(exc), None, warning))
            continue
        except Exception as exc:  # an extractor failing on one file must not lose the others
            out.append(("error", f"{path}: feature extraction failed ({exc!r})", None, warning))
            continue
        if not np.isfinite(vector).all():  # e.g. a clip too short for the extractor's windows
            out.append(("error", f"{path}: features came out NaN or infinite ({len(signal)} samples, "
                                 f"{len(signal) / SAMPLE_RATE:.3f} s: too short or damaged)", None, warning))
            continue
        if not dim or vector.shape == (dim,):  # a wrong shape is an error in the caller, never cached
            warning = _joined(warning, _write_entry(target, digest, vector))
        out.append(("new", digest, vector, warning))
    return out


def feature_dim(spec, params: dict) -> int:
    """The length of the vectors ``spec`` gives with ``params``: its ``dim``, or ``dim_of(**params)`` for a
    feature whose size depends on them (a model's hidden size times the layers kept)."""
    dim_of = getattr(spec, "dim_of", None)
    return int(dim_of(**params)) if dim_of is not None else int(spec.dim)


def extract_features(manifest, spec, params: dict | None, ctx, channels: Sequence = (),
                     memo: dict | None = None) -> FeatureMatrix:
    """Features for every row of ``manifest`` with the extractor ``spec`` and the cell's ``params``, of
    the audio passed through ``channels`` (:class:`~ser_bench.data.domains.AppliedChannel`, in order)
    when given.

    A feature with ``store``/``select`` (see :class:`~ser_bench.plugin_api.types.FeatureSpec`) extracts
    and caches what ``store(**params)`` names (every layer of a model) and returns the part ``params``
    select; ``memo`` (a dict kept by the caller) holds the stored matrices already read in this run, so
    cells that differ only in the part read the cache once.

    Bad files (unreadable, truncated, NaN/inf or silent audio, clips shorter than a model's receptive
    field, features that come out NaN) raise :class:`SerBenchError` listing each with its reason,
    unless ``ctx.skip_bad_files``, in which case they are reported in :attr:`FeatureMatrix.skipped`.
    Either way every good file is already cached. A corrupt cache entry is recomputed and named in a
    warning (``ctx.warn``).
    """
    params = {**spec.params, **(params or {})}
    store = getattr(spec, "store", None)
    stored = store(**params) if store is not None else params
    paths = [str(p) for p in manifest["path"]]
    channels = tuple(channels)
    key = (extractor_key(spec, stored, channels), tuple(paths))
    matrix = memo.get(key) if memo is not None else None
    if matrix is None:
        matrix = _stored_matrix(paths, spec, stored, ctx, channels, memo)
        if memo is not None:
            memo[key] = matrix
    if store is None:
        return matrix
    values = np.asarray(spec.select(matrix.values, **params), dtype=np.float32)
    dim = feature_dim(spec, params)
    if values.shape != (len(paths), dim):
        raise SerBenchError(f"feature {spec.name!r}: select() returned shape {values.shape}, expected "
                            f"({len(paths)}, {dim})")
    return FeatureMatrix(values=values, columns=[], digests=matrix.digests, skipped=matrix.skipped,
                         cache_hits=matrix.cache_hits)


def _built_once(spec, memo: dict | None) -> Callable:
    """``spec.build``, keeping what it builds in ``memo``: an in-process extractor (a loaded model) is
    built once per run, not once per corpus."""
    if memo is None:
        return spec.build

    def build(**params):
        key = ("extractor", spec.name, json.dumps(params, sort_keys=True))
        if key not in memo:
            memo[key] = spec.build(**params)
        return memo[key]

    return build


def _extract_per_clip(build: Callable, params: dict, cache: Path, paths: list, dim: int, channels: tuple, ctx,
                      bar) -> list:
    """:func:`_extract_chunk`'s outcome for every path: cache hits read here, the rest extracted in chunks
    by worker processes (here when one worker is asked for or one chunk is left). A run whose features
    are all cached starts no process: spawning workers costs more than reading the cache."""
    results: list = [_cached_hit(p, cache, dim) for p in paths]
    bar.update(sum(r is not None for r in results))
    missing = [i for i, r in enumerate(results) if r is None]
    chunks = [missing[i:i + CHUNK] for i in range(0, len(missing), CHUNK)]
    if ctx.n_workers <= 1 or len(chunks) <= 1:
        outcomes = (_extract_chunk(build, params, str(cache), [paths[i] for i in c], dim, channels) for c in chunks)
        for chunk, outcome in zip(chunks, outcomes):
            _results_into(results, chunk, outcome, bar)
        return results
    import multiprocessing as mp

    with ProcessPoolExecutor(min(ctx.n_workers, len(chunks)), mp_context=mp.get_context("spawn"),
                             initializer=start_worker, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_extract_chunk, build, params, str(cache), [paths[i] for i in c], dim, channels)
                   for c in chunks]
        for fut, chunk in zip(futures, chunks):
            _results_into(results, chunk, fut.result(), bar)
    return results


def _results_into(results: list, indices: list, outcome: list, bar) -> None:
    """Put a chunk's outcomes at their rows and advance the progress bar."""
    for i, item in zip(indices, outcome):
        results[i] = item
    bar.update(len(indices))


def _stored_matrix(paths: list, spec, params: dict, ctx, channels: tuple, memo: dict | None = None) -> FeatureMatrix:
    """The features ``build(**params)`` gives for ``paths``: from the cache, else extracted (per clip in
    worker processes, or in length-sorted batches here for a ``batched`` feature, whose extractor is
    kept in ``memo`` for the next corpus: a model is loaded once per run) and cached."""
    cache = Path(ctx.cache_dir) / "features" / extractor_key(spec, params, channels)
    cache.mkdir(parents=True, exist_ok=True)
    dim = feature_dim(spec, params)
    label = "+".join([spec.name, *(c.name for c in channels)])
    with ctx.progress(len(paths), f"features {label}") as bar:
        if getattr(spec, "batched", False):
            from ser_bench.data.batching import extract_batched

            results = extract_batched(_built_once(spec, memo), params, cache, paths, dim, channels, ctx, bar,
                                      label)
        else:
            results = _extract_per_clip(spec.build, params, cache, paths, dim, channels, ctx, bar)
    values = np.full((len(paths), dim), np.nan, dtype=np.float32)
    skipped, digests, hits = {}, [], 0
    stale = [w for *_, w in results if isinstance(w, _Stale)]
    if stale:
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        one = len(stale) == 1
        warn(ctx, f"{len(stale)} feature cache entr{'y' if one else 'ies'} of {label} ({', '.join(stale[:3])}{more}) "
                  f"{'was' if one else 'were'} written without the key {'it was' if one else 'they were'} computed "
                  "for (by an older ser-bench, or not by ser-bench): recomputed once, and cached again with it")
    blocked = [w for *_, w in results if isinstance(w, _Blocked)]
    for i, (status, info, vector, warning) in enumerate(results):
        if warning and not isinstance(warning, (_Stale, _Blocked)):
            warn(ctx, warning)
        if status == "error":
            skipped[i] = info
            digests.append(None)
            continue
        if vector.shape != (dim,):
            raise SerBenchError(f"feature {spec.name!r} returned shape {vector.shape} for {paths[i]}, "
                                f"expected ({dim},)")
        values[i] = vector
        digests.append(info)
        hits += status == "hit"
    if blocked:
        raise SerBenchError("\n".join(blocked))
    if skipped and not ctx.skip_bad_files:
        listing = "\n  ".join(list(skipped.values())[:20])
        more = f"\n  ... and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        raise SerBenchError(
            f"{len(skipped)} of {len(paths)} files could not be used:\n  {listing}{more}\n"
            "Fix or remove them, or pass --skip-bad-files to continue without them "
            "(features of the other files are cached and will not be recomputed)."
        )
    columns = list(getattr(spec, "columns", []) or [])
    return FeatureMatrix(values=values, columns=columns, digests=digests, skipped=skipped, cache_hits=hits)
