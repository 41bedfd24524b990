"""The simulator: real-corpus layouts and names, counts, seeding, caching."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from ser_bench_plugins.datasets import sim_crema, sim_enterface, sim_ravdess
from ser_bench_plugins.simulation.prosody import make_speaker, render


def test_full_clip_lists_match_the_real_corpora():
    ravdess = sim_ravdess.clips()
    assert len(ravdess) == 1440 and len({c.speaker for c in ravdess}) == 24
    assert ravdess[0].relpath == "Actor_01/03-01-01-01-01-01-01.wav"
    crema = sim_crema.clips()
    assert len({c.speaker for c in crema}) == 91 and len({c.relpath.split("_")[1] for c in crema}) == 12
    assert {c.relpath.rsplit("_", 1)[1][:-4] for c in crema} == {"LO", "MD", "HI", "XX"}
    enterface = sim_enterface.clips()
    assert len({c.speaker for c in enterface}) == 42 and len(enterface) == 42 * 30
    assert any(c.relpath.startswith("subject 7/subject 7/") for c in enterface)  # the archive's extra level


def test_tiny_trees_load_through_the_real_loaders(tiny_corpora):
    ravdess = tiny_corpora["sim-ravdess"]
    assert len(ravdess) == 4 * 60
    assert ravdess.groupby("speaker").size().eq(60).all()
    assert set(ravdess["emotion"]) == {"neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise"}
    assert (ravdess.groupby("speaker")["gender"].first() == ["male", "female", "male", "female"]).all()
    audio, rate = sf.read(ravdess["path"].iloc[0])
    assert rate == 16000 and audio.ndim == 1 and 0.5 < len(audio) / rate < 6 and np.abs(audio).max() > 0.01
    crema = tiny_corpora["sim-crema"]
    assert len(crema) == 4 * 82 and set(crema["speaker"]) == {"1001", "1002", "1003", "1004"}


def test_prosody_plan_is_deterministic_per_seed():
    def plan(seed):
        rng = np.random.default_rng(seed)
        speaker = make_speaker(rng, "en-us", "female")
        return [render(speaker, e, 1.0, rng) for e in ("anger", "sadness", "fear")]

    assert plan(1) == plan(1)
    assert plan(1) != plan(2)


def test_emotions_move_prosody_in_the_documented_directions():
    rng = np.random.default_rng(0)
    speaker = make_speaker(rng, "en-us", "male")
    takes = {e: [render(speaker, e, 1.0, rng) for _ in range(200)] for e in ("anger", "sadness", "neutral")}
    mean = {e: {k: np.mean([getattr(t, k) for t in ts]) for k in ("rate", "volume", "range_")} for e, ts in takes.items()}
    assert mean["anger"]["volume"] > mean["neutral"]["volume"] > mean["sadness"]["volume"]
    assert mean["anger"]["rate"] > mean["sadness"]["rate"]
    assert mean["anger"]["range_"] > mean["sadness"]["range_"]


def test_generated_tree_is_cached(registry, cache_dir, tiny_corpora):
    from ser_bench.plugin_api.context import RunContext

    first = tiny_corpora["sim-ravdess"]["path"].iloc[5]
    before = __import__("os").stat(first).st_mtime_ns
    again = registry.get("datasets", "sim-ravdess").load(RunContext(cache_dir=cache_dir, workers=1), speakers=4)
    assert again["path"].iloc[5] == first and __import__("os").stat(first).st_mtime_ns == before


@pytest.mark.slow
def test_generated_audio_is_bit_identical_for_a_seed_whatever_the_workers(tmp_path):
    import hashlib

    from ser_bench_plugins.simulation.generate import simulate_tree

    clips = sim_ravdess.clips(2)

    def digest(folder, workers):
        simulate_tree(sim_ravdess.STYLE, clips, folder, seed=5, workers=workers)
        return hashlib.sha1(b"".join((folder / c.relpath).read_bytes() for c in clips)).hexdigest()

    assert digest(tmp_path / "a", 1) == digest(tmp_path / "b", 2)
    # The same speakers inside a larger corpus get the same audio.
    more = sim_ravdess.clips(3)
    simulate_tree(sim_ravdess.STYLE, more, tmp_path / "c", seed=5, workers=2)
    assert all((tmp_path / "a" / c.relpath).read_bytes() == (tmp_path / "c" / c.relpath).read_bytes() for c in clips)


def test_the_simulation_key_is_asdicts_and_clips_hold_only_plain_values():
    """settings_key reads a Clip's fields directly instead of through asdict (whose recursive copy cost
    0.15 s a run on the three sim corpora): the same key as asdict gives, which holds while every field
    is a plain value. A cached simulated corpus whose key changed would be generated again."""
    import dataclasses
    import hashlib
    import json
    import typing

    from ser_bench_plugins.simulation import generate

    hints = typing.get_type_hints(generate.Clip)
    assert all(hints[f.name] in (str, int, float, bool) for f in dataclasses.fields(generate.Clip)), hints
    clips = [generate.Clip(f"Actor_0{i}/{i}.wav", f"spk{i}", "female", "anger", 0.5 + i, "kids are talking")
             for i in range(3)]
    style = sim_ravdess.style()
    oracle = hashlib.sha256(json.dumps(
        {"v": generate.SIM_VERSION, "style": dataclasses.asdict(style), "seed": 4, "cues": generate.EMOTION_CUES,
         "jitter": generate.TAKE_JITTER, "clips": [dataclasses.asdict(c) for c in clips]},
        sort_keys=True, default=str).encode()).hexdigest()
    assert generate.settings_key(style, clips, 4) == oracle
