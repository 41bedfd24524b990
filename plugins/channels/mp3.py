"""mp3: a low-bitrate MP3 round trip (LAME through PyAV), as in compressed audio archives and podcasts."""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import Range, defaults_of
from ser_bench.plugin_api.types import ChannelSpec

from .codec import codec_build

RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)  # MPEG-1/2/2.5 layer III rates
build = codec_build("mp3", "libmp3lame", "mp3", RATES, default_bitrate=24000)


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="mp3", build=build, version="1", params=defaults_of(build, "channels"),
        bounds={"bitrate": Range(low=8000, high=320000)},
        summary="MP3 codec round trip (LAME via PyAV), 24 kbit/s by default",
        reference="ISO/IEC 11172-3 (1993), MPEG-1 Audio Layer III")]
