"""Typed result records: round trips, migration of 0.1 files, the tidy exports and `results check`."""
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from ser_bench.cli.main import main
from ser_bench.reporting.export import board_frame
from ser_bench.results.record import (SCHEMA_VERSION, CellParams, RecordError, Result, UnknownSchema,
                                      make_split)
from ser_bench.results.store import scan_results

COMMITTED = Path(__file__).resolve().parents[1] / "results"
LABELS = ("anger", "happiness", "sadness", "fear")


def _idt(loss, uars, seed=0):
    params = CellParams(protocol="idt", loss=loss, target="ravdess", seed=seed, encoder="identity",
                        feature="is09-64", labels=LABELS, training={"epochs": 1, "lr": 0.001},
                        loss_params={"C": 1.0})
    splits = [make_split(f"loso-{i:02d}", u, info={"test_speaker": f"{i:02d}"}) for i, u in enumerate(uars)]
    return Result(cell_id=f"idt__{loss}__none__ravdess__seed{seed}__0123456789", status="ok", params=params,
                  splits=tuple(splits))


def _board_folder(tmp_path):
    folder = tmp_path / "results"
    _idt("logreg", [0.60, 0.70, 0.65, 0.72]).to_disk(folder / "a.json")
    _idt("bce_pair", [0.50, 0.55, 0.52, 0.58]).to_disk(folder / "b.json")
    _idt("linear_svm", [0.61, 0.69, 0.66, 0.70]).to_disk(folder / "c.json")
    return folder


def test_every_committed_result_file_reads_and_writes_back_unchanged():
    files = [p for p in COMMITTED.rglob("*.json") if ".tuning" not in p.parts]
    checked = 0
    for path in files:
        payload = json.loads(path.read_text())
        if not isinstance(payload, dict) or "cell_id" not in payload:
            continue  # paired.json and other tables
        written = Result.from_json(payload).to_json()
        if payload["schema_version"] == SCHEMA_VERSION:
            assert written == payload, path
        else:  # migrated on reading: only the version moves, and splits may gain what they held already
            assert written["schema_version"] == SCHEMA_VERSION, path
            assert [{k: v for k, v in s.items() if k != "speakers"} for s in written.get("splits", [])] \
                == payload.get("splits", []), path
            assert {k: v for k, v in written.items() if k not in ("splits", "schema_version")} \
                == {k: v for k, v in payload.items() if k not in ("splits", "schema_version")}, path
        checked += 1
    assert checked > 2000


def test_a_0_1_file_is_migrated_on_reading_and_by_the_migrate_command(tmp_path, capsys):
    record = _idt("logreg", [0.6, 0.7])
    old = {**record.to_json(), "schema_version": 1}
    path = tmp_path / "results" / "old.json"
    path.parent.mkdir()
    path.write_text(json.dumps(old))
    read = Result.from_disk(path)
    assert read.written_with == 1 and read.schema_version == SCHEMA_VERSION and read == record
    assert main(["results", "check", str(path.parent)]) == 0
    assert "older schema" in capsys.readouterr().out
    assert main(["results", "migrate", str(path.parent)]) == 0
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert Result.from_disk(path).written_with == SCHEMA_VERSION


def test_records_refuse_what_is_not_a_result_naming_the_field():
    good = _idt("logreg", [0.6, 0.7]).to_json()
    with pytest.raises(UnknownSchema, match="schema version 99"):
        Result.from_json({**good, "schema_version": 99})
    broken = json.loads(json.dumps(good))
    del broken["splits"][1]["metrics"]["macro_f1"]
    with pytest.raises(RecordError, match=r"splits\[1\].metrics lacks 'macro_f1'"):
        Result.from_json(broken)
    with pytest.raises(RecordError, match="unknown status 'done'"):
        Result.from_json({**good, "status": "done"})
    future = {**good, "new_section": {"x": 1}}  # a key this version does not know survives a round trip
    assert Result.from_json(future).to_json() == future


def test_csv_export_has_numeric_columns_one_row_per_method_setting_and_pair(tmp_path, capsys):
    folder = _board_folder(tmp_path)
    assert main(["leaderboard", str(folder), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(frame) == 3 and set(frame["level"]) == {"cell"}
    for column in ("uar", "ci_low", "ci_high", "p", "p_holm", "training.lr", "loss_params.C"):
        assert pd.api.types.is_float_dtype(frame[column]), column
    assert pd.api.types.is_integer_dtype(frame["n"]) and set(frame["unit"]) == {"held-out speakers"}
    best = frame[frame["best"]].iloc[0]
    assert best["loss"] == "logreg" and best["uar"] == pytest.approx(0.6675) and pd.isna(best["p"])
    worse = frame[frame["loss"] == "bce_pair"].iloc[0]
    assert worse["p_holm"] < 0.05 and worse["significant"]  # 12 points below on every speaker
    assert frame["pair"].tolist() == ["– → ravdess"] * 3 and frame["tuned"].eq(False).all()


def test_json_and_parquet_exports_carry_the_same_frame(tmp_path, capsys):
    folder = _board_folder(tmp_path)
    assert main(["leaderboard", str(folder), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["loss"] for r in rows] == ["logreg", "linear_svm", "bce_pair"]
    assert isinstance(rows[0]["uar"], float) and rows[0]["p"] is None
    pytest.importorskip("pyarrow")
    out = tmp_path / "board.parquet"
    assert main(["leaderboard", str(folder), "--format", "parquet", "-o", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), board_frame(scan_results(folder).results))
    assert main(["leaderboard", str(folder), "--format", "parquet"]) == 2  # needs -o
    assert "pass -o" in capsys.readouterr().err


def test_results_check_lists_damaged_foreign_and_duplicate_files(tmp_path, capsys):
    folder = _board_folder(tmp_path)
    (folder / "idt__x__none__ravdess__seed0__0123456789.json").write_text('{"schema_version": 2, "cell')
    future = {**_idt("knn", [0.5, 0.5]).to_json(), "schema_version": SCHEMA_VERSION + 1}
    (folder / "future.json").write_text(json.dumps(future))
    (folder / "copy").mkdir()
    (folder / "copy" / "a.json").write_text((folder / "a.json").read_text())
    assert main(["results", "check", str(folder)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(line.startswith("damaged: ") and "truncated" in line for line in lines)
    assert any(line.startswith("unknown schema: ") and "future.json" in line for line in lines)
    assert any(line.startswith("duplicate: ") and "copy/a.json" in line for line in lines)
    assert "3 usable result files" in captured.err and "1 damaged, 1 duplicate, 1 unknown schema" in captured.err
    assert main(["leaderboard", str(folder)]) == 0  # the board says the same and renders what is usable
    captured = capsys.readouterr()
    assert "## Result files left out" in captured.out and "future.json" in captured.err
    assert main(["results", "check", str(tmp_path / "nowhere")]) == 2


def test_provenance_is_read_once_per_process_and_handed_out_as_copies(monkeypatch):
    """Every cell's provenance records the packages and commit of the code the process runs: read once
    (the metadata of every tracked package took 11 ms a cell), and a caller editing its copy changes no
    other cell's record."""
    from importlib import metadata

    from ser_bench.results import store

    calls = []
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: calls.append(name) or real(name))
    store._package_versions.cache_clear()
    try:
        first = store.package_versions()
        first["torch"] = "edited by a caller"
        second = store.package_versions()
        assert sorted(calls) == sorted(store.TRACKED_PACKAGES)  # each package asked once, not per call
        assert second["torch"] == real("torch") and second is not first
        assert store.git_commit() is store.git_commit()
    finally:
        store._package_versions.cache_clear()
