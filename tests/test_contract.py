"""The contract a plugin is written against: closed vocabularies, parameter types from annotations,
defaults declared by plugins, and protocols that say how boards show them."""
from __future__ import annotations

import json
from typing import Optional

import pytest

from ser_bench.errors import PluginLoadError, SerBenchError
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.params import check_params
from ser_bench.plugin_api.types import BoardLayout, LossSpec
from ser_bench.reporting.export import board_frame
from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.tidy import tidy
from ser_bench.results.record import CellParams, RecordError, Result, make_split


def _local(tmp_path, name: str, code: str):
    (tmp_path / f"{name}.py").write_text(code)
    return load_registry(PluginSettings(plugins_dir=str(tmp_path), entry_points=False, strict=True))


def test_a_spec_outside_the_contracts_vocabulary_is_refused_when_it_registers(tmp_path):
    code = ("from ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import EncoderSpec\n"
            "@hookimpl\ndef ser_bench_encoders():\n"
            "    return [EncoderSpec(name='typo', build=lambda input_dim: None, summary='x', kind='siamse')]\n")
    with pytest.raises(PluginLoadError, match=r"kind='siamse', which is none of 'siamese', 'embedding'"):
        _local(tmp_path, "typo", code)
    bad = LossSpec(name="x", build=lambda: None, summary="x", encoder_kinds=("siamese", "cnn"))
    from ser_bench.plugin_api.registry import _outside_vocabulary

    assert "encoder_kinds=('siamese', 'cnn')" in _outside_vocabulary(bad)


def test_parameter_types_come_from_the_annotations_first():
    def build(weight: float = 1, layers: list[int] = (), cap: Optional[int] = None, name="a"):
        return None

    spec = LossSpec(name="t", build=build, summary="t", params={"weight": 1, "layers": [], "cap": None, "name": "a"})
    checked = check_params("loss 't'", spec, {"weight": "0.5", "layers": "3", "cap": "4", "name": 7})
    assert checked == {"weight": 0.5, "layers": 3, "cap": 4, "name": "7"}
    assert check_params("loss 't'", spec, {"cap": None}) == {"cap": None}
    with pytest.raises(SerBenchError, match=r"cap='x' is not a whole number"):
        check_params("loss 't'", spec, {"cap": "x"})
    with pytest.raises(SerBenchError, match=r"layers=\['a'\] holds 'a', which is not a whole number"):
        check_params("loss 't'", spec, {"layers": ["a"]})


def test_defaults_are_declared_by_plugins_and_one_per_kind(registry, tmp_path):
    assert registry.default("features").name == "is09-64" and registry.default("encoders").name == "siamese-mlp"
    code = ("from ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import EncoderSpec\n"
            "@hookimpl\ndef ser_bench_encoders():\n"
            "    return [EncoderSpec(name='mine', build=lambda input_dim: None, summary='x', default=True)]\n")
    mine = _local(tmp_path, "mine", code)
    with pytest.raises(PluginLoadError, match=r"exactly one encoder must be the default.*found mine \(local:mine\), siamese-mlp"):
        mine.default("encoders")


def test_a_loss_names_its_pretraining_loss_and_a_pair_loss_without_one_pretrains_itself(registry, tmp_path):
    from ser_bench.running.cells import Cell, resolve

    ratio = resolve(Cell(protocol="fewshot", loss="ratio_distance", source="sim-crema", target="sim-ravdess"), registry)
    assert ratio.pretrain_loss == "bce_pair" and ratio.encoder == "siamese-mlp" and ratio.feature == "is09-64"
    code = ("from ser_bench import hookimpl\nfrom ser_bench.plugin_api.types import LossSpec\n"
            "def build(margin: float = 1.0):\n    return lambda model, x, y: 0\n"
            "@hookimpl\ndef ser_bench_losses():\n"
            "    return [LossSpec(name='pairwise', build=build, params={'margin': 1.0}, summary='x')]\n")
    mine = _local(tmp_path, "pairwise", code)
    cell = resolve(Cell(protocol="fewshot", loss="pairwise", source="sim-crema", target="sim-ravdess"), mine)
    assert cell.pretrain_loss == "pairwise" and cell.encoder == "siamese-mlp"


def _result(protocol, loss, uars, board=None, seed=0):
    splits = [make_split(f"s{i}", u, info={"snr": 10 * (i % 2), "k": 1}, hash=f"s{i}") for i, u in enumerate(uars)]
    params = CellParams(protocol=protocol, loss=loss, source="sim-crema", target="sim-ravdess", encoder="identity",
                        feature="is09-64", seed=seed, labels=("anger", "sadness"), training={"epochs": 1})
    return Result(cell_id=f"{protocol}-{loss}-{seed}", status="ok", params=params, splits=tuple(splits), board=board)


def test_a_plugin_protocol_gets_its_own_order_breakdown_and_unit_on_the_board():
    layout = BoardLayout(order=-1, breakdown=("snr",), unit="held-out speakers", split_noun="noise level").record()
    results = [_result("noisy", "logreg", [0.5, 0.7, 0.6, 0.8], board=layout),
               _result("noisy", "bce_pair", [0.4, 0.5, 0.45, 0.55], board=layout),
               _result("oodt", "logreg", [0.6])]
    board = board_frame(results)
    cells = board[board["level"] == "cell"]
    assert list(cells["protocol"])[:2] == ["noisy", "noisy"]  # order -1: before OODT (0)
    assert set(cells.loc[cells["protocol"] == "noisy", "unit"]) == {"held-out speakers"}
    by_snr = board[board["level"] == "k"]
    assert sorted(set(by_snr["snr"])) == [0, 10] and len(by_snr) == 4
    from ser_bench.reporting.ranks import block_scores

    assert list(block_scores(tidy(results)).index) == ["noisy sim-crema → sim-ravdess, snr=0",
                                                        "noisy sim-crema → sim-ravdess, snr=10",
                                                        "oodt sim-crema → sim-ravdess"]  # its rank blocks, first
    board_text = to_markdown(results)
    assert "## UAR % by snr" in board_text and "n = 4 held-out speakers" in board_text
    assert board_text.index("noisy · logreg") < board_text.index("oodt · logreg")


def test_a_result_records_its_board_layout_and_older_results_read_as_their_protocol_declared():
    written = _result("noisy", "logreg", [0.5], board=BoardLayout(order=3).record())
    payload = written.to_json()
    assert payload["board"] == {"order": 3, "breakdown": [], "unit": "folds", "split_noun": "split"}
    assert Result.from_json(json.loads(json.dumps(payload))).layout["order"] == 3
    old = _result("fewshot", "logreg", [0.5])
    assert "board" not in old.to_json() and old.layout["breakdown"] == ["k", "frozen"]
    assert _result("idt", "logreg", [0.5]).layout["unit"] == "held-out speakers"
    with pytest.raises(RecordError, match=r"board.order is 'first', not a whole number"):
        Result.from_json({**payload, "board": {**payload["board"], "order": "first"}})


def test_every_built_in_protocol_declares_the_layout_its_results_were_read_with_before(registry):
    from ser_bench.results.record import LAYOUTS_BEFORE_0_2

    for name, layout in LAYOUTS_BEFORE_0_2.items():
        assert registry.get("protocols", name).board.record() == layout
