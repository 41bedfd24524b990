"""The normalised area under the few-shot curve (UAR against k): its arithmetic, its unit, the ranking
and its tests, methods on another k list left out, and the board's section, figure and web page."""
from __future__ import annotations

import math
import re

import pytest

from ser_bench.reporting.curves import normalised_area, rank_curves
from ser_bench.reporting.stats import DRAWS, SEEDS
from ser_bench.reporting.tidy import breakdown_table
from ser_bench.results.record import CellParams, Result, make_split

LABELS = ("anger", "happiness", "sadness", "fear")


def fewshot(loss, seed, uars, source="a", target="b"):
    """A few-shot result: ``uars[(k, repeat, frozen)]``, one episode each (the same episodes for every loss)."""
    splits = [make_split(f"k{k}-r{r}-f{f}", u, info={"k": k, "repeat": r, "frozen": f}, hash=f"k{k}r{r}f{f}s{seed}",
                         episode_hash=f"k{k}r{r}s{seed}") for (k, r, f), u in uars.items()]
    params = CellParams(protocol="fewshot", loss=loss, source=source, target=target, encoder="siamese-mlp",
                        feature="is09-64", seed=seed, labels=LABELS, protocol_params={}, training={"epochs": 1})
    return Result(cell_id=f"fewshot-{loss}-{source}-{target}-{seed}", status="ok", params=params, splits=tuple(splits))


def idt(loss, uars):
    splits = [make_split(f"spk{i}", u, info={"test_speaker": f"spk{i}"}, hash=f"spk{i}") for i, u in enumerate(uars)]
    params = CellParams(protocol="idt", loss=loss, source=None, target="b", encoder="siamese-mlp", feature="is09-64",
                        seed=0, labels=LABELS, protocol_params={}, training={"epochs": 1})
    return Result(cell_id=f"idt-{loss}", status="ok", params=params, splits=tuple(splits))


def curve(loss, seed, by_k, frozen=(0,), repeats=1, shift=0.0):
    """A seed's result whose every episode at k has UAR ``by_k[k] + shift`` (the same for every frozen setting
    and repeat, so the curve is exactly ``by_k``)."""
    return fewshot(loss, seed, {(k, r, f): u + shift for k, u in by_k.items() for r in range(repeats) for f in frozen})


def test_area_is_the_trapezoid_over_the_k_range():
    # k = 2, 4, 8 with UAR 0.5, 0.6, 0.8: trapezoids 2 * 0.55 + 4 * 0.70 = 3.9 over a range of 6 -> 0.65
    assert normalised_area([2, 4, 8], [0.5, 0.6, 0.8]) == pytest.approx(0.65)
    assert normalised_area([8, 2, 4], [0.8, 0.5, 0.6]) == pytest.approx(0.65)  # order of the points is irrelevant
    assert normalised_area([2, 8], [0.5, 0.8]) == pytest.approx(0.65)  # two points: their mean
    assert normalised_area([1, 2], [0.4, 0.4]) == pytest.approx(0.4)  # a flat curve: its UAR
    assert math.isnan(normalised_area([4], [0.6]))


def test_the_unit_is_the_source_seed_with_several_seeds_frozen_settings_averaged_within_a_draw():
    # seed s: UAR at k = 2, 4, 8 is 0.5, 0.6, 0.8 plus 0.1 * s (frozen 0 and 1 at -0.02 and +0.02, averaging out)
    results = []
    for seed in range(3):
        uars = {}
        for k, u in {2: 0.5, 4: 0.6, 8: 0.8}.items():
            for r in range(2):
                uars[(k, r, 0)], uars[(k, r, 1)] = u + 0.1 * seed - 0.02, u + 0.1 * seed + 0.02
        results.append(fewshot("bce_pair", seed, uars))
    [ranking] = rank_curves(breakdown_table(results))
    [row] = ranking.rows
    assert ranking.ks == (2, 4, 8) and row.unit == SEEDS and row.n == 3
    assert row.values == pytest.approx({"0": 0.65, "1": 0.75, "2": 0.85})
    # mean 0.75, sd 0.1 over three seeds: half-width t(0.975, 2) * 0.1 / sqrt 3 = 4.303 * 0.0577 = 0.248
    assert row.area == pytest.approx(0.75) and row.half_width == pytest.approx(0.2484, abs=1e-4)
    assert [p.k for p in row.points] == [2, 4, 8] and row.points[0].uar == pytest.approx(0.6)
    assert row.rank == 1 and row.best


def test_with_one_seed_the_unit_is_the_episode_draw_index():
    # one source model, repeats 0 and 1 at every k: the r-th draw at each k is one curve
    uars = {(2, 0, 0): 0.5, (4, 0, 0): 0.6, (8, 0, 0): 0.8,   # area 0.65
            (2, 1, 0): 0.3, (4, 1, 0): 0.6, (8, 1, 0): 0.6,   # area (2 * 0.45 + 4 * 0.6) / 6 = 0.55
            (2, 2, 0): 0.4, (4, 2, 0): 0.5}                   # no draw at k = 8: left out, counted
    [ranking] = rank_curves(breakdown_table([fewshot("bce_pair", 0, uars)]))
    [row] = ranking.rows
    assert row.unit == DRAWS and row.n == 2 and row.incomplete == 1
    assert sorted(row.values.values()) == pytest.approx([0.55, 0.65]) and row.area == pytest.approx(0.60)


def test_methods_are_ranked_by_area_with_intervals_and_tested_against_the_best():
    from scipy.stats import ttest_1samp
    from statsmodels.stats.multitest import multipletests

    by_k = {2: 0.5, 4: 0.6, 8: 0.8}  # area 0.65
    jitter = (0.01, -0.02, 0.015)
    results = []
    for seed in range(3):
        results += [curve("logreg", seed, by_k, shift=-0.10 + jitter[seed]),
                    curve("bce_pair", seed, by_k, frozen=(0, 1, 2), shift=jitter[seed] / 2),
                    curve("ratio_distance", seed, by_k, frozen=(0, 1), shift=-0.02 - jitter[seed])]
    [ranking] = rank_curves(breakdown_table(results))
    assert [r.method for r in ranking.rows] == ["bce_pair", "ratio_distance", "logreg"]
    assert [r.rank for r in ranking.rows] == [1, 2, 3] and [r.best for r in ranking.rows] == [True, False, False]
    best, second, third = ranking.rows
    assert best.area == pytest.approx(0.65 + sum(jitter) / 6) and third.area == pytest.approx(0.55 + sum(jitter) / 3)
    assert second.lo < second.area < second.hi and math.isnan(best.p)
    # paired over seeds: the per-seed area differences against the best, Holm over the two tests
    p = [ttest_1samp([row.values[s] - best.values[s] for s in "012"], 0.0).pvalue for row in (second, third)]
    assert [second.p, third.p] == pytest.approx(p)
    assert [second.p_holm, third.p_holm] == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert ranking.left_out == {}


def test_a_method_on_another_k_list_is_left_out_and_named():
    results = [curve(loss, seed, {2: 0.5, 4: 0.6, 8: 0.8}, shift=shift) for seed in range(2)
               for loss, shift in (("bce_pair", 0.0), ("logreg", -0.05))]
    results += [curve("softmax_mlp", seed, {2: 0.7, 4: 0.9}) for seed in range(2)]  # would win on its own span
    results += [curve("linear_svm", seed, {4: 0.7}) for seed in range(2)]  # one k: no curve
    [ranking] = rank_curves(breakdown_table(results))
    assert ranking.ks == (2, 4, 8) and [r.method for r in ranking.rows] == ["bce_pair", "logreg"]
    assert ranking.left_out == {"linear_svm": "k = 4, not 2, 4, 8", "softmax_mlp": "k = 2, 4, not 2, 4, 8"}
    from ser_bench.reporting.leaderboard import to_markdown

    section = to_markdown(results).split("## Few-shot curves: area under UAR against k")[1]
    assert "Left out (not comparable on this k list): linear_svm (k = 4, not 2, 4, 8); softmax_mlp (k = 2, 4, " \
           "not 2, 4, 8)." in section


def demo(seeds=3):
    out = [idt("logreg", [0.7, 0.6, 0.65]), idt("bce_pair", [0.6, 0.5, 0.62])]
    for seed in range(seeds):
        out += [curve("bce_pair", seed, {2: 0.5, 4: 0.6, 8: 0.8}, frozen=(0, 1), shift=0.01 * seed),
                curve("logreg", seed, {2: 0.4, 4: 0.55, 8: 0.6}, shift=-0.02 * seed)]
    return out


def test_the_section_follows_the_table_by_k_and_only_where_there_are_curves():
    from ser_bench.reporting.leaderboard import to_markdown

    board = to_markdown(demo())
    heading = "## Few-shot curves: area under UAR against k"
    assert board.index("## Few-shot UAR % by number of target speakers k") < board.index(heading) \
        < board.index("## Average ranks")
    section = board[board.index(heading):board.index("## Average ranks")]
    rows = [line for line in section.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    # bce_pair: 0.65 + 0.01 * seed -> 66.0 ± 2.5; logreg: (2 * 0.475 + 4 * 0.575) / 6 = 0.5417 - 0.02 * seed
    # the markdown board runs no paired test (no statsmodels to import): the web page tests against the best
    assert rows[0] == "| 1 | bce_pair | 66.0 ± 2.5 | n = 3 source seeds |"
    assert rows[1] == "| 2 | logreg | 52.2 ± 5.0 | n = 3 source seeds |" and "p (Holm)" not in section
    assert "### a → b (k = 2, 4, 8)" in section and "fewshot_curves.png" not in section  # no figure folder
    means_only = to_markdown(demo(), tests=False)
    plain = means_only[means_only.index(heading):means_only.index("## Average ranks")]
    assert "| 1 | bce_pair | 66.0 | n = 3 source seeds |" in plain and "p (Holm)" not in plain
    assert heading not in to_markdown(demo()[:2])  # no few-shot results
    one_k = [curve(loss, 0, {4: u}) for loss, u in (("bce_pair", 0.6), ("logreg", 0.5))]
    assert "## Few-shot UAR % by number of target speakers k" in to_markdown(one_k)
    assert heading not in to_markdown(one_k)  # one k: no curve to take the area of


def test_the_figure_is_written_beside_the_board_and_redrawn_byte_for_byte(tmp_path, monkeypatch):
    from ser_bench.cli.main import main
    from ser_bench.reporting.leaderboard import to_markdown

    monkeypatch.setenv("MPLBACKEND", "Agg")
    board = to_markdown(demo(), figure_dir=tmp_path / "one")
    assert re.search(r"!\[Few-shot curves[^\]]*\]\(fewshot_curves\.png\)", board)
    first = [tmp_path / "one" / f"fewshot_curves.{ext}" for ext in ("png", "svg")]
    assert all(p.exists() for p in first)
    assert b"bce_pair (66.0)" in first[1].read_bytes()  # the legend gives each method's area
    to_markdown(demo(), figure_dir=tmp_path / "two")
    for path in first:
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes(), path.name
    for r in demo():
        r.to_disk(tmp_path / "results" / f"{r.cell_id}.json")
    out = tmp_path / "out" / "LEADERBOARD.md"
    out.parent.mkdir()
    assert main(["-q", "leaderboard", str(tmp_path / "results"), "-o", str(out)]) == 0
    assert "(fewshot_curves.png)" in out.read_text() and (out.parent / "fewshot_curves.svg").exists()


def test_the_web_page_holds_the_figure_and_the_ranking():
    from ser_bench.reporting.html import to_html

    page = to_html(demo())
    assert "<b>Few-shot curves: area under UAR against k</b>" in page
    figure = page[page.index("<b>Few-shot curves: area under UAR against k</b>"):]
    figure = figure[:figure.index("</figure>")]
    assert "data:image/png;base64," in figure
    assert "a → b (k = 2, 4, 8): 1. bce_pair 66.0 ± 2.5, 2. logreg 52.2 ± 5.0" in figure
    assert "area under UAR against k" not in to_html(demo()[:2])
