"""Plugin parameters are checked against the plugin before anything runs."""
from __future__ import annotations

import pytest

from ser_bench.running.cells import Cell, resolve
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.manager import load_registry


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


def test_bounds_a_plugin_declares_are_checked_and_weights_are_never_negative(registry):
    from ser_bench.plugin_api.params import above, check_params
    from ser_bench.plugin_api.types import LossSpec

    spec = LossSpec(name="margin_loss", build=lambda margin=0.2, aux_weight=0.5: None, summary="x",
                    params={"margin": 0.2}, bounds={"margin": above(0, "0 would never separate classes")})
    assert check_params("loss 'margin_loss'", spec, {"margin": "0.3"}) == {"margin": 0.3}
    with pytest.raises(SerBenchError, match=r"margin=0 is out of range\. margin takes a number > 0 \(0 would never"):
        check_params("loss 'margin_loss'", spec, {"margin": 0})
    with pytest.raises(SerBenchError, match=r"aux_weight=-1 is out of range\. aux_weight takes a number >= 0"):
        check_params("loss 'margin_loss'", spec, {"aux_weight": -1})
    with pytest.raises(SerBenchError, match="reconstruction_weight=-0.5 is out of range"):
        resolve(Cell("idt", "bce_pair", "sim-ravdess", encoder="dae", encoder_params={"reconstruction_weight": -0.5}),
                registry)


def test_a_library_caller_gets_the_same_label_checks(registry):
    with pytest.raises(SerBenchError, match="labels 'anger' names one emotion"):
        resolve(Cell("idt", "bce_pair", "sim-ravdess", labels=("anger",)), registry)
    with pytest.raises(SerBenchError, match="'angry' is not an emotion of the common vocabulary. Did you mean 'anger'"):
        resolve(Cell("idt", "bce_pair", "sim-ravdess", labels=("angry", "sadness")), registry)
