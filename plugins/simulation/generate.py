"""Write a simulated corpus tree: real audio files, laid out and named like the real corpus.

Every take is seeded from (seed, corpus, file name) and every speaker from (seed, corpus, speaker id).
eSpeak NG needs two more things to be reproducible: its own random numbers (breathiness of some
voices) are seeded per clip instead of from the clock, and its waveform generator, which carries state
from one utterance to the next, runs each speaker in a fresh ``python -m
ser_bench_plugins.simulation.worker`` making the same calls in the same order. The files are then
bit-identical for a seed whatever the number of workers or the calling program, and a speaker's clips
do not depend on how many other speakers are generated.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

from .channel import Channel, apply_channel, spectral_tilt
from .prosody import EMOTION_CUES, TAKE_JITTER, make_speaker, render

SIM_VERSION = "2"
SAMPLE_RATE = 16000
MARKER = ".ser-bench-simulated.json"


@dataclass(frozen=True)
class Clip:
    """One file to write: where, who, which emotion at which intensity, and what is said."""

    relpath: str
    speaker: str
    gender: str
    emotion: str
    intensity: float
    text: str


CLIP_FIELDS = tuple(f.name for f in fields(Clip))


@dataclass(frozen=True)
class CorpusStyle:
    """What makes a simulated corpus itself: its speakers' language voices and its recording channel."""

    name: str
    voices: tuple[str, ...]
    channel: Channel
    # Acting conventions differ between corpora (directed actors vs. crowd-validated takes, instructions,
    # language): a corpus-wide scale on how strongly emotions are shown and per-emotion cue shifts.
    expressiveness: float = 1.0
    cue_bias: tuple = ()  # ((emotion, ((cue, delta), ...)), ...): hashable, JSON-able


def _rng(*parts) -> np.random.Generator:
    import numpy as np  # here, not at the top: registering the sim corpora must not import numpy

    return np.random.default_rng([zlib.crc32(str(p).encode()) for p in parts])


def render_speaker(job: tuple) -> int:
    """Worker body (a fresh process per speaker): synthesise, colour and write one speaker's clips."""
    style, seed, root, clips = job
    import soundfile as sf
    from scipy.signal import resample_poly

    from ser_bench.plugin_kit.helpers import write_atomic

    from .espeak import EspeakSynthesizer

    synth = EspeakSynthesizer()
    speakers: dict = {}
    for clip in clips:
        target = Path(root) / clip.relpath
        if clip.speaker not in speakers:
            srng = _rng(seed, style.name, "speaker", clip.speaker)
            voice = style.voices[int(srng.integers(len(style.voices)))]
            speakers[clip.speaker] = make_speaker(srng, voice, clip.gender)
        rng = _rng(seed, style.name, clip.relpath)
        take = render(speakers[clip.speaker], clip.emotion, clip.intensity * style.expressiveness, rng,
                      bias=dict(dict(style.cue_bias).get(clip.emotion, ())))
        y = synth.synthesize(clip.text, take.voice, rate=take.rate, pitch=take.pitch,
                              range_=take.range_, volume=take.volume,
                              seed=zlib.crc32(f"{seed}|{style.name}|{clip.relpath}".encode()))
        y = resample_poly(spectral_tilt(y, take.tilt), 320, 441)  # 22050 -> 16000 Hz
        y = apply_channel(y, SAMPLE_RATE, style.channel, rng, take.gain_db, take.snr_offset_db)
        target.parent.mkdir(parents=True, exist_ok=True)
        # a killed run never leaves a half-written clip
        # (write_atomic calls the function before the loop moves on: the late binding of `y` is harmless)
        write_atomic(target, lambda f: sf.write(f, y, SAMPLE_RATE, subtype="PCM_16", format="WAV"))  # noqa: B023
    return len(clips)


def _run_worker(job: tuple) -> int:
    import pickle
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ser_bench_plugins.simulation.worker"], input=pickle.dumps(job),
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"simulator worker failed for speaker {job[3][0].speaker}: "
                           f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return len(job[3])


def settings_key(style: CorpusStyle, clips: Sequence[Clip], seed: int) -> str:
    """A hash of everything that determines the generated audio."""
    # A Clip holds plain strings and numbers, so its field dict is what asdict gives, without asdict's
    # recursive copy of every value (59 against 5 ms for sim-crema's 7,442 clips; 0.15 s a run of the three).
    payload = json.dumps({"v": SIM_VERSION, "style": asdict(style), "seed": seed,
                          "cues": EMOTION_CUES, "jitter": TAKE_JITTER,
                          "clips": [{name: getattr(c, name) for name in CLIP_FIELDS} for c in clips]},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def simulate_tree(style: CorpusStyle, clips: Sequence[Clip], out_dir: Path, seed: int = 0, *,
                  workers: int = 1, progress=None) -> Path:
    """Write ``clips`` under ``out_dir`` unless a complete tree with the same settings is there.

    An interrupted generation resumes: files already written are kept. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    key = settings_key(style, clips, seed)
    marker = out_dir / MARKER
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    by_speaker: dict = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    # A speaker is redone whole if any of its files is missing: its audio depends on the call history.
    jobs = [(style, seed, str(out_dir), group) for group in by_speaker.values()
            if not all((out_dir / c.relpath).exists() for c in group)]
    from contextlib import nullcontext

    from ser_bench.plugin_kit.helpers import write_atomic

    bar_cm = progress(len(clips), f"simulating {style.name}") if progress else nullcontext(None)
    with bar_cm as bar:
        if bar:
            bar.update(len(clips) - sum(len(j[3]) for j in jobs))
        if jobs:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as pool:
                for n in pool.map(_run_worker, jobs):
                    bar and bar.update(n)
    write_atomic(marker, json.dumps({"key": key, "corpus": style.name, "seed": seed, "clips": len(clips),
                                     "simulator_version": SIM_VERSION}, indent=1).encode())
    return out_dir


def cached_tree(ctx, style: CorpusStyle, clips: Sequence[Clip], seed: int) -> Path:
    """The simulated tree in the run context's cache, generated on first use."""
    key = settings_key(style, clips, seed)[:10]
    out = Path(ctx.cache_dir) / "simulated" / f"{style.name}-seed{seed}-{key}"
    return simulate_tree(style, clips, out, seed, workers=ctx.n_workers, progress=ctx.progress)
