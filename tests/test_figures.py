"""Figure 2 from a constructed curve frame: both formats written, and byte-identical when redrawn."""
from __future__ import annotations

import pandas as pd

from ser_bench.figures import plot_fewshot_curves


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
