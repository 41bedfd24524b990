"""Recording channels: what makes one corpus sound unlike another (noise, band, room, level)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Channel:
    """A corpus's recording chain. ``band`` is a (low, high) pass band in Hz or None for full band."""

    snr_db: float = 40.0
    band: Optional[tuple[float, float]] = None
    reverb_rt60: float = 0.0
    reverb_wet: float = 0.0
    noise_colour: float = 0.0  # 0 white, 1 pink-ish (low-passed)
    hum_hz: float = 0.0


def spectral_tilt(y: np.ndarray, tilt: float) -> np.ndarray:
    """Brighten (tilt > 0, first-difference boost) or darken (tilt < 0, one-pole low-pass) a signal."""
    import numpy as np  # here, not at the top: registering the sim corpora must not import numpy
    from scipy.signal import lfilter

    if tilt > 0:
        return y + tilt * np.diff(y, prepend=y[:1]) * 2.0
    if tilt < 0:
        smooth = lfilter([0.35], [1, -0.65], y)
        return (1 + tilt) * y + (-tilt) * smooth
    return y


def apply_channel(y: np.ndarray, sr: int, channel: Channel, rng: np.random.Generator,
                  gain_db: float = 0.0, snr_offset_db: float = 0.0) -> np.ndarray:
    """Pass clean speech ``y`` through the room, the microphone band and the noise floor."""
    import numpy as np
    from scipy.signal import butter, fftconvolve, lfilter, sosfilt

    pad = np.zeros(int(sr * rng.uniform(0.15, 0.4)), dtype=np.float32)
    y = np.concatenate([pad, y, pad[: len(pad) // 2]])
    if channel.reverb_rt60 > 0:
        n = int(sr * channel.reverb_rt60)
        t = np.arange(n) / sr
        ir = rng.normal(0, 1, n) * np.exp(-6.9 * t / channel.reverb_rt60)
        ir[0] = 0
        ir /= np.sqrt((ir**2).sum())
        wet = fftconvolve(y, ir)[: len(y)]
        y = (1 - channel.reverb_wet) * y + channel.reverb_wet * wet
    if channel.band is not None:
        low, high = channel.band
        sos = butter(4, [low, min(high, sr / 2 * 0.95)], btype="band", fs=sr, output="sos")
        y = sosfilt(sos, y)
    y = y * 10 ** (gain_db / 20)
    speech_rms = np.sqrt(np.mean(y**2)) + 1e-9
    noise = rng.normal(0, 1, len(y))
    if channel.noise_colour > 0:
        noise = lfilter([1 - 0.97 * channel.noise_colour], [1, -0.97 * channel.noise_colour], noise)
    if channel.hum_hz > 0:
        noise = noise + 0.5 * np.sin(2 * np.pi * channel.hum_hz * np.arange(len(y)) / sr)
    noise *= speech_rms / (np.sqrt(np.mean(noise**2)) + 1e-12) * 10 ** (-(channel.snr_db + snr_offset_db) / 20)
    return np.clip(y + noise, -1, 1).astype(np.float32)
