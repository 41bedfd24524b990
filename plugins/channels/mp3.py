"""mp3: a low-bitrate MP3 round trip (LAME through PyAV), as in compressed audio archives and podcasts."""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.params import Range
from ser_bench.types import ChannelSpec

from .codec import require, round_trip

CODEC = "libmp3lame"
RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)  # MPEG-1/2/2.5 layer III rates


def build(bitrate: int = 24000, rate: int = 16000):
    """``apply(signal, sample_rate, seed)``: encode at ``bitrate`` bit/s and ``rate`` Hz, decode back."""
    from ser_bench.errors import SerBenchError

    require(CODEC, "mp3")
    if rate not in RATES:
        raise SerBenchError(f"channel 'mp3': rate={rate} is not an MP3 sample rate; use one of "
                            f"{', '.join(map(str, RATES))}")

    def apply(signal, sample_rate, seed):
        return round_trip(signal, sample_rate, CODEC, "mp3", rate, bitrate), sample_rate
    return apply


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="mp3", build=build, version="1", params={"bitrate": 24000, "rate": 16000},
        bounds={"bitrate": Range(low=8000, high=320000)},
        summary="MP3 codec round trip (LAME via PyAV), 24 kbit/s by default",
        reference="ISO/IEC 11172-3 (1993), MPEG-1 Audio Layer III")]
