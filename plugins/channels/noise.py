"""noise: white Gaussian noise added at a given signal-to-noise ratio (over the whole clip)."""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import Range, defaults_of
from ser_bench.plugin_api.types import ChannelSpec


def build(snr: float = 20.0):
    """``apply(signal, sample_rate, seed)``: ``signal`` plus noise whose power is ``snr`` dB below the
    clip's mean power; the noise is drawn from ``seed`` (the clip's content), so it is the same every run."""
    import numpy as np  # here, not at the top: registering a channel must not import numpy

    def apply(signal, sample_rate, seed):
        noise = np.random.default_rng(seed).standard_normal(len(signal))
        power = float(np.mean(np.square(signal, dtype=np.float64)))
        scale = np.sqrt(power / 10 ** (snr / 10) / np.mean(np.square(noise)))
        return (signal + scale * noise).astype(np.float32), sample_rate
    return apply


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="noise", build=build, version="1", params=defaults_of(build, "channels"),
        # Below -30 dB the clip is drowned (noise a thousand times its power); above 120 dB nothing is added
        # that 16-bit audio could hold: a value outside is a typo, refused before any extraction.
        bounds={"snr": Range(low=-30, high=120)},
        summary="white noise at a given SNR in dB (noise:snr=10), seeded by the clip's content")]
