"""Reading audio into mono float32 at one sample rate, with errors that name the file."""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from .errors import BadAudioError

SAMPLE_RATE = 16000


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` (WAV, FLAC, OGG...), average channels to mono, resample to ``sample_rate``.

    Raises :class:`BadAudioError` naming the file when it is empty, truncated or not audio.
    """
    import soundfile as sf

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise BadAudioError(f"{path}: empty file (0 bytes)")
        signal, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except BadAudioError:
        raise
    except (RuntimeError, OSError, sf.LibsndfileError) as exc:
        raise BadAudioError(f"{path}: not readable as audio ({exc})") from exc
    if signal.shape[0] == 0:
        raise BadAudioError(f"{path}: contains no samples")
    mono = signal.mean(axis=1)
    if rate != sample_rate:
        from scipy.signal import resample_poly

        g = gcd(int(rate), sample_rate)
        mono = resample_poly(mono, sample_rate // g, int(rate) // g).astype(np.float32)
    return mono
