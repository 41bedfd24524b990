"""A cell's settings are declared once (CellParams, in results/): Cell is built on those fields, and its
record is what the result files have always held, with the same cell ids."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from ser_bench.results.record import CellParams
from ser_bench.running.cells import CELL_DEFAULTS, Cell, resolve

from .conftest import FAST_TRAINING, TINY

RESULTS = Path(__file__).resolve().parents[1] / "results"
# The order a Cell has always had: its positional arguments, and the key order of the params_as_run that
# result files hold.
CELL_ORDER = ["protocol", "loss", "target", "source", "encoder", "feature", "seed", "labels", "pretrain_loss",
              "head", "decision", "normalise", "protocol_params", "loss_params", "pretrain_loss_params",
              "encoder_params", "training", "dataset_params", "skip_reason", "head_params", "tuning",
              "feature_params", "label_maps"]


def test_cell_and_cell_params_have_the_same_fields():
    record = [f.name for f in fields(CellParams) if f.name != "extra"]
    assert sorted(f.name for f in fields(Cell)) == sorted(record)
    assert [f.name for f in fields(Cell)] == CELL_ORDER
    assert set(CELL_DEFAULTS) <= set(record)
    declared = {f.name: f.type for f in fields(CellParams)}
    for f in fields(Cell):  # the record's type, without Optional where a cell's default is a value
        assert f.type in (declared[f.name], declared[f.name].removeprefix("Optional[").removesuffix("]")), f.name


def test_a_cells_defaults_are_its_own_and_its_mutable_ones_are_not_shared():
    a, b = Cell("idt", "logreg", "ravdess"), Cell("idt", "logreg", "ravdess", "crema", "auto", "is09-64", 3)
    assert (a.source, a.encoder, a.feature, a.seed, a.pretrain_loss, a.skip_reason) == (None, "auto", "auto", 0,
                                                                                         "auto", "")
    assert (b.source, b.seed) == ("crema", 3)
    a.training["epochs"] = -1
    a.loss_params["x"] = 1
    assert b.training["epochs"] != -1 and b.loss_params == {} and Cell("idt", "logreg", "r").training["epochs"] != -1
    with pytest.raises(TypeError):
        Cell("idt", "logreg")  # protocol, loss and target have no default


@pytest.mark.parametrize("settings", [
    {},
    {"tuning": {"trials": 2}, "head_params": {"C": 0.5}},
    {"label_maps": {"ravdess": {"calm": "neutral"}}, "feature_params": {"model": "m", "layers": [3]}},
    {"skip_reason": "cannot run", "source": "crema"},
])
def test_a_cells_record_is_what_result_files_have_always_held(settings):
    cell = Cell("fewshot", "ratio_distance", "ravdess", **settings)
    record = cell.params()
    assert type(record) is CellParams and record.extra == {} and record.labels == cell.labels
    assert record == CellParams.from_json(cell.as_dict())
    written = record.to_json()
    assert written == cell.as_dict()
    # in the record's order, the fields left out of as_dict left out
    assert list(written) == [f.name for f in fields(CellParams) if f.name in cell.as_dict()]
    assert json.dumps(CellParams.from_json(json.loads(json.dumps(written))).to_json()) == json.dumps(written)


def test_resolved_cells_record_what_they_resolved(registry):
    cell = resolve(Cell("fewshot", "ratio_distance", "sim-ravdess", source="sim-crema", training=dict(FAST_TRAINING),
                        dataset_params=TINY), registry)
    record = cell.params()
    assert record.get("pretrain_loss") == cell.pretrain_loss != "auto" and record.encoder == cell.encoder != "auto"
    assert Cell(**{f.name: getattr(record, f.name) for f in fields(Cell)}).cell_id() == cell.cell_id()


def test_committed_results_rebuild_their_cell_ids_from_their_records():
    checked = 0
    for path in sorted(RESULTS.rglob("*.json"))[::97]:  # a sample: tests/test_ssl_cells.py reads them all
        payload = json.loads(path.read_text())
        if not isinstance(payload, dict) or "cell_id" not in payload or "params" not in payload:
            continue
        record = CellParams.from_json(payload["params"])
        cell = Cell(**{f.name: getattr(record, f.name) for f in fields(Cell) if record.get(f.name) is not None})
        assert cell.cell_id() == payload["cell_id"], path
        assert cell.params().to_json() == payload["params"], path
        checked += 1
    assert checked > 10
