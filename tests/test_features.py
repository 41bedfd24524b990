"""Feature extraction: the paper's 64 columns, the content-keyed cache, bad audio."""
from __future__ import annotations

import shutil

import numpy as np
import soundfile as sf
import pandas as pd
import pytest

from ser_bench.errors import SerBenchError
from ser_bench.data.features import extract_features


def test_is09_64_has_exactly_the_mean_and_std_columns(registry):
    extractor = registry.get("features", "is09-64").build()
    assert len(extractor.columns) == 64
    assert all(c.endswith(("_amean", "_stddev")) for c in extractor.columns)
    assert "F0_sma_amean" in extractor.columns and "pcm_fftMag_mfcc_sma_de[12]_stddev" in extractor.columns


@pytest.mark.parametrize("feature", ["egemaps", "is09-64"])
def test_opensmile_features_are_the_columns_process_signal_gives(registry, feature):
    """The extractor reads openSMILE's raw output; the numbers are process_signal's, column for column."""
    extractor = registry.get("features", feature).build()
    rng = np.random.default_rng(4)
    t = np.arange(16000 * 2) / 16000
    signal = (0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.2 * t)) + 0.02 * rng.standard_normal(len(t))).astype(np.float32)
    frame = extractor._smile.process_signal(signal, 16000)
    expected = frame[extractor.columns].to_numpy()[0]
    got = extractor(signal, 16000)
    assert got.shape == (len(extractor.columns),) and np.isfinite(got).all()
    np.testing.assert_array_equal(got, expected)


def test_second_extraction_reads_the_cache_and_edits_invalidate(registry, ctx, tiny_corpora, tmp_path):
    spec = registry.get("features", "is09-64")
    manifest = tiny_corpora["sim-ravdess"].iloc[:12].copy()
    # Copies under a new name: the cache is keyed by content, so a moved corpus keeps its cache.
    paths = []
    for i, p in enumerate(manifest["path"]):
        target = tmp_path / f"clip{i}.wav"
        shutil.copy(p, target)
        paths.append(str(target))
    manifest["path"] = paths
    first = extract_features(manifest, spec, None, ctx)
    second = extract_features(manifest, spec, None, ctx)
    assert second.cache_hits == 12 and np.array_equal(first.values, second.values)
    audio, rate = sf.read(paths[0])
    sf.write(paths[0], audio * 0.5, rate)  # an edit: same name, new content
    third = extract_features(manifest, spec, None, ctx)
    assert third.cache_hits == 11 and not np.array_equal(third.values[0], first.values[0])


def test_cached_features_start_no_process_and_only_misses_are_extracted(registry, ctx, tiny_corpora, tmp_path,
                                                                       monkeypatch):
    """Reading the cache needs no worker (spawning them costs more than the reads); the clips that miss
    are extracted by workers and land in their own rows, between hits."""
    import ser_bench.data.features as features

    spec = registry.get("features", "is09-64")
    manifest = tiny_corpora["sim-ravdess"].iloc[:40].copy()
    paths = [str(tmp_path / f"clip{i}.wav") for i in range(len(manifest))]
    for source, target in zip(manifest["path"], paths):
        shutil.copy(source, target)
    manifest["path"] = paths
    monkeypatch.setattr(features, "CHUNK", 2)  # many chunks: the process pool's path, not one chunk in here
    first = extract_features(manifest, spec, None, ctx)
    spawn = features.ProcessPoolExecutor

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker process was started for cached features")

    monkeypatch.setattr(features, "ProcessPoolExecutor", no_pool)
    again = extract_features(manifest, spec, None, ctx)
    assert again.cache_hits == 40 and np.array_equal(again.values, first.values)
    monkeypatch.setattr(features, "ProcessPoolExecutor", spawn)

    edited = [3, 17, 18, 39]  # spread over more than one chunk of work
    for i in edited:
        audio, rate = sf.read(paths[i])
        sf.write(paths[i], audio * 0.5, rate)
    third = extract_features(manifest, spec, None, ctx)
    assert third.cache_hits == 36
    kept = [i for i in range(40) if i not in edited]
    assert np.array_equal(third.values[kept], first.values[kept])
    for i in edited:
        alone = extract_features(manifest.iloc[[i]], spec, None, ctx)  # now a hit: what row i must hold
        assert np.array_equal(third.values[i], alone.values[0]) and not np.array_equal(third.values[i], first.values[i])


def test_bad_files_are_named_and_can_be_skipped(registry, ctx, tiny_corpora, tmp_path):
    spec = registry.get("features", "is09-64")
    good = tiny_corpora["sim-ravdess"]["path"].iloc[0]
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    fake = tmp_path / "notaudio.wav"
    fake.write_text("this is not a wav file")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(open(good, "rb").read()[:30])
    manifest = pd.DataFrame({"path": [good, str(empty), str(fake), str(truncated)]})
    with pytest.raises(SerBenchError) as info:
        extract_features(manifest, spec, None, ctx)
    message = str(info.value)
    assert "empty.wav" in message and "notaudio.wav" in message and "truncated.wav" in message
    assert "--skip-bad-files" in message
    ctx.skip_bad_files = True
    result = extract_features(manifest, spec, None, ctx)
    assert set(result.skipped) == {1, 2, 3} and not np.isnan(result.values[0]).any()


def test_a_cache_entry_is_read_as_np_load_reads_it_whatever_its_header(tmp_path):
    """Entries as FeatureEntries.write writes them (float32, this machine's byte order) are read without
    np.load's header parsing; any other header (float64, big-endian, another length, damaged) goes through
    np.load, so every entry reads as np.load reads it, or is refused as before."""
    import numpy as np

    from ser_bench.data.feature_cache import FeatureEntries, vector_of

    rng = np.random.default_rng(0)
    vector = rng.standard_normal(88).astype(np.float32)
    entries = FeatureEntries(tmp_path / "feature-v1-0123abcd", 88)
    assert entries.write("ab" * 20, vector) == ""
    got, why = entries.read("ab" * 20)
    assert why == "" and got.dtype == np.float32 and got.flags.writeable and np.array_equal(got, vector)
    cases = {"float64": vector.astype(np.float64), "big-endian": vector.astype(">f4"),
             "nan": np.full(88, np.nan, np.float32)}
    for name, value in cases.items():
        np.save(tmp_path / f"{name}.npy", value)
    for path in (tmp_path / f"{name}.npy" for name in cases):
        got, why = vector_of(path.read_bytes(), 88)
        expected = np.load(path)
        assert why == "" and got.dtype == expected.dtype and got.flags.writeable, path
        assert np.array_equal(got, expected, equal_nan=True), path
    np.save(tmp_path / "short.npy", vector[:87])
    assert vector_of((tmp_path / "short.npy").read_bytes(), 88) == (None, "holds shape (87,), expected (88,)")
    got, why = vector_of(b"\x00" * len(entries.path("ab" * 20).read_bytes()), 88)
    assert got is None and why.startswith("unreadable")
    assert entries.read("cd" * 20)[0] is None
