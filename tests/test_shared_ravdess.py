"""The loaders on the real RAVDESS copy in ../shared/data (skipped when it is absent)."""
from __future__ import annotations

import pytest

from ser_bench.data.audio import load_audio
from ser_bench_plugins.datasets import ravdess

from .conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "ravdess-16k").is_dir(), reason="../shared/data not present")


def test_all_1440_real_clips_load_with_the_right_counts():
    manifest = ravdess.read_tree(SHARED_DATA / "ravdess-16k")
    assert len(manifest) == 1440 and manifest["speaker"].nunique() == 24
    per_actor = manifest.groupby("speaker").size()
    assert per_actor.eq(60).all()
    counts = manifest.groupby("emotion").size()
    assert counts["neutral"] == 96 and counts.drop("neutral").eq(192).all()


def test_48k_and_stereo_originals_are_downmixed_and_resampled():
    import soundfile as sf

    files = sorted((SHARED_DATA / "ravdess-48k-sample").rglob("*.wav"))
    assert files
    stereo = 0
    for path in files:
        info = sf.info(str(path))
        stereo += info.channels == 2
        signal = load_audio(path)
        assert signal.ndim == 1
        assert abs(len(signal) - info.frames * 16000 / info.samplerate) <= 2
    assert stereo == 3
