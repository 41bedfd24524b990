"""Reading audio into mono float32 at one sample rate, with errors that name the file."""
from __future__ import annotations

import hashlib
import re
from math import gcd
from pathlib import Path

import numpy as np

from ser_bench.data.corpus import VIDEO_SUFFIXES  # read with PyAV; every other file with libsndfile
from ser_bench.errors import BadAudioError

SAMPLE_RATE = 16000
# libsndfile's log line when a chunk's header size disagrees with what the file holds, e.g.
# "data : 32000 (should be 56)": the header promises more audio than is there, so the file was cut.
_CHUNK_SIZE = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` (WAV, FLAC, OGG...), average channels to mono, resample to ``sample_rate``.

    Raises :class:`BadAudioError` naming the file and the reason when it is empty, truncated (the
    header promises more audio than the file holds), not audio, holds NaN or infinite samples, or is
    silent (every sample zero): features of such a clip would be meaningless, so it is never used.
    """
    import soundfile as sf

    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return check_samples(path, _load_video_audio(path, sample_rate))
    try:
        if path.stat().st_size == 0:
            raise BadAudioError(f"{path}: empty file (0 bytes)")
        with sf.SoundFile(str(path)) as fh:
            _check_complete(path, fh.extra_info)
            signal = fh.read(dtype="float32", always_2d=True)
            rate = fh.samplerate
    except BadAudioError:
        raise
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:
        raise BadAudioError(f"{path}: not readable as audio ({exc})") from exc
    if signal.shape[0] == 0:
        raise BadAudioError(f"{path}: contains no samples")
    mono = check_samples(path, signal).mean(axis=1)
    return resample(mono, int(rate), sample_rate)


def duration(path: str | Path) -> float:
    """The length of ``path`` in seconds as its header states it, without decoding the audio (0.0 when
    the header cannot be read: the clip's decoding then says what is wrong with it). Batched
    extraction sorts clips by it, so that a batch pads little."""
    path = Path(path)
    try:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            import av

            with av.open(str(path)) as container:
                stream = container.streams.audio[0] if container.streams.audio else None
                if stream is not None and stream.duration and stream.time_base:
                    return float(stream.duration * stream.time_base)
                return float(container.duration or 0) / 1e6  # microseconds (av.time_base)
        import soundfile as sf

        return float(sf.info(str(path)).duration)
    except Exception:  # any unreadable header: sorted last, then reported by the decoder with its reason
        return 0.0


def resample(signal: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """``signal`` at ``rate`` Hz resampled to ``to_rate`` Hz (polyphase, with scipy's anti-aliasing
    filter), as float32; unchanged when the rates agree."""
    if int(rate) == int(to_rate):
        return np.asarray(signal, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(to_rate))
    return resample_poly(signal, int(to_rate) // g, int(rate) // g).astype(np.float32)


def channel_seed(content_digest: str, position: int, name: str) -> int:
    """The seed of the ``position``-th channel of a chain for one clip: drawn from the clip's content,
    so the same clip through the same channels always comes out the same, whatever the run or worker."""
    blob = f"{content_digest}/{position}/{name}".encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")


def apply_channels(signal: np.ndarray, sample_rate: int, chain, content_digest: str) -> np.ndarray:
    """``signal`` passed through ``chain`` (``(name, apply)`` pairs, ``apply`` built by a
    :class:`~ser_bench.plugin_api.types.ChannelSpec`) in order, and brought back to ``sample_rate``.

    A channel that returns no samples or NaN/infinite ones raises ``ValueError`` naming it.
    """
    rate = sample_rate
    for position, (name, apply) in enumerate(chain):
        signal, rate = apply(np.asarray(signal, dtype=np.float32), rate, channel_seed(content_digest, position, name))
        signal = np.asarray(signal, dtype=np.float32)
        if signal.ndim != 1 or not len(signal) or not np.isfinite(signal).all():
            raise ValueError(f"channel {name!r} returned {signal.shape} samples, not a finite mono signal")
    return resample(signal, rate, sample_rate)


def _check_complete(path: Path, log: str) -> None:
    """Refuse a file whose header promises more audio than it holds (a cut download or copy)."""
    for _chunk, declared, present in _CHUNK_SIZE.findall(log or ""):
        if int(declared) > int(present):
            raise BadAudioError(f"{path}: truncated (the header announces {int(declared)} bytes of audio, "
                                f"the file holds {int(present)})")


def check_samples(path, signal: np.ndarray) -> np.ndarray:
    """``signal`` unchanged, or :class:`BadAudioError` when it holds NaN/inf samples or is all zeros."""
    finite = np.isfinite(signal)
    if not finite.all():
        bad = int((~finite).sum())
        raise BadAudioError(f"{path}: {bad} of {signal.size} samples are NaN or infinite (a damaged float file)")
    if not np.any(signal):
        raise BadAudioError(f"{path}: silent (every sample is zero)")
    return signal


def _load_video_audio(path: Path, sample_rate: int) -> np.ndarray:
    """The first audio stream of a video container (eNTERFACE'05 ships AVI files), via PyAV."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BadAudioError(f"{path}: reading audio from video files needs PyAV (pip install av)") from exc
    if path.stat().st_size == 0:
        raise BadAudioError(f"{path}: empty file (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BadAudioError(f"{path}: the video has no audio stream")
            # Keep the channels and average them ourselves, as for WAV files: FFmpeg's own downmix
            # scales by -3 dB, which would make video-borne corpora systematically louder.
            resampler = av.AudioResampler(format="fltp", rate=sample_rate)
            chunks = []
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().mean(axis=0))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
    except BadAudioError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise BadAudioError(f"{path}: not readable as audio/video ({exc})") from exc
    if not chunks:
        raise BadAudioError(f"{path}: contains no audio samples")
    return np.concatenate(chunks).astype(np.float32)
