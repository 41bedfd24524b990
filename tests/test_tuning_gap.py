"""The board's "Tuning: validation against test" section and its export columns."""
from __future__ import annotations

import dataclasses
import math

from ser_bench.reporting.export import board_frame
from ser_bench.reporting.leaderboard import to_markdown
from ser_bench.reporting.tuning_gap import tuning_gap_section
from ser_bench.reporting.validation_gap import far_above
from tests.test_leaderboard import result


def tuned(loss, seed, uar, best, default, trials=32):
    r = result("oodt", loss, "sim-crema", "sim-ravdess", [uar], seed=seed)
    tuning = {"trials": trials, "best_value": best, "default_value": default}
    return dataclasses.replace(r, cell_id=f"{r.cell_id}-tuned", params=dataclasses.replace(r.params, tuning=tuning),
                               tuning=tuning)


def results():
    # bce_pair: test 40, 44, 48 (mean 44, sd 4, half-width 4.303 * 4 / sqrt 3 = 9.94 -> upper end 53.9);
    # validation 60, 62, 64 (mean 62): above the interval. ratio_distance: test 50, 52, 54 (upper end 61.0),
    # validation 55, 56, 57 (mean 56): inside it. logreg: not tuned.
    return ([tuned("bce_pair", s, u, b, 0.5) for s, (u, b) in enumerate([(0.40, 0.60), (0.44, 0.62), (0.48, 0.64)])]
            + [tuned("ratio_distance", s, u, b, 0.52) for s, (u, b) in
               enumerate([(0.50, 0.55), (0.52, 0.56), (0.54, 0.57)])]
            + [result("oodt", "logreg", "sim-crema", "sim-ravdess", [0.5], seed=s) for s in range(3)])


def test_the_validation_uar_of_the_chosen_settings_is_set_beside_the_test_uar_and_a_far_gap_is_marked():
    lines = tuning_gap_section(results())
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines if line.startswith("| oodt")}
    assert set(rows) == {"oodt · bce_pair (tuned 32)", "oodt · ratio_distance (tuned 32)"}  # logreg untuned
    assert rows["oodt · bce_pair (tuned 32)"].endswith("| 32 | 62.0 | 50.0 | 44.0 | +18.0 | ⚠ |")
    assert rows["oodt · ratio_distance (tuned 32)"].endswith("| 32 | 56.0 | 52.0 | 52.0 | +4.0 |  |")
    assert "1 of 2 tuned rows have a validation UAR above their test interval." in lines


def test_the_export_carries_the_validation_columns_and_the_board_the_section():
    board = board_frame(results())
    bce = board[board["method"] == "oodt · bce_pair (tuned 32)"].iloc[0]
    assert math.isclose(bce["validation_uar"], 0.62) and math.isclose(bce["validation_default_uar"], 0.5)
    assert bce["ci_high"] < bce["validation_uar"]
    assert math.isnan(board[board["method"] == "oodt · logreg (all speakers)"].iloc[0]["validation_uar"])
    assert "## Tuning: validation against test" in to_markdown(results())


def test_untuned_boards_and_boards_without_intervals_mark_nothing():
    assert tuning_gap_section([result("oodt", "logreg", "sim-crema", "sim-ravdess", [0.5])]) == []
    plain = tuning_gap_section(results(), tests=False)
    assert not any("⚠" in line for line in plain[4:]) and any("`--no-tests`" in line for line in plain)
    assert not far_above(0.9, math.nan) and far_above(0.62, 0.539) and not far_above(0.56, 0.61)


def test_every_export_column_is_in_the_data_dictionary():
    from pathlib import Path

    documented = Path(__file__).resolve().parents[1].joinpath("docs", "data.md").read_text()
    nested = ("loss_params.", "training.", "protocol_params.", "encoder_params.", "feature_params.")
    missing = [c for c in board_frame(results()).columns if f"`{c}`" not in documented and not c.startswith(nested)]
    assert not missing, f"docs/data.md does not describe {missing}"
