"""Feature extraction over a manifest: parallel over the cores, cached on disk by audio content.

The cache key of a clip is (extractor name, version, parameters, the channels the audio passes through
with their versions and parameters, BLAKE2 hash of the file's bytes), so renaming or moving a corpus
keeps its cache, editing a file invalidates only that file, and ``ravdess+telephone`` is cached apart
from ``ravdess``. The first part names the entry's folder (:func:`extractor_key`), the hash its file.

Each entry records that key after its values and is used only where it matches
(:mod:`ser_bench.data.feature_cache`): an entry copied, moved or swapped under another clip's or feature's
name is recomputed and named in a warning, like a damaged one. The key is no secret, so this guards
against accidents, not against someone who writes the cache on purpose (README, "Caches"). Only regular
files are opened: a named pipe at an entry's path would block the read forever.

A corpus's vectors end up in one file per corpus and configuration (:mod:`ser_bench.data.feature_pack`),
read in one go; the files of single clips are where extraction writes as it goes (an interrupted run
keeps what it computed), and where an older ser-bench left them: they are folded into the pack at the
end of an extraction, then removed. Clips are hashed through a memo of their stat
(:mod:`ser_bench.data.digest_memo`), so a run where nothing changed reads no clip.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ser_bench.data.audio import SAMPLE_RATE, apply_channels, load_audio
from ser_bench.data.batching import extract_batched
from ser_bench.data.digest_memo import DigestMemo
from ser_bench.data.feature_cache import Blocked, FeatureEntries, Stale, file_digest, joined
from ser_bench.data.feature_pack import FeaturePack, pack_name
from ser_bench.plugin_api.context import warn
from ser_bench.errors import BadAudioError, SerBenchError
from ser_bench.processes.workers import signals_deferred, start_worker, stop_workers

# Clips per worker task: small enough that the last tasks of a run end close together (a task of 64
# eGeMAPS clips is 4-5 s, which one core would spend alone at the end), large enough to pay for one
# round trip to a worker.
CHUNK = 16


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


def _cached_hit(path: str, entries: FeatureEntries):
    """``("hit", digest, vector, None)`` when ``path`` has a sound cache entry, else ``None`` (no entry, an
    unreadable file or entry, a non-finite vector: left to :func:`_extract_chunk`, which says why)."""
    try:
        digest = file_digest(path)
    except OSError:
        return None
    vector, _ = entries.read(digest)
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
    entries = FeatureEntries(cache, dim)
    chain = [(c.name, c.build(**c.params)) for c in channels]
    out = []
    for path in paths:
        try:
            digest = file_digest(path)
        except OSError as exc:
            out.append(("error", f"{path}: cannot read ({exc.strerror or exc})", None, None))
            continue
        vector, warning = entries.lookup(digest, path)
        if vector is not None:
            out.append(("hit", digest, vector, None))
            continue
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
            warning = joined(warning, entries.write(digest, vector))
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
    corpus = manifest["corpus"].unique() if "corpus" in manifest else ()
    pack = pack_name(str(corpus[0])) if len(corpus) == 1 else "clips"
    store = getattr(spec, "store", None)
    stored = store(**params) if store is not None else params
    paths = [str(p) for p in manifest["path"].tolist()]
    channels = tuple(channels)
    key = (extractor_key(spec, stored, channels), tuple(paths))
    matrix = memo.get(key) if memo is not None else None
    if matrix is None:
        matrix = _stored_matrix(paths, spec, stored, ctx, channels, memo, pack)
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
    entries = FeatureEntries(cache, dim)
    results: list = [_cached_hit(p, entries) for p in paths]
    bar.update(sum(r is not None for r in results))
    missing = [i for i, r in enumerate(results) if r is None]
    chunks = [missing[i:i + CHUNK] for i in range(0, len(missing), CHUNK)]
    if ctx.n_workers <= 1 or len(chunks) <= 1:
        outcomes = (_extract_chunk(build, params, str(cache), [paths[i] for i in c], dim, channels) for c in chunks)
        for chunk, outcome in zip(chunks, outcomes):
            _results_into(results, chunk, outcome, bar)
        return results
    import multiprocessing as mp

    pool = ProcessPoolExecutor(min(ctx.n_workers, len(chunks)), mp_context=mp.get_context("spawn"),
                               initializer=start_worker, initargs=(os.getpid(),))
    try:
        with signals_deferred():  # submitting starts the workers: no Ctrl-C half-way through one
            futures = [pool.submit(_extract_chunk, build, params, str(cache), [paths[i] for i in c], dim, channels)
                       for c in chunks]
        for fut, chunk in zip(futures, chunks):
            _results_into(results, chunk, fut.result(), bar)
    except BaseException:
        # Ctrl-C, SIGTERM or a failed chunk: the chunks still running are abandoned at once (every clip
        # done so far is in the cache) rather than waited for, which could take minutes.
        stop_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _fold(pack: FeaturePack, outcomes: list, cache: Path, dim: int, ctx, rebuild: str) -> None:
    """Add the vectors of ``outcomes`` (read from clips' own entries, or extracted) to ``pack``, then
    remove those entries; a pack that could not be trusted (``rebuild``) is written again even when
    nothing is added. A clip whose entry is blocked (a folder) stays out of the pack, so that the error
    naming that folder is said again until it is removed."""
    fresh = {info: vector for status, info, vector, warning in outcomes
             if status != "error" and vector.shape == (dim,) and not isinstance(warning, Blocked)}
    if not fresh and not rebuild:
        return
    kept, warning = pack.add(fresh)
    if warning:
        warn(ctx, warning)
    if kept:
        entries = FeatureEntries(cache, dim)
        for digest in fresh:
            entries.remove(digest)


def _results_into(results: list, indices: list, outcome: list, bar) -> None:
    """Put a chunk's outcomes at their rows and advance the progress bar."""
    for i, item in zip(indices, outcome):
        results[i] = item
    bar.update(len(indices))


def _stored_matrix(paths: list, spec, params: dict, ctx, channels: tuple, memo: dict | None = None,
                   pack_file: str = "clips") -> FeatureMatrix:
    """The features ``build(**params)`` gives for ``paths``: from the corpus's pack (``pack_file``, see
    :func:`~ser_bench.data.feature_pack.pack_name`), else from a clip's own entry or extracted (per clip
    in worker processes, or in length-sorted batches here for a ``batched`` feature, whose extractor is
    kept in ``memo`` for the next corpus: a model is loaded once per run), then folded into the pack."""
    cache = Path(ctx.cache_dir) / "features" / extractor_key(spec, params, channels)
    cache.mkdir(parents=True, exist_ok=True)
    dim = feature_dim(spec, params)
    label = "+".join([spec.name, *(c.name for c in channels)])
    hashes = DigestMemo(Path(ctx.cache_dir) / "file-digests" / f"{pack_file}.tsv")
    digests = hashes.digests(paths)
    if hashes.warning:
        warn(ctx, hashes.warning)
    pack = FeaturePack(cache, pack_file, dim)
    held, damaged = pack.read()
    if damaged:
        warn(ctx, damaged)
    rows = [held.rows.get(d, -1) if d else -1 for d in digests]
    todo = [i for i, row in enumerate(rows) if row < 0]
    found: list = []
    with ctx.progress(len(paths), f"features {label}") as bar:
        bar.update(len(paths) - len(todo))
        if todo:
            rest = [paths[i] for i in todo]
            if getattr(spec, "batched", False):
                found = extract_batched(_built_once(spec, memo), params, cache, rest, dim, channels, ctx, bar, label)
            else:
                found = _extract_per_clip(spec.build, params, cache, rest, dim, channels, ctx, bar)
    _fold(pack, found, cache, dim, ctx, damaged)
    values = np.full((len(paths), dim), np.nan, dtype=np.float32)
    packed = np.array([i for i, row in enumerate(rows) if row >= 0], dtype=np.intp)
    if len(packed):  # the pack's rows, copied in one go: a Python loop over 100,000 rows takes seconds
        values[packed] = held.values[np.asarray(rows, dtype=np.intp)[packed]]
    skipped, hits = {}, len(packed)
    results = list(zip(todo, found))
    stale = [w for _, (*_, w) in results if isinstance(w, Stale)]
    if stale:
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        one = len(stale) == 1
        warn(ctx, f"{len(stale)} feature cache entr{'y' if one else 'ies'} of {label} ({', '.join(stale[:3])}{more}) "
                  f"{'was' if one else 'were'} written without the key {'it was' if one else 'they were'} computed "
                  "for (by an older ser-bench, or not by ser-bench): recomputed once, and cached again with it")
    blocked = [w for _, (*_, w) in results if isinstance(w, Blocked)]
    for i, (status, info, vector, warning) in results:
        if warning and not isinstance(warning, (Stale, Blocked)):
            warn(ctx, warning)
        if status == "error":
            skipped[i] = info
            digests[i] = None
            continue
        if vector.shape != (dim,):
            raise SerBenchError(f"feature {spec.name!r} returned shape {vector.shape} for {paths[i]}, "
                                f"expected ({dim},)")
        values[i] = vector
        digests[i] = info
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
