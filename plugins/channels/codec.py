"""A lossy codec round trip through PyAV (FFmpeg), shared by the codec channels."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from ser_bench.errors import SerBenchError


def available(codec: str) -> bool:
    """Whether this PyAV build can encode with ``codec`` (e.g. ``libopus``, ``libmp3lame``)."""
    import av

    try:
        av.Codec(codec, "w")
    except Exception:  # PyAV raises UnknownCodecError, or ValueError in older versions
        return False
    return True


def require(codec: str, channel: str) -> None:
    """Refuse, before any work, a codec this PyAV build lacks."""
    if not available(codec):
        raise SerBenchError(f"channel {channel!r} needs the {codec} encoder, which this PyAV/FFmpeg build lacks; "
                            "install a PyAV wheel built with it (pip install --force-reinstall av)")


def round_trip(signal: np.ndarray, sample_rate: int, codec: str, container: str, codec_rate: int,
               bit_rate: int) -> np.ndarray:
    """``signal`` encoded with ``codec`` at ``bit_rate`` bit/s in a ``container`` held in memory, decoded
    again, and returned at ``sample_rate`` with its original length (the codec's padding cut off)."""
    import av
    import numpy as np  # here, not at the top: registering a channel must not import numpy

    from ser_bench.plugin_kit.helpers import resample

    pcm = np.clip(resample(signal, sample_rate, codec_rate), -1.0, 1.0)
    encoded = io.BytesIO()
    with av.open(encoded, "w", format=container) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        stream.bit_rate = int(bit_rate)
        frame = av.AudioFrame.from_ndarray((pcm * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
        frame.sample_rate = codec_rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    encoded.seek(0)
    decoded = []
    with av.open(encoded, "r") as source:
        to_float = av.AudioResampler(format="flt", layout="mono", rate=codec_rate)
        for frame in source.decode(audio=0):
            decoded += [f.to_ndarray().reshape(-1) for f in to_float.resample(frame)]
        decoded += [f.to_ndarray().reshape(-1) for f in to_float.resample(None)]
    out_signal = resample(np.concatenate(decoded) if decoded else np.zeros(0, np.float32), codec_rate, sample_rate)
    length = len(signal)
    return np.pad(out_signal[:length], (0, max(0, length - len(out_signal))))


def codec_build(channel: str, codec: str, container: str, rates: tuple, default_bitrate: int):
    """The ``build(bitrate, rate)`` of a codec channel: checks the encoder and the rate up front, and
    returns ``apply(signal, sample_rate, seed)`` doing the round trip (deterministic: no seed used)."""
    def build(bitrate: int = default_bitrate, rate: int = 16000):
        """``apply(signal, sample_rate, seed)``: encode at ``bitrate`` bit/s and ``rate`` Hz, decode back."""
        require(codec, channel)
        if rate not in rates:
            raise SerBenchError(f"channel {channel!r}: rate={rate} is not a rate {codec} codes at; use one of "
                                f"{', '.join(map(str, rates))}")

        def apply(signal, sample_rate, seed):
            return round_trip(signal, sample_rate, codec, container, rate, bitrate), sample_rate
        return apply
    return build
