"""The feng2020 recipe without training: its grid (seeds, baselines, the paper's rule) and its report on
constructed results (baseline rows, ratio-vs-BCE across seeds with Holm, ranks)."""
from __future__ import annotations

import json

import pytest

from ser_bench.cli.main import build_parser
from ser_bench.results.record import CellParams, Result, make_split

SOURCES, TARGET = ("sim-crema", "sim-enterface"), "sim-ravdess"


def test_grid_has_three_seeds_the_paper_rule_and_every_baseline(registry):
    recipe = registry.get("recipes", "feng2020")
    options = {**recipe.options, "k": [2, 4]}
    cells = recipe.cells(registry, list(SOURCES), [TARGET], **options)
    assert sorted({c.seed for c in cells}) == [0, 1, 2]
    paper = [c for c in cells if c.loss in ("bce_pair", "ratio_distance")]
    assert paper and all(c.decision == "sum" and c.normalise == "train" for c in paper)
    seed0 = [c for c in cells if c.seed == 0]
    for name in ("logreg", "linear_svm", "softmax_mlp"):
        mine = [c for c in seed0 if c.loss == name]
        assert {c.normalise for c in mine} == {"train", "speaker"}
        assert {c.protocol for c in mine} == {"oodt", "idt", "fewshot"}
        fewshot = [c for c in mine if c.protocol == "fewshot"]
        # plain support (the k speakers' clips) and with 8 source clips per emotion, for each k, source, mode
        assert sorted(c.protocol_params["source_support"] for c in fewshot) == [0] * 8 + [8] * 8
        assert all(c.encoder == registry.get("losses", name).default_encoder for c in mine)
    assert [c.seed for c in recipe.cells(registry, ["sim-crema"], [TARGET], **{**options, "seed": 5})][:1] == [5]


def test_reproduce_takes_a_comma_list_of_seeds_and_a_single_one():
    parser = build_parser()
    assert parser.parse_args(["reproduce", "feng2020", "--seed", "0,1,2"]).seed == "0,1,2"
    assert parser.parse_args(["reproduce", "feng2020", "--seed", "3"]).seed == "3"


def _result(protocol, loss, source, seed, uar, normalise="train", decision="mean", k=None, support=0, repeats=3):
    if protocol == "fewshot":
        splits = [make_split(f"k{k}-r{r}-f0", uar + 0.01 * r, accuracy=uar, macro_f1=uar,
                             hash=f"{loss}{support}-{seed}-{k}-{r}", episode_hash=f"{seed}-{k}-{r}",
                             info={"k": k, "repeat": r, "frozen": 0}) for r in range(repeats)]
        params = {"k": [k], "frozen": [0], "repeats": repeats, "test": "speakers", "rehearsal": 0,
                  "source_support": support}
    elif protocol == "idt":
        splits = [make_split(f"loso-{s}", uar + 0.02 * s, accuracy=uar, macro_f1=uar, info={"test_speaker": s})
                  for s in range(4)]
        params = {}
    else:
        splits = [make_split("oodt", uar)]
        params = {}
    return Result(
        status="ok", timings={"train": 1, "finetune": 1, "scoring": 1, "total": 3},
        cell_id=f"{protocol}-{loss}-{source}-{seed}-{normalise}-{k}-{support}", splits=tuple(splits),
        params=CellParams(protocol=protocol, loss=loss, source=source, target=TARGET, seed=seed,
                          encoder="identity" if loss == "logreg" else "siamese-mlp", feature="is09-64",
                          labels=("anger", "happiness", "sadness", "fear"), decision=decision,
                          normalise=normalise, head="linear" if loss == "logreg" else "siamese",
                          pretrain_loss=loss if loss == "logreg" else "bce_pair", protocol_params=params,
                          training={"epochs": 1}))


def _results():
    out = []
    for seed, shift in zip((0, 1, 2), (0.0, 0.02, -0.01)):
        for source in SOURCES:
            out.append(_result("oodt", "bce_pair", source, seed, 0.30 + shift, decision="sum"))
            for mode, base in (("train", 0.35), ("speaker", 0.45)):
                out.append(_result("oodt", "logreg", source, seed, base + shift, normalise=mode))
            for k in (2, 4):
                # ratio_distance is 3, 1 and 4 points better than bce_pair under seeds 0, 1, 2
                out.append(_result("fewshot", "bce_pair", source, seed, 0.40 + shift, decision="sum", k=k))
                out.append(_result("fewshot", "ratio_distance", source, seed, 0.43, decision="sum", k=k))
                for mode, base in (("train", 0.42), ("speaker", 0.50)):
                    for support in (0, 8):
                        out.append(_result("fewshot", "logreg", source, seed, base + shift + 0.01 * support / 8,
                                           normalise=mode, k=k, support=support))
        out.append(_result("idt", "bce_pair", None, seed, 0.55 + shift, decision="sum"))
        for mode, base in (("train", 0.60), ("speaker", 0.65)):
            out.append(_result("idt", "logreg", None, seed, base + shift, normalise=mode))
    return out


def test_report_on_constructed_results(registry, tmp_path):
    recipe = registry.get("recipes", "feng2020")
    written = recipe.report(_results(), tmp_path, sources=list(SOURCES), targets=[TARGET], fixed_k=4, fixed_frozen=0,
                            baselines=["logreg"], source_support=8)
    names = {p.name for p in written}
    assert {"LEADERBOARD.md", "paired.json", "figure2.png", "ranks.png", "ranks.svg"} <= names
    board = (tmp_path / "LEADERBOARD.md").read_text()
    table = board[board.index("## Table 1"):board.index("## Does the ratio")]
    row = next(line for line in table.splitlines() if line.startswith("| OODT · logreg (normalise=speaker) ")
               and "| sim-crema " in line)
    # seeds 0.45, 0.47, 0.44: mean 45.3, n = 3 source seeds
    assert "| 45.3 ± " in row and "n = 3 source seeds" in row
    assert any(line.startswith("| few-shot · logreg (normalise=train, + 8 source clips per emotion in the support set)")
               for line in table.splitlines())
    idt = next(line for line in table.splitlines() if line.startswith("| IDT (LOSO) ") and "sim-crema" in line)
    assert "n = 4 held-out speakers" in idt and "| 50.0 (real crema) " in idt
    assert "best (diagnostic)" in table
    paired = json.loads((tmp_path / "paired.json").read_text())
    assert [p["group"] for p in paired] == ["sim-crema → sim-ravdess", "sim-enterface → sim-ravdess"]
    for p in paired:
        assert p["n"] == 3 and p["unit"] == "source seeds" and p["per_seed"] == pytest.approx(
            {"0": 0.03, "1": 0.01, "2": 0.04})
        assert p["p_holm"] == pytest.approx(min(1.0, 2 * p["p_value"]))
    assert "## Average ranks across settings" in board and "(ranks.png)" in board
