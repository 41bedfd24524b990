"""Emotion and speaker models for the simulator: how each emotion moves prosody, per speaker and per take.

Directions follow the vocal-cue literature (Scherer 2003, "Vocal communication of emotion"; Juslin &
Laukka 2003, "Communication of emotions in vocal expression and music performance"): anger is fast,
loud, high and wide with a bright (flat) spectral tilt; sadness slow, soft, low and narrow with a steep
tilt; fear fast and high with a narrow range; happiness high and wide, moderately loud; and so on.
Magnitudes are our choice, set so a plain classifier is clearly above chance but far from perfect.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Deltas at intensity 1: relative speaking rate, pitch and range (eSpeak 0-100 units), relative
# volume, and spectral tilt (positive = brighter, i.e. more vocal effort).
EMOTION_CUES: dict[str, dict[str, float]] = {
    "neutral": dict(rate=0.00, pitch=0.0, range=0.0, volume=0.00, tilt=0.00),
    "calm": dict(rate=-0.08, pitch=-3.0, range=-10.0, volume=-0.12, tilt=-0.15),
    "happiness": dict(rate=0.06, pitch=10.0, range=18.0, volume=0.15, tilt=0.25),
    "sadness": dict(rate=-0.20, pitch=-8.0, range=-18.0, volume=-0.30, tilt=-0.40),
    "anger": dict(rate=0.12, pitch=6.0, range=22.0, volume=0.45, tilt=0.55),
    "fear": dict(rate=0.18, pitch=15.0, range=-6.0, volume=-0.05, tilt=0.10),
    "disgust": dict(rate=-0.12, pitch=-5.0, range=8.0, volume=0.05, tilt=-0.05),
    "surprise": dict(rate=0.02, pitch=18.0, range=26.0, volume=0.20, tilt=0.20),
    "boredom": dict(rate=-0.15, pitch=-6.0, range=-20.0, volume=-0.20, tilt=-0.25),
}

# Per-take variability (standard deviations): what makes the task noisy within a speaker.
TAKE_JITTER = dict(rate=0.07, pitch=4.0, range=9.0, volume=0.12, tilt=0.15)
# How much a speaker's personal rendering of an emotion departs from the textbook cue, as a fraction
# of the cue plus a floor: different actors act the same emotion differently.
SPEAKER_IDIOSYNCRASY = 0.45
SPEAKER_FLOOR = dict(rate=0.03, pitch=2.0, range=4.0, volume=0.05, tilt=0.08)


@dataclass(frozen=True)
class Speaker:
    """One simulated speaker's voice and acting style."""

    voice: str
    base_rate: float
    base_pitch: float
    base_range: float
    expressiveness: float
    cue_offsets: dict  # emotion -> {cue: offset}
    gain_db: float
    snr_offset_db: float


@dataclass(frozen=True)
class Rendering:
    """The eSpeak settings and post-processing for one take."""

    voice: str
    rate: int
    pitch: int
    range_: int
    volume: int
    tilt: float
    gain_db: float
    snr_offset_db: float


def make_speaker(rng: np.random.Generator, language_voice: str, gender: str) -> Speaker:
    """Draw a speaker: an eSpeak voice variant of the right sex, a baseline and an expressiveness."""
    import numpy as np  # here, not at the top: registering the sim corpora must not import numpy

    variant = f"m{rng.integers(1, 8)}" if gender == "male" else f"f{rng.integers(1, 6)}"
    base_pitch = rng.normal(40 if gender == "male" else 62, 6)
    offsets = {
        emo: {cue: rng.normal(0, SPEAKER_IDIOSYNCRASY * abs(v) + SPEAKER_FLOOR[cue]) for cue, v in cues.items()}
        for emo, cues in EMOTION_CUES.items()
    }
    return Speaker(
        voice=f"{language_voice}+{variant}",
        base_rate=float(rng.normal(170, 15)),
        base_pitch=float(base_pitch),
        base_range=float(rng.normal(50, 8)),
        expressiveness=float(np.exp(rng.normal(0, 0.35))),
        cue_offsets=offsets,
        gain_db=float(rng.normal(0, 3)),
        snr_offset_db=float(rng.normal(0, 3)),
    )


def render(speaker: Speaker, emotion: str, intensity: float, rng: np.random.Generator,
           bias: dict | None = None) -> Rendering:
    """Settings for one take of ``emotion`` at ``intensity`` (1 = normal) by ``speaker``.

    ``bias`` shifts cues (a corpus's acting convention for this emotion)."""
    import numpy as np

    cues = EMOTION_CUES[emotion]
    scale = speaker.expressiveness * intensity
    bias = bias or {}
    d = {cue: scale * value + bias.get(cue, 0.0) + speaker.cue_offsets[emotion][cue]
         + rng.normal(0, TAKE_JITTER[cue]) for cue, value in cues.items()}
    return Rendering(
        voice=speaker.voice,
        rate=int(np.clip(speaker.base_rate * (1 + d["rate"]), 90, 400)),
        pitch=int(np.clip(speaker.base_pitch + d["pitch"], 0, 100)),
        range_=int(np.clip(speaker.base_range + d["range"], 0, 100)),
        volume=int(np.clip(100 * (1 + d["volume"]), 20, 200)),
        tilt=float(np.clip(d["tilt"], -0.9, 0.9)),
        gain_db=speaker.gain_db,
        snr_offset_db=speaker.snr_offset_db,
    )
