"""Bad values on the command line: each is refused before anything runs, by a message that names the
option and parameter, the value, the expected type and range and what to give instead; no result file
is written. Runs in-process (``main``), on the hand-made RAVDESS tree, so that a case that were not
refused would still finish quickly (and fail its assertions)."""
from __future__ import annotations

import pytest

from ser_bench.cli.main import main


@pytest.fixture()
def cli(capsys, clean_tree, cache_dir, tmp_path):
    """``cli(*extra)`` runs ``ser-bench run`` (IDT, logreg, RAVDESS tree) with ``extra`` options;
    ``cli.reproduce(*args)`` runs ``ser-bench reproduce``. Returns (exit code, stdout, stderr)."""
    results = tmp_path / "results"

    def call(argv):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    def run(*extra):
        return call(["-q", "run", "--executor", "serial", "--target", "ravdess", "--corpus-path",
                     f"ravdess={clean_tree}", "--protocol", "idt", "--loss", "logreg", "--labels", "anger,sadness",
                     "--seed", "0", "--cache-dir", str(cache_dir), "--results", str(results), *extra])

    run.reproduce = lambda *args: call(["-q", "reproduce", "feng2020", "--executor", "serial", "--cache-dir",
                                        str(cache_dir), "--results", str(results), *args])
    run.results = results
    return run


def refused(outcome, results, *needles, code=2):
    """The run was refused with ``code``, no traceback, every needle in the message, nothing written."""
    got, out, err = outcome
    assert got == code, (got, err)
    assert "Traceback" not in err and "no successful result files" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not results.exists() or not list(results.rglob("*.json")), "a refused run wrote a result"
    return err


# (options, what the message must name: the culprit, the value, the expected type/range, an example)
TYPE_CASES = {
    "epochs=abc": (["--train-param", "epochs=abc"], ["--train-param", "epochs='abc'", "a whole number >= 1",
                                                     "e.g. epochs=60"]),
    "lr=fast": (["--train-param", "lr=fast"], ["lr='fast'", "is not a number", "a number > 0", "e.g. lr=0.001"]),
    "fewshot.k=abc": (["--protocol", "fewshot", "--source", "ravdess", "--protocol-param", "fewshot.k=abc"],
                      ["--protocol-param", "protocol 'fewshot'", "k='abc'", "whole numbers >= 1", "e.g. k=2,4,6"]),
    "ratio_distance.weight=abc": (["--loss", "ratio_distance", "--loss-param", "ratio_distance.weight=abc"],
                                  ["loss 'ratio_distance'", "weight='abc'", "a number >= 0", "e.g. weight=1.0"]),
    "k given as a list of lists": (["--protocol", "fewshot", "--source", "ravdess", "--protocol-param",
                                    "fewshot.k=[[2]]"], ["k=[[2]]", "whole numbers"]),
    "lr=NaN": (["--train-param", "lr=NaN"], ["lr=nan", "not a finite number"]),
    "epochs=2.5": (["--train-param", "epochs=2.5"], ["epochs=2.5", "not a whole number"]),
    "balance=maybe": (["--loss", "bce_pair", "--loss-param", "balance=maybe"], ["balance='maybe'", "true or false"]),
    "--seed abc": (["--seed", "abc"], ["--seed", "'abc'", "whole numbers >= 0"]),
    "--seed -1": (["--seed", "-1"], ["--seed", "'-1'", "whole numbers >= 0"]),
    "empty --loss": (["--loss", ","], ["--loss is empty"]),
    "--executor-param for a parameter the executor lacks": (["--executor-param", "speed=9"],
                                                            ["executor 'serial' has no parameter 'speed'"]),
}

RANGE_CASES = {
    "epochs=-3": (["--train-param", "epochs=-3"], ["epochs=-3", "out of range", ">= 1"]),
    "epochs=0": (["--train-param", "epochs=0"], ["epochs=0", "out of range", ">= 1"]),
    "lr=0": (["--train-param", "lr=0"], ["lr=0", "> 0"]),
    "lr=-1e-3": (["--train-param", "lr=-1e-3"], ["lr=-0.001", "> 0"]),
    "batch_size=0": (["--train-param", "batch_size=0"], ["batch_size=0", ">= 1"]),
    "finetune_steps=-1": (["--train-param", "finetune_steps=-1"], ["finetune_steps=-1", ">= 0",
                                                                   "0: no fine-tuning"]),
    "fewshot.k=0": (["--protocol", "fewshot", "--source", "ravdess", "--protocol-param", "fewshot.k=0,2"],
                    ["k=[0, 2]", "holds 0, out of range", "whole numbers >= 1"]),
    "fewshot.repeats=0": (["--protocol", "fewshot", "--source", "ravdess", "--protocol-param", "fewshot.repeats=0"],
                          ["repeats=0", ">= 1"]),
    "fewshot.frozen=-1": (["--protocol", "fewshot", "--source", "ravdess", "--protocol-param", "fewshot.frozen=-1"],
                          ["frozen=-1", ">= 0"]),
    "ratio_distance.weight=-0.5": (["--loss", "ratio_distance", "--loss-param", "weight=-0.5"],
                                   ["weight=-0.5", "a number >= 0"]),
    "a parameter of a protocol this run does not use": (["--protocol-param", "fewshot.k=-2"], ["fewshot", "k=-2"]),
}

LABEL_CASES = {
    "empty": ("", ["--labels is empty", "two or more", "e.g. anger,happiness,sadness,fear"]),
    "one label": ("anger", ["'anger' names one emotion", "two or more"]),
    "duplicate": ("anger,anger,sadness", ["names 'anger' more than once"]),
    "unknown": ("anger,sadnes", ["'sadnes' is not an emotion", "Did you mean 'sadness'?", "The vocabulary:"]),
}


@pytest.mark.parametrize("case", TYPE_CASES)
def test_a_value_of_the_wrong_type_is_refused_up_front(cli, case):
    options, needles = TYPE_CASES[case]
    refused(cli(*options), cli.results, *needles)


@pytest.mark.parametrize("case", RANGE_CASES)
def test_a_value_out_of_range_is_refused_up_front(cli, case):
    options, needles = RANGE_CASES[case]
    refused(cli(*options), cli.results, *needles)


@pytest.mark.parametrize("case", LABEL_CASES)
def test_a_degenerate_label_set_is_refused(cli, case):
    text, needles = LABEL_CASES[case]
    refused(cli("--labels", text), cli.results, *needles)


@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_workers_must_be_a_positive_whole_number(cli, value):
    refused(cli("--workers", value), cli.results, "argument --workers", f"not {value!r}",
            "a whole number >= 1", "leave it out to use every core")


@pytest.mark.parametrize("argv, needles", [
    (["--k", "abc"], ["--k takes whole numbers >= 1", "'abc'"]),
    (["--k", "0,2"], ["--k takes whole numbers >= 1", "'0,2'"]),
    (["--frozen", "x"], ["--frozen takes whole numbers >= 0"]),
    (["--repeats", "0"], ["argument --repeats", "a whole number >= 1", "not '0'"]),
    (["--seed", "abc"], ["--seed"]),
])
def test_reproduce_refuses_bad_numbers_up_front(cli, argv, needles):
    refused(cli.reproduce(*argv), cli.results, *needles)


@pytest.mark.parametrize("head, needles", [
    ("protoype", ["no head called 'protoype'", "Did you mean 'prototype'"]),
    ("knn:x", ["head 'knn:x'", "takes no variant", "drop ':x'"]),
])
def test_a_misspelt_head_is_refused_not_saved_as_skipped(cli, head, needles):
    refused(cli("--head", head), cli.results, *needles)


def test_a_variant_on_a_loss_without_variants_is_refused(cli):
    refused(cli("--loss", "logreg:fast"), cli.results, "loss 'logreg:fast'", "takes no variant")


def test_a_bare_number_where_a_list_is_expected_is_a_one_element_list(registry):
    import pandas as pd

    from ser_bench.running.cells import Cell, resolve
    from ser_bench.plugin_api.types import ProtocolData

    cell = resolve(Cell("fewshot", "bce_pair", "sim-ravdess", source="sim-crema",
                        protocol_params={"frozen": 0, "k": 1, "repeats": 1}), registry)
    target = pd.DataFrame({"speaker": ["a", "a", "b", "b"], "emotion": ["anger", "sadness"] * 2})
    source = pd.DataFrame({"speaker": ["s"] * 2, "emotion": ["anger", "sadness"]})
    params = {k: v for k, v in cell.protocol_params.items()}
    splits = registry.get("protocols", "fewshot").splits(ProtocolData(target=target, source=source), 0, **params)
    assert [s.frozen_layers for s in splits] == [0] and [s.info["k"] for s in splits] == [1]
