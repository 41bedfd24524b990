"""The one store under every cache and the results folder: where a key's entry lives (the layout of the
caches written before it, unchanged), atomic writes that leave nothing half-written, the key check on
read, and the writability probe with its messages."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from ser_bench import cache_store
from ser_bench.cache_store import (BadChecksum, CacheStore, NoKeyRecorded, NotAFile, WrongKey, ensure_writable,
                                   probe_writable, read_regular, write_atomic, write_json_atomic)
from ser_bench.errors import SerBenchError

REPO = Path(__file__).resolve().parents[1]
DIGEST = "3f786850e387550fdab836ed7e6dc881de23001b"
MARK = b"\nser-bench feature cache entry for "
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")


def test_a_key_lives_where_the_caches_before_the_store_put_it(tmp_path):
    features = CacheStore(tmp_path / "features" / "egemaps-v1-0123abcd", ".npy", mark=MARK)
    assert features.path(DIGEST) == tmp_path / "features" / "egemaps-v1-0123abcd" / "3f" / f"{DIGEST}.npy"
    # what a feature cache entry has recorded after its values since entries record their key
    assert features.record(DIGEST) == MARK + b"egemaps-v1-0123abcd " + DIGEST.encode() + b"\n"
    models = CacheStore(tmp_path / "models", ".pt", checksum=True)
    assert models.path(DIGEST) == tmp_path / "models" / "3f" / f"{DIGEST}.pt"
    assert models.sidecar(DIGEST) == tmp_path / "models" / "3f" / f"{DIGEST}.pt.sha256"
    assert CacheStore(tmp_path, ".npy").record(DIGEST) == b""


def test_an_entry_reads_back_as_it_was_put_with_its_key_on_disk(tmp_path):
    store = CacheStore(tmp_path / "feat", ".npy", mark=MARK)
    path = store.put_bytes(DIGEST, b"values")
    assert path.read_bytes() == b"values" + store.record(DIGEST) and store.get_bytes(DIGEST) == b"values"
    models = CacheStore(tmp_path / "models", ".pt", checksum=True)
    models.put_bytes(DIGEST, b"weights")
    assert models.path(DIGEST).read_bytes() == b"weights"
    assert models.sidecar(DIGEST).read_text() == f"{hashlib.sha256(b'weights').hexdigest()} {DIGEST}\n"
    assert models.get_bytes(DIGEST) == b"weights"
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary file left


def test_an_entry_recording_another_key_or_none_is_refused_and_says_which(tmp_path):
    store = CacheStore(tmp_path / "feat", ".npy", mark=MARK)
    other = "ab" * 20
    store.put_bytes(other, b"another clip's values")
    store.path(DIGEST).parent.mkdir(parents=True)
    store.path(DIGEST).write_bytes(store.path(other).read_bytes())  # copied under this key's name
    with pytest.raises(WrongKey) as info:
        store.get_bytes(DIGEST)
    assert info.value.recorded == f"feat {other}" and info.value.expected == f"feat {DIGEST}"
    store.path(DIGEST).write_bytes(b"values of an older ser-bench")
    with pytest.raises(NoKeyRecorded) as info:
        store.get_bytes(DIGEST)
    assert info.value.data == b"values of an older ser-bench"
    elsewhere = CacheStore(tmp_path / "other-feature", ".npy", mark=MARK)
    elsewhere.path(DIGEST).parent.mkdir(parents=True)
    elsewhere.path(DIGEST).write_bytes(b"v" + store.record(DIGEST))  # the same clip, another feature's folder
    with pytest.raises(WrongKey):
        elsewhere.get_bytes(DIGEST)


@pytest.mark.parametrize("damage, why", [
    ("altered", "does not match its checksum"), ("copied", "was not written for this key"),
    ("no checksum", "has no checksum"), ("empty checksum", "has no checksum")])
def test_a_checksummed_entry_that_does_not_match_is_refused(damage, why, tmp_path):
    store = CacheStore(tmp_path, ".pt", checksum=True)
    store.put_bytes(DIGEST, b"weights")
    if damage == "altered":
        store.path(DIGEST).write_bytes(b"weightz")
    elif damage == "copied":  # another key's entry and checksum under this key's names
        other = "ab" * 20
        store.put_bytes(other, b"other weights")
        store.path(DIGEST).write_bytes(store.path(other).read_bytes())
        store.sidecar(DIGEST).write_bytes(store.sidecar(other).read_bytes())
    elif damage == "no checksum":
        store.sidecar(DIGEST).unlink()
    else:
        store.sidecar(DIGEST).write_bytes(b"")
    with pytest.raises(BadChecksum, match=why):
        store.get_bytes(DIGEST)


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "entry.npy"
    target.write_bytes(b"the old entry")

    def full_disk(fh):
        fh.write(b"half of the new")
        fh.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, full_disk)
    assert target.read_bytes() == b"the old entry" and sorted(p.name for p in tmp_path.iterdir()) == ["entry.npy"]

    def interrupted(fh):
        fh.write(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C during a write is cleaned up the same way
        write_atomic(target, interrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry.npy"]


def test_a_store_whose_write_fails_raises_and_leaves_nothing(tmp_path, monkeypatch):
    store = CacheStore(tmp_path, ".pt", checksum=True)
    real = cache_store.write_atomic
    calls = []

    def second_fails(path, data, **kwargs):  # the entry is written, its checksum is not
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kwargs)

    monkeypatch.setattr(cache_store, "write_atomic", second_fails)
    with pytest.raises(OSError):
        store.put_bytes(DIGEST, b"weights")
    with pytest.raises(BadChecksum, match="has no checksum"):  # an entry without its checksum is never trusted
        store.get_bytes(DIGEST)


@needs_fifo
def test_a_named_pipe_is_replaced_by_a_write_and_never_read(tmp_path):
    pipe = tmp_path / "entry"
    os.mkfifo(pipe)
    with pytest.raises(NotAFile, match="named pipe"):
        read_regular(pipe)  # returns at once: opened without blocking
    write_atomic(pipe, b"data")
    assert pipe.is_file() and read_regular(pipe) == b"data"
    with pytest.raises(NotAFile, match="a folder, not a file"):
        read_regular(tmp_path)


def test_concurrent_writers_of_one_file_leave_one_whole_version(tmp_path):
    target = tmp_path / "r.json"
    payloads = [{"writer": n, "values": list(range(2000))} for n in range(4)]
    threads = [threading.Thread(target=lambda p=p: [write_json_atomic(target, p) for _ in range(20)])
               for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert json.loads(target.read_text()) in payloads and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_is_written_as_result_files_have_always_been():
    """A committed result rewritten through the store comes out byte for byte as it is on disk."""
    committed = sorted((REPO / "results").rglob("*__seed*.json"))
    if not committed:
        pytest.skip("no committed result in this checkout")
    original = committed[0].read_bytes()
    assert json.dumps(json.loads(original), indent=1, allow_nan=True).encode() == original


def test_json_written_by_the_store_has_the_expected_bytes_and_the_users_umask(tmp_path):
    payload = {"b": [1, 2.5, float("nan")], "a": {"é": None}}
    old = os.umask(0o027)
    try:
        write_json_atomic(tmp_path / "sub" / "r.json", payload)
    finally:
        os.umask(old)
    written = tmp_path / "sub" / "r.json"
    assert written.read_bytes() == json.dumps(payload, indent=1, allow_nan=True).encode()
    assert stat.S_IMODE(written.stat().st_mode) == 0o640


def test_the_probe_names_a_file_in_the_way(tmp_path):
    (tmp_path / "notes").write_text("mine")
    assert probe_writable(tmp_path / "notes") == f"{tmp_path / 'notes'} is a file, not a folder"
    assert probe_writable(tmp_path / "notes" / "cache") == f"{tmp_path / 'notes'} is a file, not a folder"
    assert probe_writable(tmp_path / "fresh" / "cache") == "" and (tmp_path / "fresh" / "cache").is_dir()
    assert list((tmp_path / "fresh" / "cache").iterdir()) == []  # the probe file is gone
    with pytest.raises(SerBenchError) as info:
        ensure_writable(tmp_path / "notes", "the results folder", "pass another --results folder")
    assert str(info.value) == (f"the results folder {tmp_path / 'notes'} is a file, not a folder: pass another "
                               "--results folder")
    assert (tmp_path / "notes").read_text() == "mine"


@pytest.mark.parametrize("how", ["chmod", "refused"])
def test_the_probe_reports_a_read_only_folder(how, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    if how == "chmod":
        if not hasattr(os, "geteuid") or os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        folder.chmod(0o555)
    else:  # as a read-only mount refuses it, whoever asks
        def mkstemp(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(kwargs.get("dir")))
        monkeypatch.setattr(cache_store.tempfile, "mkstemp", mkstemp)
    try:
        assert probe_writable(folder) == "Permission denied"
        with pytest.raises(SerBenchError) as info:
            ensure_writable(folder, "the cache folder", "point --cache-dir at a writable folder")
    finally:
        folder.chmod(0o755)
    assert str(info.value) == (f"cannot write to the cache folder {folder} (Permission denied): make it writable, "
                               "or point --cache-dir at a writable folder")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="ownership is a POSIX thing")
def test_a_private_folder_must_be_the_users_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_store.tempfile, "tempdir", str(tmp_path))
    shared = tmp_path / "shared" / "models"
    shared.mkdir(parents=True)
    (tmp_path / "shared").chmod(0o777)
    try:
        assert probe_writable(shared, private=True) == f"{tmp_path / 'shared'} belongs to another user or others " \
                                                       "may write in it"
        assert probe_writable(shared) == ""
    finally:
        (tmp_path / "shared").chmod(0o755)
