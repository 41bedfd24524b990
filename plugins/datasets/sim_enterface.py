"""sim-enterface: a simulated eNTERFACE'05 written by eSpeak NG, read back by the real loader.

42 subjects of several first languages (eSpeak voices of those languages reading English, so accents
differ) x 6 emotions x 5 emotion-specific sentences, in the eNTERFACE folder layout with spaces and,
for some subjects, an extra folder level. Audio is written as WAV beside the AVI naming scheme
(``sN_xx_K.wav``). Channel: a reverberant room, a distant microphone, noise.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of

from . import enterface

if TYPE_CHECKING:
    from ..simulation.generate import Clip


@lru_cache(maxsize=None)
def style():
    """The corpus's voices and recording channel (``STYLE``). Built on first use, so that registering the
    plugin (``ser-bench list``) does not import the simulator."""
    from ..simulation.channel import Channel
    from ..simulation.generate import CorpusStyle

    return CorpusStyle(name="sim-enterface", voices=("fr", "es", "de", "it", "pl", "nl", "el", "tr", "pt", "en"),
                       channel=Channel(snr_db=18.0, band=(80.0, 7500.0), reverb_rt60=0.5, reverb_wet=0.45,
                                       noise_colour=0.6))


def __getattr__(name: str):
    if name == "STYLE":
        return style()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SENTENCES = {
    "anger": ["There is no way I am going to pay for this", "What? No, no, no, listen! I need this money",
              "I don't care about your coffee, please serve me", "You are a liar, you think I don't see it",
              "I am tired of waiting, get out of my way"],
    "disgust": ["That is horrible, I will never eat noodles again", "Something is wrong here, this is disgusting",
                "What a stink, this smells like old fish", "Oh my god, there is someone in the bathroom",
                "I don't want to touch that, it is revolting"],
    "fear": ["Oh my god, there is someone in the house", "Someone is following me, please help me",
             "What is that noise? I am afraid to go outside", "Please don't hurt me, take what you want",
             "I think the bridge is going to break"],
    "happiness": ["That is great, I am rich now", "I won, this is wonderful, I am so happy",
                  "My son was born today, it is a beautiful day", "What a nice present, thank you so much",
                  "We are going on holiday tomorrow, finally"],
    "sadness": ["Life won't be the same now", "Why did you leave me, I am so alone",
                "I lost my job today and I don't know what to do", "She died last night, I can't believe it",
                "I will never see him again"],
    "surprise": ["You have never told me that", "I didn't expect that at all, really",
                 "Wow, is that really you after all these years", "What? You bought a new car",
                 "I can't believe it, you are here"],
}
CODES = {v: k for k, v in enterface.EMOTIONS.items()}
EXTRA_LEVEL_EVERY = 7  # every seventh subject gets the archive's extra folder level

SUBJECTS = 42  # the real corpus's number, the default of both clips() and load()


def clips(speakers: int = SUBJECTS) -> list[Clip]:
    """The clip list of the first ``speakers`` subjects."""
    from ..simulation.generate import Clip

    out = []
    for subject in range(1, speakers + 1):
        gender = "male" if subject % 5 else "female"  # eNTERFACE is mostly male (81 %)
        base = f"subject {subject}" + (f"/subject {subject}" if subject % EXTRA_LEVEL_EVERY == 0 else "")
        for emotion, code in CODES.items():
            for k, text in enumerate(SENTENCES[emotion], start=1):
                name = f"{base}/{emotion}/sentence {k}/s{subject}_{code}_{k}.wav"
                out.append(Clip(name, f"s{subject}", gender, emotion, 1.2, text))
    return out


def load(ctx, speakers: int = SUBJECTS, seed: int = 0):
    """Generate (once, cached) and read the simulated eNTERFACE tree."""
    from ..simulation.generate import cached_tree

    root = cached_tree(ctx, style(), clips(speakers), seed)
    frame = enterface.read_tree(root, corpus="sim-enterface", report=ctx.report_bad_file)
    frame["gender"] = frame["speaker"].map({c.speaker: c.gender for c in clips(speakers)})
    return frame


SPEC = replace(
    enterface.SPEC, name="sim-enterface", load=load, params=defaults_of(load, "datasets"), simulated=True,
    summary="simulated eNTERFACE'05 (eSpeak NG): 42 accented subjects, 6 emotions x 5 sentences",
    folder_names=(), homepage="", licence="generated; no restrictions", expected_clips=42 * 30,
    expected_speakers=tuple(f"s{n}" for n in range(1, 43)),
    reference="ser-bench simulator (eSpeak NG); layout of Martin et al. (2006)",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
