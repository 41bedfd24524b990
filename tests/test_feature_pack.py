"""The packed feature cache and the clips' digest memo (issue "corpora of a hundred thousand clips"):
the same numbers and manifest hash from a cold cache, a per-clip cache and a pack; clips added or changed
are the only ones extracted; a damaged pack is said and rebuilt; concurrent writers keep every row; a
rerun where nothing changed reads no clip."""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_bench.data import batching, digest_memo, feature_cache, features
from ser_bench.data.feature_cache import FeatureEntries, file_digest
from ser_bench.data.feature_pack import FeaturePack, pack_name
from ser_bench.data.features import extract_features, extractor_key
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.registry import Entry
from ser_bench.plugin_api.types import DatasetSpec, FeatureSpec

EMOTIONS = ("anger", "sadness", "happiness")
# prepare_corpus's manifest hash of the fabricated tree below, computed before the pack and the memo
# existed (per-clip cache, every clip hashed): the same content must keep the same hash.
TREE_HASH = "e32a21dbb42cf168f58b5a15368b74b635988ae0a12601fdd0177fd941d66dd5"
OLD = 1_600_000_000 * 10**9  # a modification time long past (2020), so the memo may remember a file


class Stats:
    """A cheap extractor counting the clips it is given: the cache, not the features, is under test."""

    columns = ["mean", "std", "max", "min"]

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, signal, rate):
        self.calls.append(len(signal))
        return np.array([signal.mean(), signal.std(), signal.max(), signal.min()], dtype=np.float32)


def stats_spec(calls, version="1"):
    return FeatureSpec(name="stats", build=lambda: Stats(calls), summary="test", version=version, dim=4)


def write_clip(path: Path, speaker: int, emotion: int, k: int, gain: float = 0.3) -> None:
    rng = np.random.default_rng(speaker * 100 + emotion * 10 + k)
    t = np.arange(8000) / 16000
    signal = gain * np.sin(2 * np.pi * (200 + 50 * emotion + 5 * speaker) * t) + 0.02 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, signal.astype(np.float32), 16000, subtype="PCM_16")
    os.utime(path, ns=(OLD, OLD))


def write_tree(root: Path, speakers=4) -> pd.DataFrame:
    """36 half-second tones (4 speakers x 3 emotions x 3), the manifest of a corpus called ``fab``."""
    rows = []
    for s in range(speakers):
        for e, emotion in enumerate(EMOTIONS):
            for k in range(3):
                path = root / f"spk{s}" / f"{emotion}_{k}.wav"
                write_clip(path, s, e, k)
                rows.append({"path": str(path), "speaker": f"spk{s}", "emotion": emotion, "corpus": "fab",
                             "language": "en"})
    return pd.DataFrame(rows)


@pytest.fixture()
def tree(tmp_path):
    return write_tree(tmp_path / "tree")


def make_ctx(cache: Path) -> RunContext:
    seen: list = []
    return RunContext(data_dirs=[], cache_dir=cache, workers=1, on_warning=seen.append)


def folder_of(cache: Path, spec) -> Path:
    return cache / "features" / extractor_key(spec, spec.params)


def prepared(manifest, cache: Path, calls: list):
    """``prepare_corpus`` of ``manifest`` as the corpus ``fab`` with the counting feature."""
    from ser_bench.running.corpora import prepare_corpus

    registry = load_registry(PluginSettings(entry_points=False))
    registry.add(Entry("datasets", DatasetSpec(name="fab", load=lambda ctx: manifest.copy(), summary="test"),
                       "test", "test", "0"))
    registry.add(Entry("features", stats_spec(calls), "test", "test", "0"))
    ctx = make_ctx(cache)
    return prepare_corpus("fab", "stats", EMOTIONS, {}, registry, ctx), ctx


def test_cold_per_clip_and_packed_caches_give_the_same_bits_and_manifest_hash(tree, tmp_path):
    calls: list = []
    cold, _ = prepared(tree, tmp_path / "cache", calls)
    assert cold.manifest_hash == TREE_HASH and len(calls) == 36
    folder = folder_of(tmp_path / "cache", stats_spec(calls))
    pack = folder / "packs" / "fab.npy"
    assert pack.is_file() and not list(folder.glob("??/*.npy"))  # one file for the corpus, none per clip
    stored = np.load(pack)  # a pack is an .npy file: np.load reads its matrix
    assert stored.shape == (36, 4) and stored.dtype == np.float32

    packed, ctx = prepared(tree, tmp_path / "cache", calls)
    assert len(calls) == 36 and not ctx.warnings  # nothing extracted again

    # The same vectors as one entry per clip (an older ser-bench's cache): read, folded into a pack.
    legacy = tmp_path / "legacy"
    entries = FeatureEntries(folder_of(legacy, stats_spec(calls)), 4)
    for path, vector in zip(cold.manifest["path"], cold.features):
        assert entries.write(file_digest(path), vector) == ""
    migrated, ctx = prepared(tree, legacy, calls)
    assert len(calls) == 36 and not ctx.warnings and (folder_of(legacy, stats_spec(calls)) / "packs" / "fab.npy").is_file()
    assert not list(folder_of(legacy, stats_spec(calls)).glob("??/*.npy"))  # migrated: the clips' files are gone
    for other in (packed, migrated):
        assert other.manifest_hash == TREE_HASH
        assert other.features.dtype == cold.features.dtype and other.features.tobytes() == cold.features.tobytes()


def test_added_clips_are_appended_and_a_changed_clip_is_extracted_again(tree, tmp_path):
    calls: list = []
    spec = stats_spec(calls)
    ctx = make_ctx(tmp_path / "cache")
    first = extract_features(tree.iloc[:30], spec, None, ctx)
    assert len(calls) == 30
    whole = extract_features(tree, spec, None, ctx)
    assert len(calls) == 36 and whole.cache_hits == 30  # only the six new clips
    assert np.array_equal(whole.values[:30], first.values)
    pack = FeaturePack(folder_of(tmp_path / "cache", spec), "fab", 4)
    assert len(pack.read()[0].digests) == 36

    edited = tree["path"][7]
    write_clip(Path(edited), 0, 2, 1, gain=0.2)  # same length, same size, new content
    os.utime(edited, ns=(OLD + 10**9, OLD + 10**9))
    again = extract_features(tree, spec, None, ctx)
    assert len(calls) == 37 and again.cache_hits == 35
    assert not np.array_equal(again.values[7], whole.values[7])
    assert np.array_equal(np.delete(again.values, 7, 0), np.delete(whole.values, 7, 0))
    assert len(pack.read()[0].digests) == 37 and not ctx.warnings  # the old row stays: rows are only added


@pytest.mark.parametrize("damage", ["truncated", "altered", "no record", "another feature's pack"])
def test_a_damaged_pack_is_said_recomputed_and_rebuilt_never_used(damage, tree, tmp_path):
    calls: list = []
    spec = stats_spec(calls)
    cache = tmp_path / "cache"
    first = extract_features(tree, spec, None, make_ctx(cache))
    victim = folder_of(cache, spec) / "packs" / "fab.npy"
    data = victim.read_bytes()
    if damage == "truncated":
        victim.write_bytes(data[:len(data) // 2])
    elif damage == "altered":  # one value's bits flipped: a well-formed pack holding another number
        blob = bytearray(data)
        blob[200] ^= 0x40
        victim.write_bytes(bytes(blob))
    elif damage == "no record":
        np.save(victim, np.load(victim)[::-1].copy())  # a plain .npy of the right shape, rows swapped
    else:
        other = stats_spec(calls, version="2")
        extract_features(tree, other, None, make_ctx(cache))
        shutil.copyfile(folder_of(cache, other) / "packs" / "fab.npy", victim)
    ctx = make_ctx(cache)
    del calls[:]
    again = extract_features(tree, spec, None, ctx)
    assert again.values.tobytes() == first.values.tobytes() and again.cache_hits == 0 and len(calls) == 36
    (warning,) = ctx.warnings
    assert str(victim) in warning and "recomputed" in warning and "rebuilt" in warning, warning
    ctx = make_ctx(cache)
    assert extract_features(tree, spec, None, ctx).cache_hits == 36 and not ctx.warnings


def test_a_named_pipe_or_a_folder_at_the_packs_path(tree, tmp_path):
    calls: list = []
    spec = stats_spec(calls)
    cache = tmp_path / "cache"
    first = extract_features(tree, spec, None, make_ctx(cache))
    victim = folder_of(cache, spec) / "packs" / "fab.npy"
    victim.unlink()
    if hasattr(os, "mkfifo"):  # opened for reading, a pipe would wait for a writer forever
        os.mkfifo(victim)
        ctx = make_ctx(cache)
        again = extract_features(tree, spec, None, ctx)
        assert np.array_equal(again.values, first.values) and victim.is_file()
        assert len(ctx.warnings) == 1 and "named pipe" in ctx.warnings[0]
        victim.unlink()
    (victim / "inside").mkdir(parents=True)
    with pytest.raises(SerBenchError) as info:
        extract_features(tree, spec, None, make_ctx(cache))
    assert str(victim) in str(info.value) and "folder" in str(info.value) and "remove it" in str(info.value)
    shutil.rmtree(victim)
    del calls[:]
    ctx = make_ctx(cache)
    assert extract_features(tree, spec, None, ctx).cache_hits == 36 and not calls  # kept clip by clip meanwhile


def test_two_writers_adding_to_one_pack_keep_every_row(tmp_path):
    folder = tmp_path / "stats-v1-0123abcd"
    rng = np.random.default_rng(0)
    batches = [{hashlib.sha1(f"{w}-{i}".encode()).hexdigest(): rng.standard_normal(4).astype(np.float32)
                for i in range(40)} for w in range(4)]
    errors: list = []

    def writer(batch):
        try:
            for start in range(0, 40, 5):  # many small additions, interleaved with the other writers'
                kept, warning = FeaturePack(folder, "fab", 4).add(dict(list(batch.items())[start:start + 5]))
                assert kept and not warning
        except BaseException as exc:  # noqa: B036 (reported by the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    held, warning = FeaturePack(folder, "fab", 4).read()
    assert not warning and len(held.digests) == 160
    for batch in batches:
        for digest, vector in batch.items():
            assert np.array_equal(held.get(digest), vector)
    assert not [p for p in folder.rglob("*.tmp")]


def test_a_rerun_reads_no_clip_and_an_edit_keeping_the_size_is_seen(tree, tmp_path, monkeypatch):
    calls: list = []
    cache = tmp_path / "cache"
    first, _ = prepared(tree, cache, calls)
    hashed: list = []

    def counting(path):
        hashed.append(path)
        return file_digest(path)

    for module in (feature_cache, features, batching):
        monkeypatch.setattr(module, "file_digest", counting)
    again, ctx = prepared(tree, cache, calls)
    assert hashed == [] and again.manifest_hash == first.manifest_hash == TREE_HASH and not ctx.warnings

    victim = Path(tree["path"][4])
    size = victim.stat().st_size
    blob = bytearray(victim.read_bytes())
    blob[-2] ^= 0x01  # the last sample's low bit: same size, another content
    victim.write_bytes(bytes(blob))
    os.utime(victim, ns=(OLD + 5 * 10**9, OLD + 5 * 10**9))
    assert victim.stat().st_size == size
    changed, _ = prepared(tree, cache, calls)
    assert changed.manifest_hash != TREE_HASH and changed.manifest["digest"][4] != first.manifest["digest"][4]
    assert {Path(p) for p in hashed} == {victim}  # the edited clip alone is read (hashed, then extracted)
    assert len(calls) == 37


def test_a_file_just_written_is_hashed_again_and_a_damaged_memo_is_said(tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"0123456789")
    memo = digest_memo.DigestMemo(tmp_path / "memo.tsv")
    assert memo.digests([str(clip)]) == [file_digest(clip)] and memo.hashed == 1
    # written less than two seconds ago: an edit within the filesystem's time stamp could hide from a memo
    assert memo.digests([str(clip)]) == [file_digest(clip)] and memo.hashed == 1
    os.utime(clip, ns=(OLD, OLD))
    memo.digests([str(clip)])
    assert memo.digests([str(clip)]) == [file_digest(clip)] and memo.hashed == 0
    assert memo.digests([str(tmp_path / "missing.wav")]) == [None]
    data = memo.path.read_bytes()
    memo.path.write_bytes(data.replace(file_digest(clip).encode(), b"0" * 40))
    assert memo.digests([str(clip)]) == [file_digest(clip)] and memo.hashed == 1
    assert "damaged" in memo.warning and str(memo.path) in memo.warning


def test_pack_names_are_safe_file_names_that_keep_corpora_apart():
    assert pack_name("sim-ravdess") == "sim-ravdess"
    a, b = pack_name("csv:/data/a.csv"), pack_name("csv:/data/b.csv")
    assert a != b and "/" not in a and ":" not in a
    assert pack_name("../x") != pack_name("x") and "/" not in pack_name("../x")


def test_path_parts_split_and_join_as_os_path_does():
    import os

    from ser_bench.data.path_parts import join_name, split_path

    for path in ["a/b", "/a/b", "a//b", "/", "//", "///x", "x", "", "a/", "a/b/", "//a", "a/./b", "../x", "/a//b//c"]:
        assert split_path(path) == os.path.split(path), path
    for folder in ["/", "/a", "a", "", "/a/"]:
        assert join_name(folder, "clip.wav") == os.path.join(folder, "clip.wav"), folder


def test_resolved_paths_equal_path_resolve_in_a_listed_folder_with_links(tmp_path):
    from ser_bench.running.corpora import _LISTING_FROM, resolved

    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(_LISTING_FROM + 5):  # enough clips for the folder to be listed once
        (folder / f"c{i}.wav").write_bytes(b"x")
    (folder / "link.wav").symlink_to(folder / "c1.wav")
    (tmp_path / "alias").symlink_to(folder)
    paths = [str(folder / f"c{i}.wav") for i in range(_LISTING_FROM + 5)] + [
        str(folder / "link.wav"), str(tmp_path / "alias" / "c3.wav"), str(folder / "missing.wav"),
        f"{folder}//c5.wav", f"{folder}/./c6.wav", str(folder) + "/"]
    assert resolved(paths) == [str(Path(p).resolve()) for p in paths]
    assert resolved(paths[-6:]) == [str(Path(p).resolve()) for p in paths[-6:]]  # a folder asked clip by clip
