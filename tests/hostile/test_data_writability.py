"""Case 8: where results and caches go is checked before anything is computed; a write failure during
the run (a full disk) keeps finished cells, leaves no temporary file and says what to free; result files
get the user's umask."""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile

import pytest

from ser_bench.running import evaluation

from ser_bench import cache_store

from ser_bench.running import corpora, runner
from ser_bench.errors import SerBenchError

from .conftest import idt_cells, make_ctx, run_idt


@pytest.fixture()
def nothing_computed(monkeypatch):
    """Fail the test if a corpus is prepared or a cell evaluated."""
    def fail(*args, **kwargs):
        pytest.fail("work started before the folders were checked")
    monkeypatch.setattr(corpora, "prepare_corpus", fail)
    monkeypatch.setattr(evaluation, "evaluate_cell", fail)


def refuse_writes_under(monkeypatch, folder, code=errno.EACCES):
    """Make creating files under ``folder`` fail as on a read-only folder (root ignores chmod)."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(folder)):
            raise PermissionError(code, os.strerror(code), str(dir))
        return real(*args, dir=dir, **kwargs)
    monkeypatch.setattr(cache_store.tempfile, "mkstemp", mkstemp)


def test_results_pointing_at_a_file_is_refused_before_any_work(registry, clean_tree, tmp_path, nothing_computed):
    target = tmp_path / "results.txt"
    target.write_text("my notes")
    with pytest.raises(SerBenchError) as info:
        run_idt(registry, make_ctx(clean_tree, tmp_path / "cache"), target)
    assert str(target) in str(info.value) and "is a file" in str(info.value) and "--results" in str(info.value)
    assert target.read_text() == "my notes"


@pytest.mark.parametrize("which", ["results", "cache"])
def test_a_read_only_folder_is_refused_before_any_work(which, registry, clean_tree, tmp_path, monkeypatch,
                                                       nothing_computed):
    folder = tmp_path / which
    folder.mkdir()
    refuse_writes_under(monkeypatch, folder)
    with pytest.raises(SerBenchError) as info:
        run_idt(registry, make_ctx(clean_tree, tmp_path / "cache"), tmp_path / "results")
    message = str(info.value)
    assert str(folder) in message and "Permission denied" in message
    assert ("--results" if which == "results" else "--cache-dir") in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_chmod_read_only_results_folder_is_refused(registry, clean_tree, tmp_path, nothing_computed):
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SerBenchError, match="make it writable"):
            run_idt(registry, make_ctx(clean_tree, tmp_path / "cache"), folder)
    finally:
        folder.chmod(0o755)


def test_a_full_disk_keeps_finished_cells_leaves_no_temporary_file_and_says_what_to_free(
        registry, clean_tree, cache_dir, tmp_path, monkeypatch):
    cells = idt_cells(registry, losses=("logreg", "linear_svm"))
    folder = tmp_path / "results"
    real = cache_store.json.dump
    writes = []

    def dump(payload, fh, **kwargs):
        writes.append(payload["cell_id"])
        if len(writes) == 2:
            fh.write('{"half": ')
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(payload, fh, **kwargs)

    monkeypatch.setattr(cache_store.json, "dump", dump)
    with pytest.raises(SerBenchError) as info:
        runner.run(cells, registry, make_ctx(clean_tree, cache_dir), folder, executor="serial")
    message = str(info.value)
    assert "No space left on device" in message and "free space" in message and str(folder) in message
    assert "1 finished cells are safe" in message and "run the same command again" in message
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert files == [f"{writes[0]}.json"] and json.loads((folder / files[0]).read_text())["status"] == "ok"
    monkeypatch.setattr(cache_store.json, "dump", real)
    again = runner.run(cells, registry, make_ctx(clean_tree, cache_dir), folder, executor="serial")
    assert len(again.already_done) == 1 and len(again.ran) == 1


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_result_files_get_the_users_umask(umask, tmp_path):
    old = os.umask(umask)
    try:
        cache_store.write_json_atomic(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o666 & ~umask
