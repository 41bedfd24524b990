"""Properties of the parameter checks over any text a user can type: a value is either parsed to what it
says (of the declared type, in range) or refused with a :class:`SerBenchError` that names the parameter;
never another exception, never a value of the wrong type passed on to a plugin."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ser_bench.running.cells import Cell, resolve
from ser_bench.cli.options import parse_labels, parse_params, parse_scoped
from ser_bench.errors import SerBenchError
from ser_bench.data.labels import VOCABULARY
from ser_bench.plugin_api.params import check_training
from ser_bench.model.training import DEFAULT_TRAINING

# Any text, and text that looks like what a user would type for a number or a list of numbers.
TEXT = st.one_of(
    st.text(max_size=20),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.integers(-5, 30), max_size=5).map(lambda v: ",".join(map(str, v))),
    st.sampled_from(["", " ", ",", "1,", "[1,2]", "true", "null", '"3"', "1e3", ".5", "+7", "007", "0x1f", "1_000",
                     "inf", "-0", "٣", "[[1]]", "{}", "1=2"]),
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def meant(text: str):
    """What the user typed, as the command line's JSON reading gives it (a quoted number is text)."""
    try:
        return json.loads(text.strip())
    except (ValueError, RecursionError):
        return text.strip()


@PROPERTY
@given(TEXT)
def test_any_text_for_a_whole_number_is_parsed_or_refused_by_name(text):
    try:
        value = check_training(parse_params([f"epochs={text}"], "--train-param"), DEFAULT_TRAINING)["epochs"]
    except SerBenchError as exc:
        assert "epochs" in str(exc)
        return
    assert type(value) is int and value >= 1 and value == int(str(meant(text)).strip())


@PROPERTY
@given(TEXT)
def test_any_text_for_a_number_is_parsed_or_refused_by_name(text):
    try:
        value = check_training(parse_params([f"lr={text}"], "--train-param"), DEFAULT_TRAINING)["lr"]
    except SerBenchError as exc:
        assert "lr" in str(exc)
        return
    assert type(value) is float and math.isfinite(value) and value > 0
    assert value == float(str(meant(text)).strip())


@PROPERTY
@given(TEXT)
def test_any_text_for_a_loss_weight_is_parsed_or_refused_by_name(registry, text):
    params = parse_scoped([f"ratio_distance.weight={text}"], "--loss-param")["ratio_distance"]
    try:
        cell = resolve(Cell("oodt", "ratio_distance", "sim-ravdess", source="sim-crema", loss_params=params), registry)
    except SerBenchError as exc:
        assert "weight" in str(exc)
        return
    weight = cell.loss_params["weight"]
    assert type(weight) is float and math.isfinite(weight) and weight >= 0


@PROPERTY
@given(TEXT)
def test_any_text_for_a_list_of_whole_numbers_is_parsed_or_refused_by_name(registry, text):
    params = parse_scoped([f"fewshot.k={text}"], "--protocol-param")["fewshot"]
    try:
        cell = resolve(Cell("fewshot", "bce_pair", "sim-ravdess", source="sim-crema", protocol_params=params), registry)
    except SerBenchError as exc:
        assert "k=" in str(exc)
        return
    k = cell.protocol_params["k"]
    values = k if isinstance(k, list) else [k]
    assert values and all(type(v) is int and v >= 1 for v in values)


@PROPERTY
@given(st.one_of(st.text(max_size=30), st.lists(st.sampled_from(VOCABULARY + ("sadnes", "")), max_size=4)
                 .map(",".join)))
def test_any_label_set_is_two_or_more_distinct_known_emotions_or_refused(text):
    try:
        labels = parse_labels(text)
    except SerBenchError as exc:
        assert "--labels" in str(exc)
        return
    assert len(labels) >= 2 and len(set(labels)) == len(labels) and set(labels) <= set(VOCABULARY)


@pytest.mark.parametrize("text, value", [("3", 3), (" 12 ", 12), ("+7", 7), ('"5"', 5)])
def test_whole_numbers_typed_in_the_usual_ways_are_read(text, value):
    assert check_training(parse_params([f"epochs={text}"], "--train-param"), DEFAULT_TRAINING)["epochs"] == value


@pytest.mark.parametrize("text, value", [("1e-3", 0.001), (".5", 0.5), ("2", 2.0)])
def test_numbers_typed_in_the_usual_ways_are_read(text, value):
    assert check_training(parse_params([f"lr={text}"], "--train-param"), DEFAULT_TRAINING)["lr"] == value
