"""sim-crema: a simulated CREMA-D written by eSpeak NG, read back by the real CREMA-D loader.

91 actors x 12 sentences x 6 emotions, named ``ActorID_Sentence_Emotion_Level.wav``: sentence IEO at
levels LO/MD/HI (neutral XX), the others at XX, as in the real corpus (7462 clips; the real one lacks
20). Varied American accents; subtler acting than RAVDESS; a consumer-microphone channel: band-limited,
noisier, a small room.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of

from . import crema

if TYPE_CHECKING:
    from ..simulation.generate import Clip


@lru_cache(maxsize=None)
def style():
    """The corpus's voices and recording channel (``STYLE``). Built on first use, so that registering the
    plugin (``ser-bench list``) does not import the simulator."""
    from ..simulation.channel import Channel
    from ..simulation.generate import CorpusStyle

    return CorpusStyle(name="sim-crema", voices=("en-us", "en-us-nyc", "en-029", "en"),
                       channel=Channel(snr_db=22.0, band=(120.0, 6000.0), reverb_rt60=0.25, reverb_wet=0.25,
                                       noise_colour=0.8, hum_hz=60.0),
                       # CREMA-D takes are less exaggerated than RAVDESS's (human raters recognise ~40 %
                       # of its audio-only emotions), and its fear and happiness are played differently.
                       expressiveness=0.7,
                       cue_bias=(("happiness", (("rate", -0.06), ("pitch", -4.0))),
                                 ("fear", (("range", 8.0), ("volume", 0.15))),
                                 ("anger", (("pitch", 4.0), ("volume", -0.15)))))


def __getattr__(name: str):
    if name == "STYLE":
        return style()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LEVEL_SCALE = {"LO": 0.6, "MD": 1.0, "HI": 1.5, "XX": 1.0}
CODES = {v: k for k, v in crema.EMOTIONS.items()}

ACTORS = 91  # the real corpus's number, the default of both clips() and load()


def clips(speakers: int = ACTORS, seed: int = 0) -> list[Clip]:
    """The clip list (the first ``speakers`` actors, 1001 upwards; sex drawn per actor from ``seed``)."""
    import numpy as np

    from ..simulation.generate import Clip

    rng = np.random.default_rng(seed)
    out = []
    for actor in range(1001, 1001 + speakers):
        gender = "male" if rng.random() < 0.53 else "female"
        for sentence, text in crema.SENTENCES.items():
            for emotion, code in CODES.items():
                levels = ("LO", "MD", "HI") if sentence == "IEO" and code != "NEU" else ("XX",)
                for level in levels:
                    out.append(Clip(f"{actor}_{sentence}_{code}_{level}.wav", str(actor), gender, emotion,
                                    LEVEL_SCALE[level], text))
    return out


def load(ctx, speakers: int = ACTORS, seed: int = 0):
    """Generate (once, cached) and read the simulated CREMA-D folder."""
    from ..simulation.generate import cached_tree

    root = cached_tree(ctx, style(), clips(speakers, seed), seed)
    frame = crema.read_tree(root, corpus="sim-crema", report=ctx.report_bad_file)
    genders = {c.speaker: c.gender for c in clips(speakers, seed)}
    frame["gender"] = frame["speaker"].map(genders)
    return frame


SPEC = replace(
    crema.SPEC, name="sim-crema", load=load, params=defaults_of(load, "datasets"), simulated=True,
    summary="simulated CREMA-D (eSpeak NG): 91 actors, 12 sentences, 6 emotions, CREMA-D names",
    folder_names=(), homepage="", licence="generated; no restrictions", expected_clips=7462,
    reference="ser-bench simulator (eSpeak NG); layout of Cao et al. (2014)",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
