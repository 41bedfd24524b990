"""Case 4: the results folder is read as it is. Damaged result files are reported by name (never a
KeyError), files of an unknown schema version are left out of every mean and never overwritten."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ser_bench.errors import SerBenchWarning
from ser_bench.reporting.leaderboard import summary_table
from ser_bench.reporting.publish import render
from ser_bench.results.record import SCHEMA_VERSION
from ser_bench.results.store import load_results, scan_results

from .conftest import make_ctx, run_idt


@pytest.fixture(scope="module")
def computed(registry, clean_tree, cache_dir, tmp_path_factory):
    """One good result (IDT logreg on the clean tree), computed once for the module."""
    results = tmp_path_factory.mktemp("computed")
    run_idt(registry, make_ctx(clean_tree, cache_dir), results)
    return results


@pytest.fixture()
def folder(computed, tmp_path):
    """A fresh copy of a results folder holding one good result."""
    return Path(shutil.copytree(computed, tmp_path / "results"))


def good(folder):
    (path,) = folder.glob("*.json")
    return path, json.loads(path.read_text())


def drop(key):
    def damage(payload, text):
        del payload[key]
        return json.dumps(payload)
    return damage


DAMAGE = {  # how -> (new file text from (payload, text), words of the reason)
    "empty": (lambda p, t: "", "empty"),
    "truncated": (lambda p, t: t[:len(t) // 2], "not valid JSON"),
    "no params": (drop("params"), "lacks 'params'"),
    "no splits": (drop("splits"), "has no splits"),
    "no uar": (lambda p, t: t.replace('"uar"', '"UAR"'), "splits[0].metrics lacks 'uar'"),
    "wrong shape": (lambda p, t: json.dumps({**p, "params": "idt"}), "params is a JSON str"),
    "not an object": (lambda p, t: "[1, 2]", "not a result"),
    "newer schema": (lambda p, t: json.dumps({**p, "schema_version": SCHEMA_VERSION + 1}),
                     f"schema version {SCHEMA_VERSION + 1}"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_bad_result_file_is_left_out_by_name_never_read_or_crashed_on(kind, folder):
    path, payload = good(folder)
    other = folder / path.name.replace("__seed0__", "__seed7__")  # a second, damaged file beside the good one
    damage, words = DAMAGE[kind]
    other.write_text(damage(json.loads(json.dumps(payload)), path.read_text()))
    with pytest.warns(SerBenchWarning) as caught:
        results = load_results(folder)
    assert [r.cell_id for r in results] == [payload["cell_id"]]
    assert any(str(other) in str(w.message) and words in str(w.message) for w in caught)
    scan = scan_results(folder)
    assert [p.path for p in scan.problems] == [str(other)]
    with pytest.warns(SerBenchWarning):
        board = render(folder)
    assert "## Result files left out" in board and other.name in board


def test_a_newer_schema_file_does_not_move_the_mean(folder):
    path, payload = good(folder)
    baseline = summary_table(load_results(folder)).iloc[0, 0]
    newer = {**payload, "schema_version": SCHEMA_VERSION + 1, "cell_id": payload["cell_id"] + "x"}
    for split in newer["splits"]:
        split["metrics"]["uar"] = 0.0
    (folder / path.name.replace("__seed0__", "__seed1__")).write_text(json.dumps(newer))
    with pytest.warns(SerBenchWarning, match="upgrade ser-bench"):
        assert summary_table(load_results(folder)).iloc[0, 0] == baseline


def test_run_never_overwrites_a_newer_schema_file(registry, clean_tree, cache_dir, folder):
    path, payload = good(folder)
    path.write_text(json.dumps({**payload, "schema_version": SCHEMA_VERSION + 1, "new_field": 1}))
    before = path.read_bytes()
    report = run_idt(registry, make_ctx(clean_tree, cache_dir), folder)
    assert not report.ran and len(report.failed) == 1
    message = str(report.failed[0][1])
    assert str(path) in message and "upgrade ser-bench" in message.lower() and "--results" in message
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind", ["empty", "truncated", "no params"])
def test_run_recomputes_a_damaged_file_of_its_own_and_says_so(kind, registry, clean_tree, cache_dir, folder):
    path, payload = good(folder)
    damage, words = DAMAGE[kind]
    damaged = damage(json.loads(json.dumps(payload)), path.read_text())
    path.write_text(damaged)
    report = run_idt(registry, make_ctx(clean_tree, cache_dir), folder)
    assert len(report.ran) == 1 and "damaged" in report.recomputed[0][1] and words in report.recomputed[0][1]
    assert json.loads(path.read_text())["summary"] == payload["summary"]
    # never silently overwritten: the damaged file is kept aside, and the user is told where
    ((before, aside),) = report.moved_aside
    assert before == path and aside.parent == folder / ".damaged" and aside.read_text() == damaged
    assert any(str(aside) in w and "computed again" in w for w in report.warnings)
    assert scan_results(folder).problems == []  # what was moved aside is not read as a result


def test_a_copy_of_a_cell_in_a_sub_folder_is_a_duplicate_not_a_second_result(folder):
    path, payload = good(folder)
    (folder / "backup").mkdir()
    copy = folder / "backup" / path.name
    copy.write_text(path.read_text())
    scan = scan_results(folder)
    assert len(scan.results) == 1 and [(p.path, p.kind) for p in scan.problems] == [(str(copy), "duplicate")]
    with pytest.warns(SerBenchWarning, match="duplicate|second file"):
        assert len(load_results(folder)) == 1
