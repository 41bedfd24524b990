"""Recording channels: conformance of every registered one, what each does to the signal, and their
place in the feature cache key."""
from __future__ import annotations

import numpy as np
import pytest

from ser_bench.data.audio import SAMPLE_RATE, apply_channels
from ser_bench.plugin_api.context import RunContext
from ser_bench.data.domains import view_of
from ser_bench.errors import SerBenchError
from ser_bench.data.features import extract_features
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_kit.testing import _speech_like, check_channel
from ser_bench.plugin_api.types import FeatureSpec

REGISTRY = load_registry(PluginSettings(entry_points=False))


def chain(registry, expression: str):
    """``(name, apply)`` pairs of an expression's channels, as the feature extractor builds them."""
    return [(c.name, c.build(**c.params)) for c in view_of(registry.get("datasets", expression)).channels]


def band_energy_above(signal: np.ndarray, hz: float) -> float:
    """Fraction of the signal's energy above ``hz``."""
    from scipy.signal import welch

    freqs, power = welch(signal, fs=SAMPLE_RATE, nperseg=1024)
    return float(power[freqs > hz].sum() / power.sum())


@pytest.mark.parametrize("name", REGISTRY.names("channels"))
def test_every_registered_channel_conforms(name):
    try:
        check_channel(name, REGISTRY)
    except SerBenchError as exc:  # a codec this PyAV build lacks is refused up front, saying so
        pytest.skip(str(exc))


def test_built_in_channels_are_registered():
    assert {"telephone", "opus", "noise", "reverb"} <= set(REGISTRY.names("channels"))


def test_telephone_leaves_no_energy_above_4_khz():
    rng = np.random.default_rng(0)
    white = (0.1 * rng.standard_normal(SAMPLE_RATE * 2)).astype(np.float32)
    assert band_energy_above(white, 4100) > 0.4
    out = apply_channels(white, SAMPLE_RATE, chain(REGISTRY, "csv+telephone"), "ab" * 20)
    assert len(out) == len(white)
    assert band_energy_above(out, 4100) < 1e-4
    assert band_energy_above(out, 3600) < 0.01  # the 300-3400 Hz band


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_noise_gives_the_requested_snr(snr):
    clean = _speech_like(SAMPLE_RATE, seconds=2.0)
    noisy = apply_channels(clean, SAMPLE_RATE, chain(REGISTRY, f"csv+noise:snr={snr}"), "cd" * 20)
    noise = noisy.astype(np.float64) - clean
    measured = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert abs(measured - snr) < 0.5


@pytest.mark.parametrize("codec", ["opus", "mp3"])
def test_codec_round_trip_changes_the_signal_but_stays_correlated(codec):
    clean = _speech_like(SAMPLE_RATE, seconds=2.0)
    try:
        out = apply_channels(clean, SAMPLE_RATE, chain(REGISTRY, f"csv+{codec}"), "ef" * 20)
    except SerBenchError as exc:
        pytest.skip(str(exc))
    assert len(out) == len(clean)
    error = np.sqrt(np.mean((out - clean) ** 2) / np.mean(clean ** 2))
    assert error > 0.01, f"{codec} at a low bitrate should not be transparent"
    assert np.corrcoef(out, clean)[0, 1] > 0.8


def test_reverb_spreads_energy_in_time_and_keeps_the_level():
    click = np.zeros(SAMPLE_RATE, dtype=np.float32)
    click[100] = 1.0
    out = apply_channels(click, SAMPLE_RATE, chain(REGISTRY, "csv+reverb:rt60=0.3"), "12" * 20)
    assert np.sqrt(np.mean(out ** 2)) == pytest.approx(np.sqrt(np.mean(click ** 2)), rel=1e-3)
    assert np.abs(out[100 + SAMPLE_RATE // 20:]).max() > 1e-3  # a tail 50 ms after the click


@pytest.mark.parametrize("expression", ["csv+noise:snr=5+reverb+telephone", "csv+opus+noise"])
def test_same_clip_through_the_same_channels_gives_the_same_output(expression):
    clean = _speech_like(SAMPLE_RATE)
    steps = chain(REGISTRY, expression)
    first = apply_channels(clean, SAMPLE_RATE, steps, "0f" * 20)
    again = apply_channels(clean.copy(), SAMPLE_RATE, chain(REGISTRY, expression), "0f" * 20)
    other_clip = apply_channels(clean, SAMPLE_RATE, steps, "f0" * 20)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other_clip)  # the noise is drawn per clip, from its content


class _Centroid:
    """A cheap feature for cache tests: spectral centroid and RMS."""

    columns = ["centroid", "rms"]

    def __call__(self, signal, sample_rate):
        power = np.abs(np.fft.rfft(signal)) ** 2
        freqs = np.fft.rfftfreq(len(signal), 1 / sample_rate)
        return np.array([(freqs * power).sum() / power.sum(), np.sqrt(np.mean(signal ** 2))])


CENTROID = FeatureSpec(name="centroid", build=_Centroid, summary="test feature", version="1", dim=2)


@pytest.fixture()
def clips(tmp_path):
    import pandas as pd
    import soundfile as sf

    paths = []
    for i in range(3):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, _speech_like(SAMPLE_RATE, seed=i), SAMPLE_RATE)
        paths.append(str(path))
    return pd.DataFrame({"path": paths, "speaker": ["a", "b", "c"], "emotion": ["anger"] * 3})


def test_channel_features_are_cached_apart_and_by_channel_parameters(clips, tmp_path):
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path / "cache", workers=1)

    def extract(expression):
        channels = view_of(REGISTRY.get("datasets", expression)).channels
        return extract_features(clips, CENTROID, None, ctx, channels=channels)

    plain = extract("csv")  # no channel: the plain cache
    phone = extract("csv+telephone")
    assert phone.cache_hits == 0 and plain.cache_hits == 0
    assert not np.allclose(phone.values, plain.values)  # features of the line, not of the studio
    assert extract("csv+telephone").cache_hits == 3  # the second run extracts nothing
    noisy = extract("csv+noise:snr=10")
    assert noisy.cache_hits == 0 and extract("csv+noise:snr=10").cache_hits == 3
    louder_noise = extract("csv+noise:snr=5")
    assert louder_noise.cache_hits == 0, "a changed channel parameter must miss the cache"
    assert not np.allclose(louder_noise.values, noisy.values)
    folders = {p.name for p in (tmp_path / "cache" / "features").iterdir()}
    assert len(folders) == 4 and any("+telephone-v1-" in f for f in folders)
