"""opus: a low-bitrate Opus round trip (libopus through PyAV), as in VoIP and messaging apps.

Opus is the codec of WebRTC calls and voice messages; at 6-16 kbit/s it codes speech with SILK,
which keeps the words and smooths fine spectral detail. Valin, Vos & Terriberry (2012), RFC 6716.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.params import Range, above
from ser_bench.types import ChannelSpec

from .codec import require, round_trip

CODEC = "libopus"
RATES = (8000, 12000, 16000, 24000, 48000)  # the rates Opus codes at


def build(bitrate: int = 12000, rate: int = 16000):
    """``apply(signal, sample_rate, seed)``: encode at ``bitrate`` bit/s and ``rate`` Hz, decode back."""
    from ser_bench.errors import SerBenchError

    require(CODEC, "opus")
    if rate not in RATES:
        raise SerBenchError(f"channel 'opus': rate={rate} is not a rate Opus codes at; use one of "
                            f"{', '.join(map(str, RATES))}")

    def apply(signal, sample_rate, seed):
        return round_trip(signal, sample_rate, CODEC, "ogg", rate, bitrate), sample_rate
    return apply


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="opus", build=build, version="1", params={"bitrate": 12000, "rate": 16000},
        bounds={"bitrate": Range(low=6000, high=510000), "rate": above(0)},
        summary="Opus codec round trip (libopus via PyAV), 12 kbit/s by default",
        reference="Valin, Vos & Terriberry (2012), Definition of the Opus Audio Codec, RFC 6716")]
