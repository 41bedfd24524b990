"""The model cache when nodes do not share a filesystem, or share one whose locks cannot be trusted:
an unusable folder falls back to a node-local one (or to no cache) with one warning, an entry written
for another key is never used, and writers racing on one key never let a reader see a mixed entry."""
from __future__ import annotations

import errno
import shutil
import threading

import pytest
import torch

from ser_bench.cache_store import probe_writable
from ser_bench.model import model_cache
from ser_bench.model.model_cache import DiskModelCache


def build():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def adding(value):
    def train(model):
        with torch.no_grad():
            model.weight.add_(value)
    return train


@pytest.fixture()
def node_home(tmp_path, monkeypatch):
    """This node's own cache folder (what ``SER_BENCH_CACHE_DIR`` names on a cluster node)."""
    home = tmp_path / "node-cache"
    monkeypatch.setenv("SER_BENCH_CACHE_DIR", str(home))
    return home


def test_a_folder_this_node_cannot_create_falls_back_to_the_nodes_own_cache(tmp_path, node_home):
    (tmp_path / "mnt").write_text("the driver's mount point is a file here")
    cache = DiskModelCache(tmp_path / "mnt" / "models")
    first = cache.get_or_train("ab" * 20, build, adding(1.0))
    again = cache.get_or_train("ab" * 20, build, lambda m: pytest.fail("a cached model was retrained"))
    assert torch.equal(first.weight, again.weight) and cache.hits == 1
    assert cache.folder == node_home / "models" and list((node_home / "models").rglob("*.pt"))
    assert len(cache.warnings) == 1 and str(tmp_path / "mnt" / "models") in cache.warnings[0]
    assert str(node_home / "models") in cache.warnings[0] and "mount the same folder" in cache.warnings[0]


def test_with_no_usable_folder_at_all_models_are_trained_without_a_cache(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(model_cache, "node_local_folders", lambda: [tmp_path / "file" / "a", tmp_path / "file" / "b"])
    cache = DiskModelCache(tmp_path / "file" / "models")
    trained = []
    for _ in range(2):
        model = cache.get_or_train("cd" * 20, build, lambda m: (trained.append(1), adding(1.0)(m)))
    assert len(trained) == 2 and model.weight.abs().sum() > 0 and cache.folder is None
    assert len(cache.warnings) == 1 and "without a cache" in cache.warnings[0]


def test_a_temporary_fallback_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(model_cache.tempfile, "tempdir", str(tmp_path))
    shared = tmp_path / "ser-bench-x" / "models"
    shared.mkdir(parents=True)
    shared.parent.chmod(0o777)
    assert "others may write" in probe_writable(shared, private=True)
    assert probe_writable(shared) == ""  # a folder the user named is theirs to share
    shared.parent.chmod(0o755)
    assert probe_writable(shared, private=True) == ""


def test_an_entry_written_for_another_key_is_never_used(tmp_path):
    cache = DiskModelCache(tmp_path)
    cache.get_or_train("ab" * 20, build, adding(1.0))
    ours = cache.get_or_train("cd" * 20, build, adding(2.0)).weight.detach().clone()
    source, target = cache._path("ab" * 20), cache._path("cd" * 20)
    for suffix in ("", ".sha256"):  # a valid pair, moved under another key's name
        shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    fresh = DiskModelCache(tmp_path)
    model = fresh.get_or_train("cd" * 20, build, adding(2.0))
    assert torch.equal(model.weight, ours) and fresh.hits == 0
    assert len(fresh.warnings) == 1 and "not written for this key" in fresh.warnings[0]


def test_writers_racing_on_one_key_never_show_a_reader_a_mixed_entry(tmp_path):
    """Two writers of different weights (as on two nodes whose lock did not exclude each other) and a
    reader, all at once on one key: every entry the reader accepts is exactly one writer's."""
    cache = DiskModelCache(tmp_path)
    key = "ef" * 20
    models = []
    for value in (1.0, 2.0):
        model = build()
        adding(value)(model)
        models.append(model)
    cache._usable_folder()
    path = cache._path(key)
    path.parent.mkdir(parents=True)
    stop = threading.Event()
    seen, rejected = [], []

    def write(model):
        for _ in range(150):
            cache._save(key, model)

    def read():
        while not stop.is_set():
            state, why = cache._load(key)
            (seen.append(state["weight"]) if state is not None else why and rejected.append(why))

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(m,)) for m in models]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert seen and all(any(torch.equal(s, m.weight) for m in models) for s in seen)
    assert all("checksum" in why for why in rejected)  # caught as mismatched, then retrained
    assert not cache.warnings and not list(path.parent.glob(".*.tmp"))
    state, why = cache._load(key)  # the last complete pair stands
    assert state is not None and not why


def test_a_filesystem_without_working_locks_costs_a_duplicate_training_not_the_cell(tmp_path, monkeypatch):
    from filelock import FileLock

    def no_locks(self, *args, **kwargs):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(FileLock, "acquire", no_locks)
    cache = DiskModelCache(tmp_path)
    first = cache.get_or_train("ab" * 20, build, adding(1.0))
    second = cache.get_or_train("ab" * 20, build, lambda m: pytest.fail("a verified entry was retrained"))
    assert torch.equal(first.weight, second.weight) and cache.hits == 1
    assert len(cache.warnings) == 1 and "No locks available" in cache.warnings[0]


def test_a_lock_held_too_long_is_passed_with_a_warning(tmp_path):
    from filelock import FileLock

    cache = DiskModelCache(tmp_path)
    cache.lock_timeout = 0.2
    cache._usable_folder()
    path = cache._path("ab" * 20).with_suffix(".lock")
    path.parent.mkdir(parents=True)
    held = FileLock(str(path))
    held.acquire()
    result = []
    worker = threading.Thread(target=lambda: result.append(cache.get_or_train("ab" * 20, build, adding(1.0))))
    worker.start()
    worker.join(timeout=30)
    held.release()
    assert result and "held for more than" in cache.warnings[0]
