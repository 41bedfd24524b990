"""Batched feature extraction, for extractors that run a network over many clips at once.

A ``batched`` feature (:class:`~ser_bench.plugin_api.types.FeatureSpec`) runs in this process: the
network parallelises itself (every core through torch's threads, or a GPU), which worker processes
would only fight over. Clips are sorted by length, longest first, and cut into batches of at most
``batch_size`` clips and ``batch_samples`` padded samples, so a batch pads little and the largest
batch comes first (a batch too big for the device fails at once, not an hour in). Threads decode and
resample the next clips while the network runs. After the first batch the run says how long the rest
will take when that is more than a minute, since on a CPU a base-size model takes about two seconds
per clip.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ser_bench.data.audio import SAMPLE_RATE, apply_channels, duration, load_audio
from ser_bench.data.feature_cache import FeatureEntries, file_digest, joined
from ser_bench.errors import BadAudioError
from ser_bench.plugin_api.context import warn

LOOKAHEAD = 2  # batches decoded ahead of the one the network is running
SAY_ETA_AFTER = 60.0  # seconds: a job expected to take longer is announced with its estimate


def plan_batches(lengths: Sequence[float], batch_size: int, batch_samples: float | None = None) -> list[list[int]]:
    """Positions of ``lengths`` cut into batches: sorted longest first, at most ``batch_size`` clips each,
    and at most ``batch_samples`` padded samples (clips x the batch's longest) unless one clip alone
    holds more. Every position appears exactly once."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        batch = batches[-1] if batches else None
        if (batch is None or len(batch) >= max(1, int(batch_size))
                or (batch_samples and (len(batch) + 1) * lengths[batch[0]] > batch_samples)):
            batches.append([i])
        else:
            batch.append(i)
    return batches


def _decode(path: str, rate: int, chain: list, digest: str):
    """The clip at ``rate`` Hz after ``chain``, or the reason it cannot be used (text)."""
    try:
        signal = load_audio(path, rate)
        return apply_channels(signal, rate, chain, digest) if chain else signal
    except BadAudioError as exc:
        return str(exc)
    except Exception as exc:  # a channel failing on one file must not lose the others
        return f"{path}: could not be decoded ({exc!r})"


def _forward(extractor, signals: list, rate: int) -> list:
    """``extractor.batch`` over ``signals``; when the batch fails as a whole (one odd clip, memory), each
    clip again alone, so that one clip's failure is reported as its own and the others are kept."""
    try:
        return list(extractor.batch(signals, rate))
    except Exception as exc:
        if len(signals) == 1:
            return [exc]
    out = []
    for signal in signals:
        try:
            out.append(extractor.batch([signal], rate)[0])
        except Exception as exc:
            out.append(exc)
    return out


def _eta_text(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def extract_batched(build: Callable, params: dict, cache: Path, paths: Sequence[str], dim: int,
                    channels: Sequence, ctx, bar, label: str) -> list:
    """``(status, info, vector, warning)`` per path, as the per-clip path gives them (``hit``, ``new`` or
    ``error``): cached vectors read, the others extracted in batches and cached as each batch ends.
    The extractor is built only when some clip is not cached, so a second run never loads the model."""
    out: list = [None] * len(paths)
    workers = max(1, ctx.n_workers)
    with ThreadPoolExecutor(workers) as pool:
        digests = list(pool.map(_digest, paths))
    entries = FeatureEntries(cache, dim)
    misses = []
    for i, (path, (digest, problem)) in enumerate(zip(paths, digests)):
        if problem:
            out[i] = ("error", problem, None, None)
            continue
        vector, warning = entries.lookup(digest, path)
        if vector is not None:
            out[i] = ("hit", digest, vector, None)
            continue
        misses.append((i, digest, warning))
    bar.update(len(paths) - len(misses))
    if misses:
        _extract_misses(build(**params), misses, entries, paths, channels, ctx, bar, label, out)
    return out


def _digest(path: str):
    try:
        return file_digest(path), ""
    except OSError as exc:
        return None, f"{path}: cannot read ({exc.strerror or exc})"


def _extract_misses(extractor, misses: list, entries: FeatureEntries, paths, channels, ctx, bar, label: str,
                    out: list) -> None:
    rate = int(getattr(extractor, "sample_rate", SAMPLE_RATE))
    shortest = int(getattr(extractor, "min_samples", 0) or 0)
    seconds = [duration(paths[i]) for i, *_ in misses]
    plan = plan_batches([s * rate for s in seconds], getattr(extractor, "batch_size", 16),
                        getattr(extractor, "batch_samples", None))
    chain = [(c.name, c.build(**c.params)) for c in channels]
    total_audio = sum(seconds)
    with ThreadPoolExecutor(max(1, min(4, ctx.n_workers))) as decoders:
        pending = {}

        def submit(b):
            if b < len(plan) and b not in pending:
                pending[b] = [decoders.submit(_decode, paths[misses[p][0]], rate, chain, misses[p][1]) for p in plan[b]]

        for b in range(LOOKAHEAD + 1):
            submit(b)
        started, done_audio = time.perf_counter(), 0.0
        for b, batch in enumerate(plan):
            submit(b + LOOKAHEAD + 1)
            decoded = [f.result() for f in pending.pop(b)]
            ready = []
            for p, signal in zip(batch, decoded):
                i, digest, warning = misses[p]
                if isinstance(signal, str):
                    out[i] = ("error", signal, None, warning)
                elif len(signal) < shortest:
                    out[i] = ("error", f"{paths[i]}: {len(signal)} samples ({1000 * len(signal) / rate:.0f} ms at "
                                       f"{rate} Hz), shorter than the receptive field of feature {label!r} "
                                       f"({shortest} samples, {1000 * shortest / rate:.0f} ms): too short for this "
                                       "model", None, warning)
                else:
                    ready.append((p, signal))
            vectors = _forward(extractor, [s for _, s in ready], rate) if ready else []
            for (p, signal), vector in zip(ready, vectors):
                out[misses[p][0]] = _entry(misses[p], entries, paths, vector, signal, rate)
            bar.update(len(batch))
            done_audio += sum(seconds[p] for p in batch)
            if b == 0 and len(plan) > 1 and done_audio > 0:
                _say_eta(ctx, extractor, label, len(misses), total_audio, done_audio,
                         time.perf_counter() - started)


def _entry(miss: tuple, entries: FeatureEntries, paths, vector, signal, rate: int) -> tuple:
    i, digest, warning = miss
    if isinstance(vector, Exception):
        return ("error", f"{paths[i]}: feature extraction failed ({vector!r})", None, warning)
    vector = np.asarray(vector, dtype=np.float32)
    if not np.isfinite(vector).all():
        return ("error", f"{paths[i]}: features came out NaN or infinite ({len(signal)} samples, "
                         f"{len(signal) / rate:.3f} s: too short or damaged)", None, warning)
    if not entries.dim or vector.shape == (entries.dim,):  # a wrong shape is an error in the caller, never cached
        warning = joined(warning, entries.write(digest, vector))
    return ("new", digest, vector, warning)


def _say_eta(ctx, extractor, label: str, clips: int, total_audio: float, done_audio: float, elapsed: float) -> None:
    """After the first (longest) batch: the whole job's expected time, when it is long enough to matter."""
    expected = elapsed * total_audio / done_audio
    if expected < SAY_ETA_AFTER:
        return
    device = getattr(extractor, "device", "")
    where = f" on {device}" if isinstance(device, str) and device else ""
    warn(ctx, f"features {label}: extracting {clips} clips ({_eta_text(total_audio)} of audio){where} will take "
              f"about {_eta_text(expected)} ({clips / expected:.1f} clips/s, judged from the first batch, the "
              "longest clips); they are cached, so later runs skip this")
