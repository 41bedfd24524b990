"""telephone: a narrowband telephone line: 300-3400 Hz, 8 kHz sampling, 8-bit mu-law (G.711).

The band and the companding are those of ITU-T G.711 / G.712 landline and GSM-era calls; the result
is brought back to the input rate, so features see a band-limited, quantised signal at their usual rate.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from ser_bench import hookimpl
from ser_bench.plugin_api.params import above, defaults_of
from ser_bench.plugin_api.types import ChannelSpec

MU = 255  # North-American / Japanese G.711: 8 bits, mu = 255


def mu_law_round_trip(signal: np.ndarray, bits: int = 8) -> np.ndarray:
    """``signal`` (in [-1, 1]) compressed with the mu-law curve, quantised to ``2**bits`` levels, expanded."""
    import numpy as np  # here, not at the top: registering a channel must not import numpy

    x = np.clip(signal, -1.0, 1.0)
    compressed = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    levels = 2 ** bits - 1
    quantised = np.round((compressed + 1) / 2 * levels) / levels * 2 - 1
    return (np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(MU)) / MU).astype(np.float32)


def build(low_hz: float = 300.0, high_hz: float = 3400.0, rate: int = 8000, bits: int = 8):
    """``apply(signal, sample_rate, seed)``: resample to ``rate``, band-pass ``low_hz``-``high_hz``
    (4th-order Butterworth, causal like a line), mu-law at ``bits``, and back to ``sample_rate``."""
    from scipy.signal import butter, sosfilt

    from ser_bench.plugin_kit.helpers import resample  # here: ser_bench.data.audio imports numpy
    from ser_bench.errors import SerBenchError

    if not 0 < low_hz < high_hz < rate / 2:
        raise SerBenchError(f"channel 'telephone': needs 0 < low_hz < high_hz < rate/2; got low_hz={low_hz}, "
                            f"high_hz={high_hz}, rate={rate}")
    band = butter(4, [low_hz, high_hz], btype="bandpass", fs=rate, output="sos")

    def apply(signal, sample_rate, seed):
        narrow = sosfilt(band, resample(signal, sample_rate, rate))
        return resample(mu_law_round_trip(narrow, bits), rate, sample_rate), sample_rate
    return apply


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="telephone", build=build, version="1",
        params=defaults_of(build, "channels"),
        bounds={"low_hz": above(0), "high_hz": above(0), "rate": above(0), "bits": above(1)},
        summary="telephone line: 300-3400 Hz band, 8 kHz, 8-bit mu-law, back to the feature rate",
        reference="ITU-T G.711 (1988), Pulse code modulation of voice frequencies")]
