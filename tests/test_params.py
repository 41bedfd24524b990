"""Plugin parameters are checked against the plugin before anything runs."""
from __future__ import annotations

import pytest

from ser_bench.cells import Cell, resolve
from ser_bench.errors import SerBenchError
from ser_bench.manager import load_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_a_misspelt_parameter_is_refused_with_a_suggestion(registry):
    cell = Cell("fewshot", "ratio_distance", "sim-ravdess", source="sim-crema", loss_params={"wieght": 0.1})
    with pytest.raises(SerBenchError, match=r"loss 'ratio_distance' has no parameter 'wieght'\. Did you mean 'weight'\?"):
        resolve(cell, registry)
    with pytest.raises(SerBenchError, match="protocol 'fewshot' has no parameter 'repeat'.*repeats"):
        resolve(Cell("fewshot", "bce_pair", "sim-ravdess", source="sim-crema", protocol_params={"repeat": 3}), registry)
    with pytest.raises(SerBenchError, match="no training setting 'epoch'.*'epochs'"):
        resolve(Cell("oodt", "bce_pair", "sim-ravdess", source="sim-crema", training={"epoch": 3}), registry)
    with pytest.raises(SerBenchError, match="dataset 'sim-ravdess' has no parameter 'speaker'"):
        resolve(Cell("idt", "bce_pair", "sim-ravdess", dataset_params={"sim-ravdess": {"speaker": 4}}), registry)


def test_a_whole_number_for_a_float_parameter_is_the_same_setting(registry):
    given = resolve(Cell("fewshot", "ratio_distance", "sim-ravdess", source="sim-crema", loss_params={"weight": 1}),
                    registry)
    default = resolve(Cell("fewshot", "ratio_distance", "sim-ravdess", source="sim-crema"), registry)
    assert given.loss_params["weight"] == 1.0 and isinstance(given.loss_params["weight"], float)
    assert given.cell_id() == default.cell_id()
    assert resolve(Cell("oodt", "bce_pair", "sim-ravdess", source="sim-crema", training={"lr": 1}),
                   registry).training["lr"] == 1.0


def test_adapters_that_take_any_keyword_still_accept_their_own(registry):
    cell = resolve(Cell("fewshot", "pml:CircleLoss", "sim-ravdess", source="sim-crema", encoder="mlp",
                        loss_params={"m": 0.4, "gamma": 80}), registry)
    assert cell.loss_params["m"] == 0.4 and cell.loss_params["variant"] == "CircleLoss"
