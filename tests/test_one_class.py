"""The boards' section on splits whose predictions fell on a single emotion."""
from __future__ import annotations

from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.one_class import one_class_rows, one_class_section, predicted_one_class
from ser_bench.results.record import Metrics, make_split
from tests.test_leaderboard import result

COLLAPSED = [[5, 0, 0], [4, 0, 0], [6, 0, 0]]  # every clip predicted as the first class: UAR 1/3
SPREAD = [[3, 1, 1], [1, 2, 1], [0, 2, 4]]


def split(name: str, confusion: list, seed_hash: str):
    uar = sum(row[i] / sum(row) for i, row in enumerate(confusion)) / len(confusion)
    return make_split(name, uar, hash=f"{name}{seed_hash}", info={"repeat": int(name[1:]), "k": 2, "frozen": 0},
                      metrics=Metrics(uar=uar, accuracy=uar, macro_f1=uar, confusion=confusion))


def results():
    # ratio_distance: seed 1 collapsed in 2 of its 3 episodes, seed 0 never; bce_pair: nothing collapsed.
    labels = ("anger", "happiness", "sadness")
    matrices = {("ratio_distance", 0): [SPREAD] * 3, ("ratio_distance", 1): [COLLAPSED, SPREAD, COLLAPSED],
                ("bce_pair", 0): [SPREAD] * 3, ("bce_pair", 1): [SPREAD] * 3}
    return [result("fewshot", loss, "emodb", "ravdess", [], labels=labels, seed=seed,
                   splits=[split(f"e{i}", m, f"{loss}{seed}") for i, m in enumerate(found)])
            for (loss, seed), found in matrices.items()]


def test_a_split_is_on_one_class_only_when_its_test_set_holds_two_or_more():
    assert predicted_one_class(COLLAPSED)
    assert not predicted_one_class(SPREAD)
    assert not predicted_one_class([[5, 0], [0, 0]])  # one true class, rightly predicted: not a collapse
    assert not predicted_one_class([[0, 5], [0, 0]])  # one true class, all wrong: its test set cannot tell
    assert not predicted_one_class(None) and not predicted_one_class([])


def test_the_section_counts_each_rows_collapsed_splits_and_names_their_seeds():
    rows = one_class_rows(results())
    assert rows == {("fewshot · ratio_distance", "emodb", "ravdess"): {"splits": 2, "of": 6, "seeds": [1]}}
    lines = one_class_section(results())
    assert lines[0] == "## Predictions on a single emotion"
    assert "| fewshot · ratio_distance | emodb → ravdess | 2 of 6 | 1 |" in lines
    assert "## Predictions on a single emotion" in to_markdown(results())


def test_a_board_without_collapsed_splits_has_no_such_section():
    healthy = [r for r in results() if r.params.loss == "bce_pair"]
    assert one_class_section(healthy) == []
    assert "single emotion" not in to_markdown(healthy)


def test_the_web_page_shows_the_same_section():
    from ser_bench.reporting.html_sections import measure_sections

    page = measure_sections(results())
    assert "<h2>Predictions on a single emotion</h2>" in page
    assert "<td>fewshot · ratio_distance</td>" in page and "<td>2 of 6</td>" in page
