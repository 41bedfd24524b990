"""reverb: a synthetic room: exponentially decaying noise as the impulse response, for a given RT60.

A diffuse late tail of Gaussian noise under an exponential envelope that falls 60 dB in ``rt60``
seconds is the standard statistical room model (Schroeder 1962; Lehmann & Johansson 2008).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from ser_bench import hookimpl
from ser_bench.plugin_api.params import Range, at_least, defaults_of
from ser_bench.plugin_api.types import ChannelSpec

DECAY_60_DB = math.log(1000.0)  # amplitude falls by 1000 (60 dB) over rt60


def impulse_response(rt60: float, sample_rate: int, seed: int, direct: float = 1.0) -> np.ndarray:
    """A direct path of amplitude ``direct`` and a noise tail decaying 60 dB in ``rt60`` s (1.2 x rt60 long)."""
    import numpy as np  # here, not at the top: registering a channel must not import numpy

    t = np.arange(max(2, int(1.2 * rt60 * sample_rate))) / sample_rate
    tail = np.random.default_rng(seed).standard_normal(len(t)) * np.exp(-DECAY_60_DB * t / rt60)
    tail *= 1.0 / np.sqrt(np.sum(tail ** 2))  # unit energy: ``direct`` sets the direct-to-reverberant ratio
    tail[0] = direct
    return tail


def build(rt60: float = 0.5, direct: float = 1.0):
    """``apply(signal, sample_rate, seed)``: ``signal`` convolved with :func:`impulse_response` (drawn
    from ``seed``), cut to its length and scaled back to its RMS, so the room changes and not the level."""
    import numpy as np
    from scipy.signal import fftconvolve

    def apply(signal, sample_rate, seed):
        wet = fftconvolve(signal, impulse_response(rt60, sample_rate, seed, direct))[: len(signal)]
        gain = np.sqrt(np.mean(np.square(signal, dtype=np.float64)) / max(np.mean(np.square(wet)), 1e-20))
        return (wet * gain).astype(np.float32), sample_rate
    return apply


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="reverb", build=build, version="1", params=defaults_of(build, "channels"),
        bounds={"rt60": Range(low=0, low_open=True, high=10), "direct": at_least(0)},
        summary="synthetic room reverberation with a given RT60 in s (reverb:rt60=0.5), seeded by the clip",
        reference="Schroeder (1962), Frequency-correlation functions of frequency responses in rooms, JASA 34(12)")]
