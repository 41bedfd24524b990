"""A minimal ctypes binding to the eSpeak NG library shipped by the ``espeakng-loader`` wheel.

Only what the simulator needs: initialise in synchronous mode, set prosody parameters and a voice,
synthesise one utterance and return its samples. The library keeps global state, so one
:class:`EspeakSynthesizer` per process is the unit of use (worker processes each make their own).
"""
from __future__ import annotations

import ctypes

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4, "wordgap": 7}

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    """eSpeak NG could not be loaded or refused a request."""


class EspeakSynthesizer:
    """Synthesises text to int16 samples at :attr:`sample_rate` (22050 Hz for eSpeak NG voices)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise EspeakError("the simulator needs the 'espeakng-loader' wheel: pip install espeakng-loader") from exc
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (returned {rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks are freed with their Python object.
        self._callback = _CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, _events) -> int:
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, *, rate: int, pitch: int, range_: int, volume: int = 100,
                   wordgap: int = 0, seed: int = 0) -> np.ndarray:
        """Speak ``text`` with ``voice`` (e.g. ``"en-us+m3"``) and eSpeak prosody settings.

        ``rate`` is words per minute (80-450), ``pitch`` and ``range_`` are 0-100, ``volume`` 0-200.
        ``seed`` seeds eSpeak's own random numbers (breathiness noise of some voices), which it otherwise
        takes from the clock. Returns float32 samples in [-1, 1] at :attr:`sample_rate`.
        """
        self._lib.espeak_ng_SetRandSeed(int(seed) & 0x7FFFFFFF)
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"eSpeak NG has no voice {voice!r}")
        for name, value in (("rate", rate), ("pitch", pitch), ("range", range_), ("volume", volume),
                            ("wordgap", wordgap)):
            self._lib.espeak_SetParameter(_PARAM[name], int(value), 0)
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        err = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise EspeakError(f"espeak_Synth failed with code {err} for {text!r}")
        self._lib.espeak_Synchronize()
        if not self._chunks:
            raise EspeakError(f"eSpeak NG produced no audio for {text!r}")
        return (np.concatenate(self._chunks).astype(np.float32) / 32768.0)
