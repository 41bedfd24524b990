"""Figure 2 from a constructed curve frame: both formats written, and byte-identical when redrawn."""
from __future__ import annotations

import pandas as pd

from ser_bench.reporting.figures import plot_fewshot_curves


def test_redrawing_a_figure_changes_no_byte(tmp_path):
    rows = [{"pair": "a → b", "loss": loss, "frozen": frozen, "k": k, "uar": 0.4 + 0.01 * k, "lo": 0.35, "hi": 0.6}
            for loss in ("bce_pair", "ratio_distance") for frozen in (0, 1) for k in (2, 4, 6)]
    frame = pd.DataFrame(rows)
    first = plot_fewshot_curves(frame, tmp_path / "one" / "figure2")
    second = plot_fewshot_curves(frame, tmp_path / "two" / "figure2")
    assert [p.suffix for p in first] == [".png", ".svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"ratio_distance, 1 frozen" in first[1].read_bytes()


def test_critical_difference_diagram_is_byte_reproducible(tmp_path):
    from ser_bench.reporting.figures import plot_critical_difference

    ranks = pd.Series([1.4, 2.1, 2.9, 3.6], index=["logreg (normalise=speaker)", "softmax_mlp", "bce_pair", "ratio_distance"])
    first = plot_critical_difference(ranks, 1.25, tmp_path / "one" / "ranks", "Average ranks")
    second = plot_critical_difference(ranks, 1.25, tmp_path / "two" / "ranks", "Average ranks")
    assert [p.name for p in first] == ["ranks.png", "ranks.svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    svg = first[1].read_bytes()
    assert b"CD = 1.25" in svg and b"logreg (normalise=speaker) (1.40)" in svg
