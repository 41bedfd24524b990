"""Case 1: a stored result counts as done only when it was computed on the data the cell would use now
(manifest hash of the clips used, skipped files); otherwise it is recomputed, the user is told why, and
the old file is replaced only by the new result."""
from __future__ import annotations

import json
import shutil

import pytest

from ser_bench.running import evaluation
from .conftest import clip_name, make_ctx, run_idt

VICTIM = clip_name(1, "sadness", 2)


def stored(results):
    (path,) = results.glob("*.json")
    return path, json.loads(path.read_text())


def test_a_rerun_on_the_repaired_corpus_recomputes_and_says_why(registry, copy_tree, cache_dir, tmp_path):
    damaged = copy_tree("damaged")
    (damaged / VICTIM).write_bytes(b"RIFF")  # a cut download
    results = tmp_path / "results"
    first = run_idt(registry, make_ctx(damaged, cache_dir, skip=True), results)
    _, old = stored(results)
    assert len(first.ran) == 1 and old["data"]["target"]["clips_used"] == 23
    assert len(old["data"]["target"]["skipped_files"]) == 1

    clean = copy_tree("clean")
    second = run_idt(registry, make_ctx(clean, cache_dir, skip=True), results)
    assert not second.already_done and len(second.ran) == 1 and len(second.recomputed) == 1
    cell, reason = second.recomputed[0]
    assert "target corpus ravdess changed" in reason and "23 clips used and 1 files skipped then, 24 and 0 now" in reason
    _, new = stored(results)
    assert new["data"]["target"]["clips_used"] == 24 and new["data"]["target"]["skipped_files"] == []

    third = run_idt(registry, make_ctx(clean, cache_dir), results)
    assert len(third.already_done) == 1 and not third.ran and not third.recomputed


def test_same_content_elsewhere_is_done_and_nothing_is_recomputed(registry, copy_tree, cache_dir, tmp_path,
                                                                  monkeypatch):
    results = tmp_path / "results"
    run_idt(registry, make_ctx(copy_tree("here"), cache_dir), results)
    path, _ = stored(results)
    mtime = path.stat().st_mtime_ns
    monkeypatch.setattr(evaluation, "evaluate_cell", lambda *a, **k: pytest.fail("recomputed a cell that is done"))
    again = run_idt(registry, make_ctx(copy_tree("moved"), cache_dir), results)  # moved: same clips, other path
    assert len(again.already_done) == 1 and not again.recomputed and path.stat().st_mtime_ns == mtime


def test_an_edited_clip_recomputes(registry, copy_tree, cache_dir, tmp_path):
    tree = copy_tree()
    results = tmp_path / "results"
    run_idt(registry, make_ctx(tree, cache_dir), results)
    shutil.copy(tree / clip_name(1, "anger", 0), tree / clip_name(1, "anger", 1))  # same count, other content
    report = run_idt(registry, make_ctx(tree, cache_dir), results)
    assert len(report.ran) == 1 and "same number of clips, different content" in report.recomputed[0][1]


def test_the_old_result_stays_until_the_new_one_is_written(registry, copy_tree, cache_dir, tmp_path, monkeypatch):
    damaged = copy_tree("damaged")
    (damaged / VICTIM).unlink()
    results = tmp_path / "results"
    run_idt(registry, make_ctx(damaged, cache_dir), results)
    path, _ = stored(results)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("the machine fell over")

    monkeypatch.setattr(evaluation, "evaluate_cell", broken)
    report = run_idt(registry, make_ctx(copy_tree("clean"), cache_dir), results)
    assert len(report.recomputed) == 1 and len(report.failed) == 1
    assert path.read_bytes() == before and not list(results.glob(".*.tmp"))
