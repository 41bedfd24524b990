"""Round 2, caches: an entry computed for something else (another clip's feature vector under this clip's
name, a model copied under another key with a checksum written to match) is recomputed with a warning
naming it, never used; a cache path that is not a file (a named pipe, a folder) never hangs the run and
is replaced, or named in an error that says what to do."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import signal

import numpy as np
import pandas as pd
import pytest
import torch

from ser_bench.data.features import extract_features, extractor_key, file_digest
from ser_bench.errors import SerBenchError
from ser_bench.model.model_cache import DiskModelCache
from ser_bench.plugin_api.types import FeatureSpec

from .conftest import make_ctx

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")


class ToneStats:
    """A cheap extractor (mean, spread, peak, trough): the cache, not openSMILE, is under test."""

    columns = ["mean", "std", "max", "min"]
    batch_size = 2

    def __call__(self, signal, rate):
        return np.array([signal.mean(), signal.std(), signal.max(), signal.min()], dtype=np.float32)

    def batch(self, signals, rate):
        return [self(s, rate) for s in signals]


def tone_stats(**params):
    return ToneStats()


STATS = FeatureSpec(name="tone-stats", build=tone_stats, summary="test", version="1", dim=4)
BATCHED = dataclasses.replace(STATS, name="tone-stats-batched", batched=True)


@pytest.fixture(params=[STATS, BATCHED], ids=["per-clip", "batched"])
def spec(request):
    return request.param


@pytest.fixture()
def clips(clean_tree):
    return pd.DataFrame({"path": sorted(str(p) for p in clean_tree.rglob("*.wav"))[:3]})


@pytest.fixture()
def deadline():
    """A hang fails the test after 20 s instead of blocking the suite (pytest.fail, not TimeoutError: that
    is an OSError, which the code under test may catch as an unreadable entry and go on to hang again)."""
    def expired(signum, frame):
        pytest.fail("the run hung on a cache path")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def entry_of(cache, spec, path):
    """The feature cache entry of the clip at ``path`` (its one file under the feature's folder)."""
    digest = file_digest(path)
    return cache / "features" / extractor_key(spec, spec.params) / digest[:2] / f"{digest}.npy"


def extract(clean_tree, cache, manifest, spec):
    ctx = make_ctx(clean_tree, cache)
    return extract_features(manifest, spec, None, ctx), ctx.warnings


def unpacked(cache, spec, manifest, first):
    """The cache as an older ser-bench (or an interrupted run) leaves it: one entry per clip, no pack.
    These tests damage entries of single clips, which a run reads (and folds into the pack) as before."""
    from ser_bench.data.feature_cache import FeatureEntries

    folder = cache / "features" / extractor_key(spec, spec.params)
    shutil.rmtree(folder / "packs")
    for path, vector in zip(manifest["path"], first.values):
        assert FeatureEntries(folder, spec.dim).write(file_digest(path), vector) == ""


@pytest.mark.parametrize("swap", ["copied", "np.save", "from another feature"])
def test_a_feature_cache_entry_holding_another_clips_vector_is_recomputed_and_named(swap, spec, clean_tree, clips,
                                                                                     tmp_path):
    cache = tmp_path / "cache"
    first, _ = extract(clean_tree, cache, clips, spec)
    unpacked(cache, spec, clips, first)
    assert not np.array_equal(first.values[0], first.values[1])
    victim = entry_of(cache, spec, clips["path"][1])
    if swap == "copied":  # another clip's entry, byte for byte, under this clip's name
        shutil.copyfile(entry_of(cache, spec, clips["path"][0]), victim)
    elif swap == "np.save":  # a well-formed vector of the right length: another clip's numbers
        np.save(victim, first.values[0])
    else:  # another clip's entry from the folder of another feature configuration of the same length
        other = dataclasses.replace(spec, version="2")
        unpacked(cache, other, clips, extract(clean_tree, cache, clips, other)[0])
        shutil.copyfile(entry_of(cache, other, clips["path"][0]), victim)
    again, warnings = extract(clean_tree, cache, clips, spec)
    assert np.array_equal(again.values, first.values) and again.cache_hits == 2
    assert len(warnings) == 1 and str(victim) in warnings[0] and "recomputed" in warnings[0], warnings
    third, warnings = extract(clean_tree, cache, clips, spec)
    assert third.cache_hits == 3 and not warnings  # the entry was rewritten for its own key


def test_a_feature_cache_written_before_entries_recorded_their_key_is_recomputed_once(spec, clean_tree, clips,
                                                                                       tmp_path):
    cache = tmp_path / "cache"
    first, _ = extract(clean_tree, cache, clips, spec)
    unpacked(cache, spec, clips, first)
    for k, path in enumerate(clips["path"]):  # what the previous ser-bench wrote: np.save's bytes alone
        np.save(entry_of(cache, spec, path), first.values[(k + 1) % 3])  # here, each another clip's numbers
    again, warnings = extract(clean_tree, cache, clips, spec)
    assert np.array_equal(again.values, first.values) and again.cache_hits == 0
    (warning,) = warnings  # one line for the folder, not one per entry
    assert warning.startswith(f"3 feature cache entries of {spec.name} (") and "recomputed once" in warning
    assert str(entry_of(cache, spec, clips["path"][0])) in warning
    third, warnings = extract(clean_tree, cache, clips, spec)
    assert third.cache_hits == 3 and not warnings


@needs_fifo
def test_a_named_pipe_in_the_feature_cache_is_replaced_not_read(spec, clean_tree, clips, tmp_path, deadline):
    cache = tmp_path / "cache"
    first, _ = extract(clean_tree, cache, clips, spec)
    unpacked(cache, spec, clips, first)
    victim = entry_of(cache, spec, clips["path"][1])
    victim.unlink()
    os.mkfifo(victim)  # opened for reading, it would wait for a writer forever
    again, warnings = extract(clean_tree, cache, clips, spec)
    assert np.array_equal(again.values, first.values) and again.cache_hits == 2
    assert len(warnings) == 1 and str(victim) in warnings[0] and "named pipe" in warnings[0], warnings
    assert "recomputed" in warnings[0] and not victim.exists()  # replaced by a file, then folded into the pack
    assert extract(clean_tree, cache, clips, spec)[0].cache_hits == 3


def test_a_folder_in_place_of_a_feature_cache_entry_is_an_error_naming_it(spec, clean_tree, clips, tmp_path,
                                                                            deadline):
    cache = tmp_path / "cache"
    unpacked(cache, spec, clips, extract(clean_tree, cache, clips, spec)[0])
    victim = entry_of(cache, spec, clips["path"][1])
    victim.unlink()
    (victim / "something").mkdir(parents=True)  # a folder cannot be replaced by a file
    with pytest.raises(SerBenchError) as info:
        extract(clean_tree, cache, clips, spec)
    message = str(info.value)
    assert str(victim) in message and "folder" in message and "remove it" in message, message
    shutil.rmtree(victim)  # what the message says to do; the other clips were kept
    again, warnings = extract(clean_tree, cache, clips, spec)
    assert again.cache_hits == 2 and not warnings


def build():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def trainer(step):
    def train(model):
        with torch.no_grad():
            model.weight.add_(step)
    return train


def model_entry(folder, key):
    return folder / key[:2] / f"{key}.pt"


def test_a_model_cache_entry_copied_under_another_key_with_a_matching_checksum_is_retrained(tmp_path):
    a, b = "aa" * 20, "bb" * 20
    cache = DiskModelCache(tmp_path)
    cache.get_or_train(a, build, trainer(1.0))
    trained_b = cache.get_or_train(b, build, trainer(2.0)).weight.detach().clone()
    victim = model_entry(tmp_path, b)
    shutil.copyfile(model_entry(tmp_path, a), victim)
    # The checksum rewritten to match the copied bytes, and naming the key it now sits under.
    victim.with_name(victim.name + ".sha256").write_text(f"{hashlib.sha256(victim.read_bytes()).hexdigest()} {b}\n")
    calls = []
    fresh = DiskModelCache(tmp_path)
    model = fresh.get_or_train(b, build, lambda m: (calls.append(1), trainer(2.0)(m)))
    assert calls and torch.equal(model.weight, trained_b) and fresh.hits == 0
    assert len(fresh.warnings) == 1 and str(victim) in fresh.warnings[0] and "retrained" in fresh.warnings[0]
    assert a in fresh.warnings[0]  # the key the entry was written for
    reread = DiskModelCache(tmp_path)
    reread.get_or_train(b, build, lambda m: pytest.fail("a verified entry was retrained"))
    assert reread.hits == 1 and not reread.warnings


@needs_fifo
@pytest.mark.parametrize("which", ["entry", "checksum"])
def test_a_named_pipe_in_the_model_cache_is_replaced_not_read(which, tmp_path, deadline):
    key = "cc" * 20
    trained = DiskModelCache(tmp_path).get_or_train(key, build, trainer(1.0)).weight.detach().clone()
    victim = model_entry(tmp_path, key)
    if which == "checksum":
        victim = victim.with_name(victim.name + ".sha256")
    victim.unlink()
    os.mkfifo(victim)
    calls = []
    fresh = DiskModelCache(tmp_path)
    model = fresh.get_or_train(key, build, lambda m: (calls.append(1), trainer(1.0)(m)))
    assert calls and torch.equal(model.weight, trained) and fresh.hits == 0
    assert len(fresh.warnings) == 1 and "named pipe" in fresh.warnings[0] and "retrained" in fresh.warnings[0]
    assert victim.is_file()
    reread = DiskModelCache(tmp_path)
    reread.get_or_train(key, build, lambda m: pytest.fail("a verified entry was retrained"))
    assert reread.hits == 1


def test_a_folder_in_place_of_a_model_cache_entry_is_named_with_what_to_do(tmp_path):
    key = "dd" * 20
    trained = DiskModelCache(tmp_path).get_or_train(key, build, trainer(1.0)).weight.detach().clone()
    victim = model_entry(tmp_path, key)
    victim.unlink()
    victim.mkdir()
    fresh = DiskModelCache(tmp_path)
    model = fresh.get_or_train(key, build, trainer(1.0))
    assert torch.equal(model.weight, trained)  # the model is trained and used all the same
    assert any(f"{victim} is a folder, not a file: remove it" in w for w in fresh.warnings), fresh.warnings
