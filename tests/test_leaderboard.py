"""Leaderboards from constructed result files: layout, intervals, dashes, label-set guard."""
from __future__ import annotations

import re

import pytest

from ser_bench.errors import SerBenchError
from ser_bench.leaderboard import summary_table, to_markdown


def result(protocol, loss, source, target, uars, labels=("anger", "happiness", "sadness", "fear"), seed=0,
           protocol_params=None, loss_params=None, training=None, pretrain_loss="bce_pair"):
    splits = [{"name": f"s{i}", "info": ({"repeat": i, "k": 2, "frozen": 0} if protocol == "fewshot" else {}),
               "metrics": {"uar": u, "accuracy": u, "macro_f1": u}} for i, u in enumerate(uars)]
    return {"schema_version": 1, "cell_id": f"{protocol}-{loss}-{source}-{target}-{seed}-{loss_params}-{training}", "status": "ok",
            "params": {"protocol": protocol, "loss": loss, "source": source, "target": target, "encoder": "siamese-mlp",
                       "feature": "is09-64", "seed": seed, "labels": list(labels), "decision": "sum",
                       "normalise": "train", "pretrain_loss": pretrain_loss,
                       "protocol_params": protocol_params or {}, "loss_params": loss_params or {},
                       "training": training or {"epochs": 1}},
            "splits": splits}


def test_table_layout_interval_and_missing_cells():
    results = [
        result("oodt", "bce_pair", "sim-crema", "sim-ravdess", [0.40]),
        result("fewshot", "bce_pair", "sim-crema", "sim-ravdess", [0.50, 0.60, 0.70]),
        result("fewshot", "ratio_distance", "sim-enterface", "sim-ravdess", [0.55, 0.65]),
        result("idt", "bce_pair", None, "sim-ravdess", [0.8, 0.7]),
    ]
    table = summary_table(results)
    assert list(table.columns) == ["sim-crema → sim-ravdess", "sim-enterface → sim-ravdess"]
    assert table.loc["oodt · bce_pair", "sim-crema → sim-ravdess"] == "40.0"
    # mean 60, sd 10, t(0.975, 2) = 4.303 -> half-width 24.8
    assert table.loc["fewshot · bce_pair", "sim-crema → sim-ravdess"] == "60.0 ± 24.8"
    assert table.loc["fewshot · bce_pair", "sim-enterface → sim-ravdess"] == "–"
    assert table.loc["oodt · bce_pair", "sim-enterface → sim-ravdess"] == "–"
    assert table.loc["idt · bce_pair", "sim-enterface → sim-ravdess"] == table.loc["idt · bce_pair", "sim-crema → sim-ravdess"]
    assert list(table.index)[0].startswith("oodt") and list(table.index)[-1].startswith("idt")
    markdown = to_markdown(results)
    assert "| method" in markdown and "protocol `fewshot`" in markdown and "by number of target speakers" in markdown


def test_seeds_are_pooled_not_averaged_away():
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6], seed=0),
               result("fewshot", "bce_pair", "a", "b", [0.7, 0.8], seed=1)]
    table = summary_table(results)
    assert table.iloc[0, 0].startswith("65.0 ± ")


def test_different_label_sets_are_refused():
    with pytest.raises(SerBenchError, match="different label sets"):
        summary_table([result("oodt", "bce_pair", "a", "b", [0.5]),
                       result("oodt", "bce_pair", "a", "c", [0.5], labels=("anger", "sadness"))])


def test_a_target_with_only_source_free_results_still_gets_a_column():
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6]), result("idt", "bce_pair", None, "c", [0.4, 0.5])]
    table = summary_table(results)
    assert list(table.columns) == ["a → b", "– → c"]
    assert table.loc["idt · bce_pair", "– → c"].startswith("45.0") and table.loc["idt · bce_pair", "a → b"] == "–"


def test_different_protocol_settings_get_their_own_rows():
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6], protocol_params={"k": [2], "repeats": 2}),
               result("fewshot", "bce_pair", "a", "b", [0.7, 0.8], protocol_params={"k": [4], "repeats": 2}, seed=1)]
    table = summary_table(results)
    assert list(table.index) == ["fewshot · bce_pair (k=2)", "fewshot · bce_pair (k=4)"]
    assert table.iloc[0, 0].startswith("55.0") and table.iloc[1, 0].startswith("75.0")


def test_loss_parameter_sweeps_are_not_pooled():
    fewshot = {"k": [2], "repeats": 2}
    results = [result("fewshot", "ratio_distance", "a", "b", [0.5, 0.6], protocol_params=fewshot,
                      loss_params={"weight": 0.1, "delta": 0.1}),
               result("fewshot", "ratio_distance", "a", "b", [0.7, 0.8], protocol_params=fewshot,
                      loss_params={"weight": 10, "delta": 0.1}),
               result("fewshot", "ratio_distance", "a", "b", [0.6, 0.7], protocol_params=fewshot,
                      loss_params={"weight": 3, "delta": 0.1}),
               # other losses have other parameters; that alone must not label their rows
               result("fewshot", "bce_pair", "a", "b", [0.4, 0.5], protocol_params=fewshot, loss_params={"balance": True}),
               # nor does a sweep under another protocol
               result("oodt", "ratio_distance", "a", "b", [0.3], loss_params={"weight": 1.0, "delta": 0.1})]
    table = summary_table(results)
    # numbers in labels sort by value, in both tables
    assert list(table.index) == ["oodt · ratio_distance", "fewshot · bce_pair", "fewshot · ratio_distance (weight=0.1)",
                                 "fewshot · ratio_distance (weight=3)", "fewshot · ratio_distance (weight=10)"]
    assert table.iloc[2, 0].startswith("55.0") and table.iloc[4, 0].startswith("75.0")
    markdown = to_markdown(results)
    assert re.search(r"\| ratio_distance \(weight=0\.1\) +\| +0 \| +55 \|", markdown)
    by_k = markdown[markdown.index("## Few-shot"):]
    assert by_k.index("(weight=0.1) ") < by_k.index("(weight=3) ") < by_k.index("(weight=10) ")
    assert '- loss parameters: bce_pair {"balance": true}; ratio_distance {"delta": 0.1, "weight": 0.1}' in markdown


def test_training_settings_and_pretraining_losses_split_rows():
    results = [result("fewshot", "ratio_distance", "a", "b", [0.5, 0.6], training={"epochs": 1, "lr": 0.01}),
               result("fewshot", "ratio_distance", "a", "b", [0.7, 0.8], training={"epochs": 1, "lr": 0.001}),
               result("fewshot", "ratio_distance", "a", "b", [0.3, 0.4], training={"epochs": 1, "lr": 0.001},
                      pretrain_loss="ratio_distance")]
    assert list(summary_table(results).index) == [
        "fewshot · ratio_distance (pretrained with bce_pair, lr=0.001)",
        "fewshot · ratio_distance (pretrained with bce_pair, lr=0.01)",
        "fewshot · ratio_distance (pretrained with ratio_distance, lr=0.001)"]


def test_paired_section_compares_every_method_with_the_baseline_on_shared_episodes(tmp_path):
    def episodes(loss, uars, **kw):
        r = result("fewshot", loss, "a", "b", uars, protocol_params={"k": [2]}, **kw)
        for i, split in enumerate(r["splits"]):
            split["hash"] = f"episode{i}"  # identical episodes across losses
        return r

    base = [0.50, 0.52, 0.48, 0.55, 0.51, 0.49]
    results = [episodes("bce_pair", base, loss_params={"balance": True}),
               episodes("ratio_distance", [u + 0.03 for u in base], loss_params={"weight": 1}),
               episodes("ratio_distance", [u - 0.02 for u in base], loss_params={"weight": 10})]
    markdown = to_markdown(results, paired="bce_pair")
    section = markdown[markdown.index("## Against bce_pair"):]
    rows = [line for line in section.splitlines() if line.startswith("| a → b")]
    assert len(rows) == 2
    assert "ratio_distance (weight=1) | 6 | +3.0 |" in rows[0] and "| 6 / 0 / 0 |" in rows[0]
    assert "ratio_distance (weight=10) | 6 | -2.0 |" in rows[1] and "| 0 / 6 / 0 |" in rows[1]
    # p of an exact two-sided signed-rank test with all 6 differences one way: 2 / 2**6
    assert rows[0].split("|")[9].strip() == "0.0312"
    with pytest.raises(SerBenchError, match="no few-shot results for 'bce'.*bce_pair"):
        to_markdown(results, paired="bce")


def test_by_k_table_shows_a_dash_where_a_setting_has_no_result():
    two = result("fewshot", "bce_pair", "a", "b", [0.5, 0.6])
    four = result("fewshot", "ratio_distance", "a", "b", [0.7, 0.8])
    for split in four["splits"]:
        split["info"]["k"] = 4
    by_k = to_markdown([two, four]).split("## Few-shot")[1]
    assert "nan" not in by_k
    assert re.search(r"\| bce_pair +\| +0 \| +55 +\| +– +\|", by_k)
    assert re.search(r"\| ratio_distance +\| +0 \| +– +\| +75 +\|", by_k)
