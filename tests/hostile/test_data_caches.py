"""Cases 5 and 6: a cache entry that cannot be trusted (a cut feature pack, an altered or zeroed
model) is recomputed with a warning naming it, never used and never a traceback."""
from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch

from ser_bench.data.features import extract_features
from ser_bench.model.model_cache import DiskModelCache

from .conftest import make_ctx, run_idt


def entries(cache, pattern):
    return sorted(p for p in cache.rglob(pattern) if not p.name.startswith("."))


@pytest.mark.parametrize("damage", ["truncated", "empty", "wrong shape", "garbage"])
def test_a_corrupt_feature_cache_entry_is_recomputed_and_named(damage, registry, clean_tree, tmp_path):
    spec = registry.get("features", "is09-64")
    manifest = pd.DataFrame({"path": sorted(str(p) for p in clean_tree.rglob("*.wav"))[:3]})
    ctx = make_ctx(clean_tree, tmp_path / "cache")
    first = extract_features(manifest, spec, None, ctx)
    (victim,) = entries(tmp_path / "cache" / "features", "*.npy")  # the corpus's pack
    data = victim.read_bytes()
    victim.write_bytes({"truncated": data[:len(data) // 2], "empty": b"", "garbage": b"\x00" * len(data),
                        "wrong shape": b""}[damage])
    if damage == "wrong shape":
        np.save(victim, np.zeros(7, dtype=np.float32))
    again = extract_features(manifest, spec, None, ctx)
    # A pack is trusted whole or not at all: every clip of a damaged one is recomputed.
    assert np.array_equal(first.values, again.values) and again.cache_hits == 0
    assert len(ctx.warnings) == 1 and str(victim) in ctx.warnings[0] and "recomputed" in ctx.warnings[0]
    assert extract_features(manifest, spec, None, ctx).cache_hits == 3  # the pack was rebuilt


def test_a_run_over_a_corrupt_feature_cache_finishes_with_a_warning(registry, clean_tree, tmp_path):
    cache = tmp_path / "cache"
    first = run_idt(registry, make_ctx(clean_tree, cache), tmp_path / "a")
    (victim,) = entries(cache / "features", "*.npy")  # the corpus's pack
    victim.write_bytes(victim.read_bytes()[:40])
    again = run_idt(registry, make_ctx(clean_tree, cache), tmp_path / "b")
    assert not again.failed and any(str(victim) in w for w in again.warnings)
    assert again.ran[0].summary["uar"] == first.ran[0].summary["uar"]


def build():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def train(model):
    with torch.no_grad():
        model.weight.add_(1.0)


@pytest.mark.parametrize("damage", ["zeroed", "altered", "no checksum", "cut"])
def test_a_model_cache_entry_failing_its_checksum_is_retrained(damage, tmp_path):
    cache = DiskModelCache(tmp_path)
    trained = cache.get_or_train("ab" * 20, build, train).weight.detach().clone()
    (entry,) = entries(tmp_path, "*.pt")
    assert (entry.parent / (entry.name + ".sha256")).exists()
    if damage == "zeroed":  # a valid file whose weights are all zero: loads fine, would be trusted
        torch.save({k: torch.zeros_like(v) for k, v in torch.load(entry, weights_only=True).items()}, entry)
    elif damage == "altered":
        blob = bytearray(entry.read_bytes())
        blob[-40] ^= 0xFF
        entry.write_bytes(bytes(blob))
    elif damage == "no checksum":
        (entry.parent / (entry.name + ".sha256")).unlink()
    else:
        entry.write_bytes(entry.read_bytes()[:100])
    calls = []
    fresh = DiskModelCache(tmp_path)
    model = fresh.get_or_train("ab" * 20, build, lambda m: (calls.append(1), train(m)))
    assert calls and torch.equal(model.weight, trained) and fresh.hits == 0
    assert len(fresh.warnings) == 1 and str(entry) in fresh.warnings[0] and "retrained" in fresh.warnings[0]
    reread = DiskModelCache(tmp_path)
    reread.get_or_train("ab" * 20, build, lambda m: pytest.fail("a verified entry was retrained"))
    assert reread.hits == 1 and not reread.warnings


def test_the_model_cache_lock_is_filelock_and_trains_once(tmp_path):
    import inspect

    from ser_bench.model import model_cache
    assert "fcntl" not in inspect.getsource(model_cache) and "FileLock" in inspect.getsource(model_cache)
    calls = []

    def slow_train(model):
        calls.append(1)
        time.sleep(0.3)
        train(model)

    threads = [threading.Thread(target=DiskModelCache(tmp_path).get_or_train, args=("cd" * 20, build, slow_train))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_a_model_cache_that_cannot_be_written_still_gives_the_model(tmp_path, monkeypatch):
    import errno

    from ser_bench import cache_store

    def full(data):
        def write(fh):
            fh.write(data[:100])
            raise OSError(errno.ENOSPC, "No space left on device")
        return write

    real = cache_store.write_atomic
    monkeypatch.setattr(cache_store, "write_atomic", lambda path, data, **kw: real(path, full(data), **kw))
    cache = DiskModelCache(tmp_path)
    model = cache.get_or_train("ef" * 20, build, train)
    assert model.weight.abs().sum() > 0 and "No space left" in cache.warnings[0]
    monkeypatch.undo()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".lock"]
