"""Leaderboards from constructed result files: layout, intervals, dashes, label-set guard."""
from __future__ import annotations

import re

import pytest

from ser_bench.errors import SerBenchError
from ser_bench.reporting.leaderboard import summary_table, to_markdown
from ser_bench.results.record import CellParams, Result, make_split


def result(protocol, loss, source, target, uars, labels=("anger", "happiness", "sadness", "fear"), seed=0,
           protocol_params=None, loss_params=None, training=None, pretrain_loss="bce_pair", splits=None, k=2):
    """A result record as a run writes it: ``uars`` one per split (episodes for few-shot)."""
    splits = splits or [make_split(f"s{i}", u, info=({"repeat": i, "k": k, "frozen": 0} if protocol == "fewshot"
                                                     else {}), hash=f"s{i}") for i, u in enumerate(uars)]
    params = CellParams(protocol=protocol, loss=loss, source=source, target=target, encoder="siamese-mlp",
                        feature="is09-64", seed=seed, labels=tuple(labels), decision="sum", normalise="train",
                        pretrain_loss=pretrain_loss, protocol_params=protocol_params or {},
                        loss_params=loss_params or {}, training=training or {"epochs": 1})
    return Result(cell_id=f"{protocol}-{loss}-{source}-{target}-{seed}-{loss_params}-{training}-{k}",
                  status="ok" if splits else "skipped", params=params, splits=tuple(splits))


def test_table_layout_interval_and_missing_cells():
    results = [
        result("oodt", "bce_pair", "sim-crema", "sim-ravdess", [0.40]),
        result("fewshot", "bce_pair", "sim-crema", "sim-ravdess", [0.50, 0.60, 0.70]),
        result("fewshot", "ratio_distance", "sim-enterface", "sim-ravdess", [0.55, 0.65]),
        result("idt", "bce_pair", None, "sim-ravdess", [0.8, 0.7]),
    ]
    table = summary_table(results)
    assert list(table.columns) == ["sim-crema → sim-ravdess", "sim-enterface → sim-ravdess", "n"]
    assert table.loc["oodt · bce_pair", "sim-crema → sim-ravdess"] == "40.0"
    assert table.loc["oodt · bce_pair", "n"] == "n = 1 source seed"
    # one seed: the unit is the episode draw; mean 60, sd 10, t(0.975, 2) = 4.303 -> half-width 24.8
    assert table.loc["fewshot · bce_pair", "sim-crema → sim-ravdess"] == "60.0 ± 24.8"
    assert table.loc["fewshot · bce_pair", "n"] == "n = 3 episode draws of one source model"
    assert table.loc["idt · bce_pair", "n"] == "n = 2 held-out speakers"
    assert table.loc["fewshot · bce_pair", "sim-enterface → sim-ravdess"] == "–"
    assert table.loc["oodt · bce_pair", "sim-enterface → sim-ravdess"] == "–"
    assert table.loc["idt · bce_pair", "sim-enterface → sim-ravdess"] == table.loc["idt · bce_pair", "sim-crema → sim-ravdess"]
    assert list(table.index)[0].startswith("oodt") and list(table.index)[-1].startswith("idt")
    markdown = to_markdown(results)
    assert "| method" in markdown and "protocol `fewshot`" in markdown and "by number of target speakers" in markdown


def test_fewshot_with_several_seeds_has_source_seeds_as_its_unit():
    # seed means 0.55 and 0.75: n = 2, half-width t(0.975, 1) * 0.1414 / sqrt(2) = 127.1 points, not the
    # 12.3 of four episodes pooled as if independent
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6], seed=0),
               result("fewshot", "bce_pair", "a", "b", [0.7, 0.8], seed=1)]
    table = summary_table(results)
    assert table.iloc[0, 0] == "65.0 ± 127.1" and table.loc["fewshot · bce_pair", "n"] == "n = 2 source seeds"


def test_different_label_sets_are_refused():
    with pytest.raises(SerBenchError, match="different label sets"):
        summary_table([result("oodt", "bce_pair", "a", "b", [0.5]),
                       result("oodt", "bce_pair", "a", "c", [0.5], labels=("anger", "sadness"))])


def test_a_target_with_only_source_free_results_still_gets_a_column():
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6]), result("idt", "bce_pair", None, "c", [0.4, 0.5])]
    table = summary_table(results)
    assert list(table.columns) == ["a → b", "– → c", "n"]
    assert table.loc["idt · bce_pair", "– → c"].startswith("45.0") and table.loc["idt · bce_pair", "a → b"] == "–"


def test_different_protocol_settings_get_their_own_rows():
    results = [result("fewshot", "bce_pair", "a", "b", [0.5, 0.6], protocol_params={"k": [2], "repeats": 2}),
               result("fewshot", "bce_pair", "a", "b", [0.7, 0.8], protocol_params={"k": [4], "repeats": 2}, seed=1)]
    table = summary_table(results)
    assert list(table.index) == ["fewshot · bce_pair (k=4)", "fewshot · bce_pair (k=2)"]  # best first
    assert table.iloc[0, 0].startswith("75.0") and table.iloc[1, 0].startswith("55.0")


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
    # sorted by score within a protocol in the summary; numbers in labels sort by value in the by-k table
    assert list(table.index) == ["oodt · ratio_distance", "fewshot · ratio_distance (weight=10)",
                                 "fewshot · ratio_distance (weight=3)", "fewshot · ratio_distance (weight=0.1)",
                                 "fewshot · bce_pair"]
    assert table.iloc[1, 0].startswith("75.0") and table.iloc[3, 0].startswith("55.0")
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
        "fewshot · ratio_distance (pretrained with bce_pair, lr=0.001)",  # 75
        "fewshot · ratio_distance (pretrained with bce_pair, lr=0.01)",  # 55
        "fewshot · ratio_distance (pretrained with ratio_distance, lr=0.001)"]  # 35


def test_paired_section_compares_every_method_with_the_baseline_on_shared_episodes(tmp_path):
    def episodes(loss, uars, **kw):  # identical episodes across losses
        splits = [make_split(f"s{i}", u, info={"repeat": i, "k": 2, "frozen": 0}, hash=f"episode{i}")
                  for i, u in enumerate(uars)]
        return result("fewshot", loss, "a", "b", uars, protocol_params={"k": [2]}, splits=splits, **kw)

    base = [0.50, 0.52, 0.48, 0.55, 0.51, 0.49]
    results = [episodes("bce_pair", base, loss_params={"balance": True}),
               episodes("ratio_distance", [u + 0.03 for u in base], loss_params={"weight": 1}),
               episodes("ratio_distance", [u - 0.02 for u in base], loss_params={"weight": 10})]
    markdown = to_markdown(results, paired="bce_pair")
    section = markdown[markdown.index("## Against bce_pair"):]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| a → b")]
    assert len(rows) == 2
    unit = "episode draws of one source model"
    assert rows[0][1:6] == ["bce_pair", "ratio_distance (weight=1)", "6", unit, "+3.0"] and rows[0][10] == "6 / 0 / 0"
    assert rows[1][1:6] == ["bce_pair", "ratio_distance (weight=10)", "6", unit, "-2.0"] and rows[1][10] == "0 / 6 / 0"
    # p of an exact two-sided signed-rank test with all 6 differences one way: 2 / 2**6 = 0.031; Holm over
    # the two comparisons shown doubles it, so neither is marked significant
    for row in rows:
        assert row[12:15] == ["0.0312", "0.0625", "no |"]
        assert row[7] == "–"  # detectable (power 0.8): the differences do not vary, no sd to state it from
    with pytest.raises(SerBenchError, match="no few-shot results for 'bce'.*bce_pair"):
        to_markdown(results, paired="bce")


def test_by_k_table_shows_a_dash_where_a_setting_has_no_result():
    two = result("fewshot", "bce_pair", "a", "b", [0.5, 0.6])
    four = result("fewshot", "ratio_distance", "a", "b", [0.7, 0.8], k=4)
    by_k = to_markdown([two, four]).split("## Few-shot")[1]
    assert "nan" not in by_k
    assert re.search(r"\| bce_pair +\| +0 \| +55 +\| +– +\|", by_k)
    assert re.search(r"\| ratio_distance +\| +0 \| +– +\| +75 +\|", by_k)


def test_idt_unit_is_the_held_out_speaker_with_seeds_averaged_within_it():
    # folds s0, s1 under two seeds: speaker means 0.7 and 0.5 -> n = 2, half-width t(0.975, 1) * 0.1414 / sqrt 2
    results = [result("idt", "bce_pair", None, "b", [0.8, 0.6], seed=0), result("idt", "bce_pair", None, "b", [0.6, 0.4], seed=1)]
    table = summary_table(results)
    assert table.iloc[0, 0] == "60.0 ± 127.1" and table.loc["idt · bce_pair", "n"] == "n = 2 held-out speakers"


def test_oodt_unit_is_the_source_seed():
    three = [result("oodt", "bce_pair", "a", "b", [u], seed=s) for s, u in enumerate([0.4, 0.5, 0.6])]
    table = summary_table(three)
    assert table.iloc[0, 0] == "50.0 ± 24.8" and table.iloc[0, 1] == "n = 3 source seeds"


def test_fewshot_seed_value_averages_frozen_settings_within_a_draw_and_draws_within_a_seed():
    def seed_result(seed, uars):  # uars[(k, repeat, frozen)]
        return result("fewshot", "bce_pair", "a", "b", [], seed=seed, splits=[
            make_split(f"k{k}-r{rep}-f{f}", u, info={"k": k, "repeat": rep, "frozen": f})
            for (k, rep, f), u in uars.items()])

    one = seed_result(0, {(2, 0, 0): 0.4, (2, 0, 1): 0.6, (4, 0, 0): 0.7, (2, 1, 0): 0.3, (2, 1, 1): 0.5})
    # one seed: the unit is the draw (k, repeat), frozen settings averaged within it: 0.5, 0.7, 0.4
    table = summary_table([one])
    assert table.iloc[0, 0].startswith("53.3 ± ") and table.iloc[0, 1] == "n = 3 episode draws of one source model"
    # three seeds: each seed's mean over its draws (0.5333, 0.6333, 0.4333) is one unit
    seeds = [one, seed_result(1, {(2, 0, 0): 0.5, (2, 0, 1): 0.7, (4, 0, 0): 0.8, (2, 1, 0): 0.4, (2, 1, 1): 0.6}),
             seed_result(2, {(2, 0, 0): 0.3, (2, 0, 1): 0.5, (4, 0, 0): 0.6, (2, 1, 0): 0.2, (2, 1, 1): 0.4})]
    table = summary_table(seeds)
    # seed means 53.3, 63.3, 43.3: sd 10, half-width 4.303 * 10 / sqrt 3 = 24.8
    assert table.iloc[0, 0] == "53.3 ± 24.8" and table.iloc[0, 1] == "n = 3 source seeds"


def test_rows_are_sorted_by_score_within_a_protocol_and_a_missing_cell_never_helps():
    results = [result("oodt", "weak", "a", "b", [0.2]), result("oodt", "weak", "c", "b", [0.2]),
               result("oodt", "strong", "a", "b", [0.6]), result("oodt", "strong", "c", "b", [0.5]),
               result("oodt", "lucky", "a", "b", [0.9]),  # no result for c -> b: ranks below complete rows
               result("fewshot", "bce_pair", "a", "b", [0.1, 0.2]), result("idt", "bce_pair", None, "b", [0.95, 0.9])]
    table = summary_table(results)
    assert list(table.index) == ["oodt · strong", "oodt · weak", "oodt · lucky", "fewshot · bce_pair", "idt · bce_pair"]


def test_markdown_states_units_and_ranks_methods_across_settings(tmp_path):
    from ser_bench.cli.main import main

    results = []
    for source in ("a", "c"):
        results += [result("oodt", "bce_pair", source, "b", [0.40]), result("oodt", "logreg", source, "b", [0.55]),
                    result("oodt", "ratio_distance", source, "b", [0.45])]
    results += [result("idt", loss, None, "b", [u, u]) for loss, u in
                (("bce_pair", 0.6), ("logreg", 0.7), ("ratio_distance", 0.5))]
    results.append(result("fewshot", "bce_pair", "a", "b", [0.5, 0.6]))  # a block with one method: left out
    markdown = to_markdown(results)
    assert "n = 1 source seed" in markdown and "n = 2 held-out speakers" in markdown
    section = markdown[markdown.index("## Average ranks"):]
    # ranks (logreg, bce_pair, ratio_distance): oodt a, oodt c (1, 3, 2), idt (1, 2, 3); no ties, so
    # chi² = 12 N / (k (k + 1)) * sum(R²) - 3 N (k + 1) = 3 * (1 + 64/9 + 49/9) - 36 = 4.67
    assert "(3 blocks)" in section and "Friedman chi² = 4.67" in section
    assert "| logreg | 1.00 | 3 |" in section and "| bce_pair | 2.67 | 3 |" in section
    assert section.index("| ratio_distance | 2.33 |") < section.index("| bce_pair | 2.67 |")
    assert "fewshot a → b, k=2" in section and "ranks.png" not in section
    for r in results:
        r.to_disk(tmp_path / "results" / f"{r.cell_id}.json")
    board = tmp_path / "out" / "LEADERBOARD.md"
    board.parent.mkdir()
    assert main(["leaderboard", str(tmp_path / "results"), "-o", str(board)]) == 0
    assert "![Critical-difference diagram" in board.read_text() and "(ranks.png)" in board.read_text()
    assert (tmp_path / "out" / "ranks.png").exists() and (tmp_path / "out" / "ranks.svg").exists()
    single = to_markdown([result("oodt", "bce_pair", "a", "b", [0.4]), result("oodt", "logreg", "a", "b", [0.5])])
    assert "## Average ranks" not in single  # one block: nothing to rank across


def test_no_tests_gives_the_same_means_without_intervals_tests_or_critical_difference(tmp_path):
    from ser_bench.reporting.leaderboard import INTRO_NO_TESTS
    from ser_bench.reporting.publish import render

    results = []
    for source in ("a", "c"):
        results += [result("oodt", loss, source, "b", [u], seed=seed) for loss, u in
                    (("bce_pair", 0.40), ("logreg", 0.55), ("ratio_distance", 0.45)) for seed in (0, 1)]
    results += [result("idt", loss, None, "b", [u, u + 0.1]) for loss, u in
                (("bce_pair", 0.6), ("logreg", 0.7), ("ratio_distance", 0.5))]
    full, means = to_markdown(results), to_markdown(results, tests=False)
    assert "±" in full and "Friedman chi²" in full and "CD = " in full
    assert "±" not in means and "Friedman" not in means.replace("No Friedman test", "") and "CD = " not in means
    assert INTRO_NO_TESTS in means
    # the same rows in the same order, each with the mean the full board shows
    rows = [line.split("|")[1:3] for line in full.splitlines() if line.startswith("| oodt") or line.startswith("| idt")]
    assert [[name, cell.split(" ± ")[0].strip()] for name, cell in rows] == \
        [[name, cell.strip()] for name, cell in
         (line.split("|")[1:3] for line in means.splitlines() if line.startswith(("| oodt", "| idt")))]
    ranks = means[means.index("## Average ranks"):]
    assert "No Friedman test and no critical difference" in ranks and "| logreg | 1.00 | 3 |" in ranks
    for r in results:
        r.to_disk(tmp_path / f"{r.cell_id}.json")
    csv_full, csv_means = render(tmp_path, "csv"), render(tmp_path, "csv", tests=False)
    header = csv_means.splitlines()[0].split(",")
    assert not {"p", "p_holm", "best", "significant", "ci_low", "ci_high"} & set(header)
    assert {"p", "p_holm", "ci_low"} <= set(csv_full.splitlines()[0].split(","))
    import io

    import pandas as pd

    full_frame, means_frame = pd.read_csv(io.StringIO(csv_full)), pd.read_csv(io.StringIO(csv_means))
    assert full_frame["uar"].tolist() == means_frame["uar"].tolist()
    with pytest.raises(SerBenchError, match="--no-tests"):
        render(tmp_path, paired="bce_pair", tests=False)


def test_no_tests_on_the_command_line(tmp_path, capsys):
    from ser_bench.cli.main import main

    for r in [result("oodt", "bce_pair", source, "b", [0.4]) for source in ("a", "c")] + \
             [result("oodt", "logreg", source, "b", [0.5]) for source in ("a", "c")]:
        r.to_disk(tmp_path / "results" / f"{r.cell_id}.json")
    out = tmp_path / "out" / "LEADERBOARD.md"
    out.parent.mkdir()
    assert main(["leaderboard", str(tmp_path / "results"), "--no-tests", "-o", str(out)]) == 0
    assert "(`--no-tests`)" in out.read_text() and not (out.parent / "ranks.png").exists()  # no CD: no diagram
    assert main(["leaderboard", str(tmp_path / "results"), "--no-tests", "--paired", "bce_pair"]) == 2
    assert main(["leaderboard", str(tmp_path / "results"), "--no-tests", "--format", "html", "-o",
                 str(tmp_path / "site")]) == 2
    assert "--no-tests" in capsys.readouterr().err


# The board cache (ser_bench.reporting.board_cache): never a stale board.

def small_folder(folder):
    for r in [result("oodt", "bce_pair", "a", "b", [0.40]), result("oodt", "logreg", "a", "b", [0.55]),
              result("idt", "bce_pair", None, "b", [0.6, 0.7])]:
        r.to_disk(folder / f"{r.cell_id}.json")
    return folder


def counting(folder, **options):
    """A render of ``folder`` that counts its calls, and the cache's options for it."""
    from ser_bench.reporting.publish import render

    calls = []

    def board():
        calls.append(1)
        return render(folder, **options)
    return board, calls


OPTIONS = {"format": "markdown", "paired": None, "tests": True}


def test_a_cached_board_is_rendered_anew_when_any_result_file_changes(tmp_path):
    import os
    import shutil

    from ser_bench.reporting.board_cache import cached_board
    from ser_bench.reporting.publish import render

    folder = small_folder(tmp_path / "results")
    board, calls = counting(folder)
    first = cached_board(folder, OPTIONS, board)
    assert first == render(folder) and len(calls) == 1
    assert cached_board(folder, OPTIONS, board) == first and len(calls) == 1  # served from the cache
    logreg = next(folder.glob("oodt-logreg-*.json"))
    # touched: rendered again (the same board)
    stat = logreg.stat()
    os.utime(logreg, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert cached_board(folder, OPTIONS, board) == first and len(calls) == 2
    # edited in place keeping its size and modification time: the content's digest sees it
    stat = logreg.stat()
    text = logreg.read_text()
    assert "0.55" in text
    logreg.write_text(text.replace("0.55", "0.65"))
    os.utime(logreg, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert logreg.stat().st_size == stat.st_size
    edited = cached_board(folder, OPTIONS, board)
    assert len(calls) == 3 and "| oodt · logreg   | 65.0" in edited and edited == render(folder)
    # removed, then added back: rendered each time, each time the board of what is there
    shutil.move(logreg, tmp_path / "aside.json")
    without = cached_board(folder, OPTIONS, board)
    assert len(calls) == 4 and "logreg" not in without and without == render(folder)
    (folder / "sub").mkdir()
    shutil.move(tmp_path / "aside.json", folder / "sub" / "again.json")  # a file in a sub-folder counts too
    again = cached_board(folder, OPTIONS, board)
    assert len(calls) == 5 and "logreg" in again and again == render(folder)
    assert cached_board(folder, OPTIONS, board) == again and len(calls) == 5


def test_each_option_set_has_its_own_board_and_code_changes_render_anew(tmp_path, monkeypatch):
    from ser_bench.reporting import board_cache
    from ser_bench.reporting.board_cache import cached_board

    folder = small_folder(tmp_path / "results")
    boards = {}
    for fmt, tests in (("markdown", True), ("markdown", False), ("csv", True), ("json", False)):
        board, calls = counting(folder, fmt=fmt, tests=tests)
        options = {"format": fmt, "paired": None, "tests": tests}
        boards[(fmt, tests)] = cached_board(folder, options, board)
        assert cached_board(folder, options, board) == boards[(fmt, tests)] and len(calls) == 1
    assert len(set(boards.values())) == 4
    # the rendering code is part of the key: an edited checkout or another library renders anew
    state = board_cache._code_state()
    assert any(path == "reporting/leaderboard.py" for path, *_ in state["sources"])
    assert any(name.startswith("pandas-") for name in state["distributions"])
    board, calls = counting(folder)
    monkeypatch.setattr(board_cache, "_code_state", lambda: {**state, "sources": []})
    assert cached_board(folder, OPTIONS, board) == boards[("markdown", True)] and len(calls) == 1


def test_a_cached_board_raises_its_warnings_again_and_reads_as_no_result(tmp_path):
    from ser_bench.errors import SerBenchWarning
    from ser_bench.reporting.board_cache import cached_board
    from ser_bench.results.store import scan_results

    folder = small_folder(tmp_path / "results")
    (folder / "oodt__x__a__b__seed0__0123456789.json").write_text('{"cell_id": "cut')
    board, calls = counting(folder)
    with pytest.warns(SerBenchWarning, match="left out, damaged"):
        first = cached_board(folder, OPTIONS, board)
    with pytest.warns(SerBenchWarning, match="left out, damaged"):
        assert cached_board(folder, OPTIONS, board) == first
    assert len(calls) == 1 and "## Result files left out" in first
    assert (folder / ".cache" / ".gitignore").read_text() == "*\n"  # never committed with the results
    scan = scan_results(folder)  # the cache's own JSON files are not results
    assert len(scan.results) == 3 and [p.kind for p in scan.problems] == ["damaged"]


def test_without_a_writable_cache_every_board_is_rendered_and_a_run_meanwhile_is_not_cached(tmp_path):
    from ser_bench.reporting.board_cache import cached_board, entry_path
    from ser_bench.reporting.publish import render

    folder = small_folder(tmp_path / "blocked")
    (folder / ".cache").write_text("a file where the cache folder would go")
    board, calls = counting(folder)
    assert cached_board(folder, OPTIONS, board) == cached_board(folder, OPTIONS, board) == render(folder)
    assert len(calls) == 2
    # a result written while the board renders: the board is shown but not kept
    folder = small_folder(tmp_path / "busy")
    late = result("oodt", "ratio_distance", "a", "b", [0.5])

    def board_while_a_run_writes():
        text = render(folder)
        late.to_disk(folder / f"{late.cell_id}.json")
        return text
    assert "ratio_distance" not in cached_board(folder, OPTIONS, board_while_a_run_writes)
    assert not entry_path(folder, OPTIONS).exists()
    board, calls = counting(folder)
    assert "ratio_distance" in cached_board(folder, OPTIONS, board) and len(calls) == 1


def test_a_results_folder_may_live_under_a_cache_folder(tmp_path):
    from ser_bench.reporting.publish import render

    folder = small_folder(tmp_path / ".cache" / "ser-bench" / "results")
    assert "oodt · logreg" in render(folder)


def test_the_command_line_shows_a_repeated_board_from_the_cache(tmp_path, capsys, monkeypatch):
    from ser_bench.cli.main import main
    from ser_bench.reporting import publish

    folder = small_folder(tmp_path / "results")
    assert main(["leaderboard", str(folder)]) == 0
    first = capsys.readouterr().out

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")
    monkeypatch.setattr(publish, "render", no_render)
    assert main(["leaderboard", str(folder)]) == 0
    assert capsys.readouterr().out == first
    # with -o a markdown board writes its figures beside it: always rendered
    with pytest.raises(AssertionError, match="rendered again"):
        main(["leaderboard", str(folder), "-o", str(tmp_path / "board.md")])


def test_feature_settings_are_columns_of_the_board_frame():
    """An ssl cell's model and layer are columns of the exported board, one row per layer."""
    from dataclasses import replace

    from ser_bench.reporting.export import board_frame

    rows = []
    for layer in (0, 1):
        r = result("idt", "logreg", None, "sim-ravdess", [0.5 + layer / 10, 0.6])
        params = replace(r.params, feature="ssl", feature_params={"model": "tiny-wavlm", "layers": [layer]})
        rows.append(replace(r, cell_id=f"{r.cell_id}-layer{layer}", params=params))
    frame = board_frame(rows, tests=False)
    cells = frame[frame["level"] == "cell"]
    assert sorted(cells["feature_params.layers"]) == ["[0]", "[1]"]
    assert set(cells["feature_params.model"]) == {"tiny-wavlm"}
    assert "feature_params.model" not in board_frame([result("idt", "logreg", None, "sim-ravdess", [0.5])],
                                                      tests=False)
