"""Write a simulated corpus tree: real audio files, laid out and named like the real corpus.

Every take is seeded from (seed, corpus, file name) and every speaker from (seed, corpus, speaker id),
so the same settings always give the same files, whatever the order or number of worker processes.
"""
from __future__ import annotations

import hashlib
import json
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .channel import Channel, apply_channel, spectral_tilt
from .prosody import EMOTION_CUES, TAKE_JITTER, make_speaker, render

SIM_VERSION = "1"
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
    return np.random.default_rng([zlib.crc32(str(p).encode()) for p in parts])


_SYNTH = None


def _render_clips(style: CorpusStyle, seed: int, root: str, clips: Sequence[Clip]) -> int:
    """Worker body: synthesise, colour and write each clip that is not on disk yet."""
    global _SYNTH
    import soundfile as sf
    from scipy.signal import resample_poly

    from .espeak import EspeakSynthesizer

    if _SYNTH is None:
        _SYNTH = EspeakSynthesizer()
    speakers: dict = {}
    for clip in clips:
        target = Path(root) / clip.relpath
        if target.exists():
            continue
        if clip.speaker not in speakers:
            srng = _rng(seed, style.name, "speaker", clip.speaker)
            voice = style.voices[int(srng.integers(len(style.voices)))]
            speakers[clip.speaker] = make_speaker(srng, voice, clip.gender)
        rng = _rng(seed, style.name, clip.relpath)
        take = render(speakers[clip.speaker], clip.emotion, clip.intensity * style.expressiveness, rng,
                      bias=dict(dict(style.cue_bias).get(clip.emotion, ())))
        y = _SYNTH.synthesize(clip.text, take.voice, rate=take.rate, pitch=take.pitch,
                              range_=take.range_, volume=take.volume)
        y = resample_poly(spectral_tilt(y, take.tilt), 320, 441)  # 22050 -> 16000 Hz
        y = apply_channel(y, SAMPLE_RATE, style.channel, rng, take.gain_db, take.snr_offset_db)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        sf.write(str(tmp), y, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, target)  # a killed run never leaves a half-written clip
    return len(clips)


def settings_key(style: CorpusStyle, clips: Sequence[Clip], seed: int) -> str:
    """A hash of everything that determines the generated audio."""
    payload = json.dumps({"v": SIM_VERSION, "style": asdict(style), "seed": seed,
                          "cues": EMOTION_CUES, "jitter": TAKE_JITTER,
                          "clips": [asdict(c) for c in clips]}, sort_keys=True, default=str)
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
    chunk = 40
    batches = [clips[i:i + chunk] for i in range(0, len(clips), chunk)]
    from contextlib import nullcontext

    bar_cm = progress(len(clips), f"simulating {style.name}") if progress else nullcontext(None)
    with bar_cm as bar:
        if workers <= 1:
            for batch in batches:
                _render_clips(style, seed, str(out_dir), batch)
                bar and bar.update(len(batch))
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                futures = [pool.submit(_render_clips, style, seed, str(out_dir), b) for b in batches]
                for f in futures:
                    n = f.result()
                    bar and bar.update(n)
    marker.write_text(json.dumps({"key": key, "corpus": style.name, "seed": seed, "clips": len(clips),
                                  "simulator_version": SIM_VERSION}, indent=1))
    return out_dir


def cached_tree(ctx, style: CorpusStyle, clips: Sequence[Clip], seed: int) -> Path:
    """The simulated tree in the run context's cache, generated on first use."""
    key = settings_key(style, clips, seed)[:10]
    out = Path(ctx.cache_dir) / "simulated" / f"{style.name}-seed{seed}-{key}"
    return simulate_tree(style, clips, out, seed, workers=ctx.n_workers, progress=ctx.progress)
