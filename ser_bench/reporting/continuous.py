"""The board's section on continuous targets (arousal, valence): CCC and Spearman's rho per method."""
from __future__ import annotations

import math

from ser_bench.reporting import md
from ser_bench.reporting.tidy import DASH, ok_results, pair_name


def continuous_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Continuous targets: CCC and Spearman" section: one row per method and
    source → target, CCC and Spearman's rho of each continuous target (arousal, valence, as the loss
    trained on them) as mean ± 95 % half-width over the unit of the summary table's *n* column
    (:func:`~ser_bench.reporting.stats.estimate`); splits whose value is undefined (NaN, a constant
    prediction) are left out of that mean. [] unless some result holds continuous metrics."""
    from ser_bench.reporting.export import split_rows
    from ser_bench.reporting.stats import describe_n, estimate
    from ser_bench.reporting.tidy import missing_test_classes

    ok = ok_results(results)
    found = [(s.metrics.extra or {}).get("continuous") or {} for r in ok for s in r.splits
             if not missing_test_classes(r, s)]  # row for row with the tidy frame
    if not any(found):
        return []
    _, frame = split_rows(results)
    targets = list(dict.fromkeys(t for metrics in found for t in metrics))
    measures = [(t, m) for t in targets for m in ("ccc", "spearman")]
    for t, m in measures:
        frame[f"{t}.{m}"] = [float((metrics.get(t) or {}).get(m, math.nan)) for metrics in found]
    frame = frame[[any(metrics) for metrics in found]]
    lines = ["## Continuous targets: CCC and Spearman", "",
             "Lin's concordance correlation coefficient (CCC) and Spearman's rho between each annotated (or, for "
             "corpora without annotations, circumplex) continuous target and its prediction by a ridge probe fitted "
             "on the support set's embeddings. Both are computed per split, pooled over that split's whole test set "
             "(all its clips at once, not averaged per speaker within it; an IDT split's test set is one held-out "
             "speaker), then " + ("averaged as UAR is above: mean ± half-width of the 95 % t-interval over the unit "
                                  "in the *n* column." if tests else "averaged over the unit in the *n* column "
                                  "(means only, `--no-tests`).") + " Values run from -1 to 1; "
             f"{DASH} = no value.", "",
             "| method | source → target | " + " | ".join(f"{md.cell(t)} {'CCC' if m == 'ccc' else 'Spearman'}"
                                                         for t, m in measures) + " | n |",
             "|---|---|" + "---|" * len(measures) + "---|"]
    for (method, source, target), group in frame.groupby(["method", "source", "target"], sort=False):
        cells, units = [], []
        for t, m in measures:
            rows = group[group[f"{t}.{m}"].notna()]
            if rows.empty:
                cells.append(DASH)
                continue
            est = estimate(rows.assign(uar=rows[f"{t}.{m}"]), interval=tests)
            units.append(describe_n(est.n, est.unit))
            cells.append(f"{est.mean:.3f}" if math.isnan(est.lo) else f"{est.mean:.3f} ± {est.half_width:.3f}")
        lines.append("| " + " | ".join([md.cell(method), md.cell(pair_name(source or None, target)), *cells,
                                          md.cell("; ".join(dict.fromkeys(units)) or DASH)]) + " |")
    return [*lines, ""]
