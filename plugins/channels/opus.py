"""opus: a low-bitrate Opus round trip (libopus through PyAV), as in VoIP and messaging apps.

Opus is the codec of WebRTC calls and voice messages; at 6-16 kbit/s it codes speech with SILK,
which keeps the words and smooths fine spectral detail. Valin, Vos & Terriberry (2012), RFC 6716.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import Range, above, defaults_of
from ser_bench.plugin_api.types import ChannelSpec

from .codec import codec_build

RATES = (8000, 12000, 16000, 24000, 48000)  # the rates Opus codes at
build = codec_build("opus", "libopus", "ogg", RATES, default_bitrate=12000)


@hookimpl
def ser_bench_channels():
    return [ChannelSpec(
        name="opus", build=build, version="1", params=defaults_of(build, "channels"),
        bounds={"bitrate": Range(low=6000, high=510000), "rate": above(0)},
        summary="Opus codec round trip (libopus via PyAV), 12 kbit/s by default",
        reference="Valin, Vos & Terriberry (2012), Definition of the Opus Audio Codec, RFC 6716")]
