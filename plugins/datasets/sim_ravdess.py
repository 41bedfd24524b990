"""sim-ravdess: a simulated RAVDESS written by eSpeak NG, read back by the real RAVDESS loader.

24 actors (odd = male) x 2 statements x 8 emotions x 2 intensities (neutral: 1) x 2 repetitions =
1440 clips named ``Actor_XX/03-01-EE-II-SS-RR-AA.wav``. Studio channel: full band, quiet, dry.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of

from . import ravdess

if TYPE_CHECKING:
    from ..simulation.generate import Clip


@lru_cache(maxsize=None)
def style():
    """The corpus's voices and recording channel (``STYLE``). Built on first use, so that registering the
    plugin (``ser-bench list``) does not import the simulator."""
    from ..simulation.channel import Channel
    from ..simulation.generate import CorpusStyle

    return CorpusStyle(name="sim-ravdess", voices=("en-us",),
                       channel=Channel(snr_db=38.0, band=None, reverb_rt60=0.0, noise_colour=0.5))


def __getattr__(name: str):
    if name == "STYLE":
        return style()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


INTENSITY_SCALE = {"01": 1.0, "02": 1.6}

ACTORS = 24  # the real corpus's number, the default of both clips() and load()


def clips(speakers: int = ACTORS) -> list[Clip]:
    """The clip list of the simulated corpus (the first ``speakers`` actors)."""
    from ..simulation.generate import Clip

    out = []
    for actor in range(1, speakers + 1):
        gender = "male" if actor % 2 else "female"
        for code, emotion in ravdess.EMOTIONS.items():
            for intensity in ("01",) if code == "01" else ("01", "02"):
                for statement, text in ravdess.STATEMENTS.items():
                    for rep in ("01", "02"):
                        name = f"Actor_{actor:02d}/03-01-{code}-{intensity}-{statement}-{rep}-{actor:02d}.wav"
                        out.append(Clip(name, f"{actor:02d}", gender, emotion, INTENSITY_SCALE[intensity], text))
    return out


def load(ctx, speakers: int = ACTORS, seed: int = 0):
    """Generate (once, cached) and read the simulated RAVDESS tree."""
    from ..simulation.generate import cached_tree

    root = cached_tree(ctx, style(), clips(speakers), seed)
    return ravdess.read_tree(root, corpus="sim-ravdess", report=ctx.report_bad_file)


SPEC = replace(
    ravdess.SPEC, name="sim-ravdess", load=load, params=defaults_of(load, "datasets"), simulated=True,
    summary="simulated RAVDESS (eSpeak NG): 24 actors, 8 emotions, 1440 clips, RAVDESS names",
    folder_names=(), homepage="", licence="generated; no restrictions",
    reference="ser-bench simulator (eSpeak NG); layout of Livingstone & Russo (2018)",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
