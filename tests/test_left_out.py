"""Splits left out of the means (their test sets lack a class of the label set): left out exactly as
before, but listed once per cause (a held-out speaker, or a protocol and target) on the markdown board, in
the warnings (fresh and from the board cache) and on the HTML board, never once per split per cell."""
from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from ser_bench.errors import SerBenchWarning
from ser_bench.reporting.html import to_html
from ser_bench.reporting.leaderboard import summary_table, to_markdown
from ser_bench.reporting.publish import render
from ser_bench.reporting.tidy import degenerate_splits, describe_degenerate, describe_left_out, tidy
from ser_bench.results.record import CellParams, Metrics, Result, make_split

LABELS = ("anger", "happiness", "sadness", "fear")
SPEAKERS = [f"{i:02d}" for i in range(1, 25)]
LACKING = {"07", "19"}  # their clips have no happiness
IDT_LOSSES = ("logreg", "bce_pair", "ratio_distance")


def params(protocol, loss, target, seed=0, source=None):
    return CellParams(protocol=protocol, loss=loss, source=source, target=target, encoder="siamese-mlp",
                      feature="is09-64", seed=seed, labels=LABELS, decision="sum", normalise="train",
                      protocol_params={}, training={"epochs": 1})


def idt_cell(loss, recorded=True, target="ravdess"):
    """24 leave-one-speaker-out folds; the folds of speakers 07 and 19 score 0.99 over three classes.
    ``recorded=False``: a file written before ``missing_test_classes`` existed (the confusion matrix,
    whose happiness row is empty, tells)."""
    base = {"logreg": 0.60, "bce_pair": 0.55, "ratio_distance": 0.50}[loss]
    splits = []
    for i, speaker in enumerate(SPEAKERS):
        lacking = speaker in LACKING
        uar = 0.99 if lacking else base + 0.01 * (i % 5) + 0.004 * ((i * len(loss)) % 3)
        fields = {"info": {"test_speaker": speaker}, "hash": f"loso-{speaker}"}
        if recorded:
            fields["missing_test_classes"] = ["happiness"] if lacking else []
        else:
            confusion = [[3, 1, 0, 0], [0, 0, 0, 0] if lacking else [1, 3, 0, 0], [0, 0, 4, 0], [0, 0, 0, 4]]
            fields["metrics"] = Metrics(uar=uar, accuracy=uar, macro_f1=uar, confusion=confusion)
        splits.append(make_split(f"loso-{speaker}", uar, **fields))
    return Result(cell_id=f"idt-{loss}-{target}", status="ok", params=params("idt", loss, target),
                  splits=tuple(splits))


def idt_results():
    """3 cells x 24 folds, one of them written before the field existed."""
    return [idt_cell("logreg"), idt_cell("bce_pair"), idt_cell("ratio_distance", recorded=False)]


def without_left_out(results):
    """The same results with the left-out splits deleted, as if they had never been run."""
    out = []
    for r in results:
        kept = tuple(s for s in r.splits if not (s.missing_test_classes
                                                or (s.metrics.confusion and not any(s.metrics.confusion[1]))))
        if kept:  # a cell with nothing left is as if it had not run
            out.append(Result(cell_id=r.cell_id, status=r.status, params=r.params, splits=kept))
    return out


def section(board: str) -> list[str]:
    """The bullets of the markdown board's "Splits left out" section."""
    found = re.search(r"## Splits left out\n\n[^\n]*\n\n((?:- [^\n]*\n)*)", board)
    assert found, board
    return [line[2:] for line in found.group(1).splitlines()]


def test_idt_folds_are_listed_once_per_speaker_and_class():
    results = idt_results()
    assert len(degenerate_splits(results)) == 6  # still one record per split, unpacking as before
    cell_id, split, missing = degenerate_splits(results)[0]
    assert (cell_id, split, missing) == ("idt-logreg-ravdess", "loso-07", ["happiness"])
    lines = section(to_markdown(results))
    assert lines == [
        "target ravdess, speaker 07: its clips have no happiness — left out of 3 splits (loso-07) in 3 cells "
        "(every fold of that speaker)",
        "target ravdess, speaker 19: its clips have no happiness — left out of 3 splits (loso-19) in 3 cells "
        "(every fold of that speaker)",
    ]
    assert describe_left_out(results) == lines


def test_the_means_leave_the_same_splits_out_as_before():
    results = idt_results()
    assert len(tidy(results)) == 3 * 22 and len(tidy(results, include_degenerate=True)) == 3 * 24
    table = summary_table(results)
    pd.testing.assert_frame_equal(table, summary_table(without_left_out(results)))
    assert set(table["n"]) == {"n = 22 held-out speakers"}
    kept = [s.metrics.uar for s in results[0].splits if s.info["test_speaker"] not in LACKING]
    assert table.loc["idt · logreg"].iloc[0].startswith(f"{100 * sum(kept) / len(kept):.1f} ±")


def test_a_speaker_tested_by_more_folds_than_are_left_out_says_so():
    """A cell whose label set the speaker does not lack (here: its fold recorded as complete) tests that
    speaker too: the line says how many of its folds are left out."""
    results = idt_results()
    complete = idt_cell("logreg", target="ravdess")
    splits = tuple(s if s.name != "loso-07" else make_split("loso-07", 0.6, info={"test_speaker": "07"},
                                                            missing_test_classes=[]) for s in complete.splits)
    results.append(Result(cell_id="idt-logreg-seed1", status="ok", params=params("idt", "logreg", "ravdess", seed=1),
                          splits=splits))
    lines = describe_left_out(results)
    assert lines[0] == ("target ravdess, speaker 07: its clips have no happiness — left out of 3 splits (loso-07) "
                        "in 3 cells (of the 4 folds that test that speaker)")
    assert lines[1].endswith("left out of 4 splits (loso-19) in 4 cells (every fold of that speaker)")


def fewshot_cell(loss, seed, target="turev"):
    """Episodes k2 and k4, repeats 0-5; the test sets of k4-r2 and k4-r5 have no happiness."""
    splits = []
    for k in (2, 4):
        for r in range(6):
            lacking = k == 4 and r in (2, 5)
            uar = 0.95 if lacking else 0.4 + 0.02 * r + 0.01 * len(loss) + 0.003 * seed * (r % 3)
            splits.append(make_split(f"k{k}-r{r}-f0", uar,
                                     info={"k": k, "repeat": r, "frozen": 0, "test": "speakers",
                                           "speakers": SPEAKERS[r:r + k]},
                                     hash=f"{loss}{seed}k{k}r{r}", episode_hash=f"{seed}k{k}r{r}",
                                     missing_test_classes=["happiness"] if lacking else []))
    return Result(cell_id=f"fewshot-{loss}-{seed}", status="ok",
                  params=params("fewshot", loss, target, seed=seed, source="crema"), splits=tuple(splits))


def oodt_cell(loss, seed, missing):
    split = make_split("oodt", 0.9 if missing else 0.35, info={}, hash=f"oodt{loss}{seed}",
                       missing_test_classes=missing)
    return Result(cell_id=f"oodt-{loss}-{seed}", status="ok",
                  params=params("oodt", loss, "turev", seed=seed, source="crema"), splits=(split,))


def fewshot_results():
    """7 few-shot cells (2 episodes of each left out) and 3 OODT cells, 2 of them on a target without fear."""
    cells = [fewshot_cell(loss, seed) for loss in ("bce_pair", "logreg") for seed in range(3)]
    cells.append(fewshot_cell("ratio_distance", 0))
    cells += [oodt_cell("bce_pair", 0, ["fear"]), oodt_cell("logreg", 0, ["fear"]), oodt_cell("bce_pair", 1, [])]
    return cells


def test_fewshot_episodes_and_oodt_splits_are_listed_once_per_protocol_target_and_class():
    results = fewshot_results()
    assert section(to_markdown(results)) == [
        "target turev, oodt: the test sets of 2 splits in 2 cells have no fear (e.g. oodt) — left out",
        "target turev, fewshot: the test sets of 14 episodes in 7 cells have no happiness (e.g. k4-r2-f0) — left out",
    ]
    assert len(tidy(results)) == 7 * 10 + 1
    pd.testing.assert_frame_equal(summary_table(results), summary_table(without_left_out(results)))


def test_every_cause_of_a_mixed_board_has_one_line():
    results = idt_results() + fewshot_results()
    lines = section(to_markdown(results))
    assert len(lines) == 4
    assert [line.split(":")[0] for line in lines] == ["target turev, oodt", "target turev, fewshot",
                                                      "target ravdess, speaker 07", "target ravdess, speaker 19"]


def test_plain_tuples_still_get_a_line_each():
    assert describe_degenerate([("cell", "loso-04", ["sadness"])]) == [
        "cell: split 'loso-04' left out: its test set has no sadness"]


def write(results, folder):
    folder.mkdir()
    for r in results:
        r.to_disk(folder / f"{r.cell_id}.json")
    return folder


def left_out_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, SerBenchWarning) and "target " in str(w.message)]


def test_one_warning_per_cause_fresh_and_from_the_board_cache(tmp_path):
    from ser_bench.reporting.board_cache import cached_board

    folder = write(idt_results() + fewshot_results(), tmp_path / "results")
    expected = describe_left_out(idt_results() + fewshot_results())
    assert len(expected) == 4
    options = {"format": "markdown", "paired": None, "tests": True}
    calls = []

    def board():
        calls.append(1)
        return render(folder)
    boards = []
    for _ in range(2):  # rendered, then served from the cache: the same four warnings both times
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            boards.append(cached_board(folder, options, board))
        assert left_out_warnings(caught) == expected
    assert len(calls) == 1 and boards[0] == boards[1] and section(boards[0]) == expected


def test_the_html_board_lists_the_same_lines():
    results = idt_results() + fewshot_results()
    page = to_html(results)
    found = re.search(r'<section id="left-out-splits"><h2>Splits left out</h2>.*?<ul>(.*?)</ul></section>', page)
    assert found
    items = re.findall(r"<li>(.*?)</li>", found.group(1))
    assert items == [line.replace("&", "&amp;") for line in describe_left_out(results)] and len(items) == 4
    assert 'id="left-out-splits"' not in to_html(without_left_out(idt_results()))


@pytest.mark.parametrize("build", [idt_results, fewshot_results])
def test_no_section_when_nothing_is_left_out(build):
    assert "## Splits left out" not in to_markdown(without_left_out(build()))
