"""Feature parameters in cells: absent when empty, so no existing cell id moves; recorded and read back."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from ser_bench.results.record import CellParams
from ser_bench.running.cells import Cell

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_every_committed_result_keeps_its_cell_id():
    names = {f.name for f in fields(Cell)}
    checked = 0
    for path in sorted(RESULTS.rglob("*.json")):
        payload = json.loads(path.read_text())
        if not isinstance(payload, dict) or "cell_id" not in payload or "params" not in payload:
            continue  # boards and other files beside the results
        params = payload["params"]
        cell = Cell(**{k: tuple(v) if k == "labels" else v for k, v in params.items() if k in names})
        assert cell.cell_id() == payload["cell_id"], path
        checked += 1
    assert checked > 2000


def test_feature_params_appear_only_when_set_and_change_the_id():
    plain = Cell("idt", "logreg", "ravdess")
    assert "feature_params" not in plain.as_dict()
    ssl = Cell("idt", "logreg", "ravdess", feature="ssl", feature_params={"model": "m", "layers": [3]})
    other = Cell("idt", "logreg", "ravdess", feature="ssl", feature_params={"model": "m", "layers": [4]})
    assert ssl.as_dict()["feature_params"] == {"model": "m", "layers": [3]}
    assert len({plain.cell_id(), ssl.cell_id(), other.cell_id()}) == 3


def test_cell_params_read_and_write_feature_params():
    payload = Cell("idt", "logreg", "ravdess", feature="ssl", feature_params={"model": "m", "layers": [3]}).as_dict()
    params = CellParams.from_json(payload)
    assert params.feature_params == {"model": "m", "layers": [3]} and params.get("feature_params")["layers"] == [3]
    assert params.to_json() == payload
    assert "feature_params" not in CellParams.from_json(Cell("idt", "logreg", "ravdess").as_dict()).to_json()


def test_results_record_the_transformers_version():
    import pytest

    transformers = pytest.importorskip("transformers")

    from ser_bench.results.store import package_versions

    assert package_versions()["transformers"] == transformers.__version__
