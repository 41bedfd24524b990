"""The board's section on continuous targets (arousal, valence): CCC and Spearman's rho per method."""
from __future__ import annotations

from ser_bench.reporting.split_metrics import Measure, decimals, kept_splits, measure_rows, measure_table
from ser_bench.reporting.tidy import DASH


def continuous_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Continuous targets: CCC and Spearman" section: one row per method and
    source → target, CCC and Spearman's rho of each continuous target (arousal, valence, as the loss
    trained on them) as mean ± 95 % half-width over the unit of the summary table's *n* column
    (:func:`~ser_bench.reporting.split_metrics.measure_rows`); splits whose value is undefined (NaN, a
    constant prediction) are left out of that mean. [] unless some result holds continuous metrics."""
    found = [(s.metrics.extra or {}).get("continuous") or {} for _, s in kept_splits(results)]
    targets = list(dict.fromkeys(t for metrics in found for t in metrics))
    measures = [Measure(f"{t} {'CCC' if m == 'ccc' else 'Spearman'}", _reader(t, m), decimals(3))
                for t in targets for m in ("ccc", "spearman")]
    rows = measure_rows(results, measures, tests) if measures else None
    if not rows:
        return []
    return ["## Continuous targets: CCC and Spearman", "",
            "Lin's concordance correlation coefficient (CCC) and Spearman's rho between each annotated (or, for "
            "corpora without annotations, circumplex) continuous target and its prediction by a ridge probe fitted "
            "on the support set's embeddings. Both are computed per split, pooled over that split's whole test set "
            "(all its clips at once, not averaged per speaker within it; an IDT split's test set is one held-out "
            "speaker), then " + ("averaged as UAR is above: mean ± half-width of the 95 % t-interval over the unit "
                                 "in the *n* column." if tests else "averaged over the unit in the *n* column "
                                 "(means only, `--no-tests`).") + " Values run from -1 to 1; "
            f"{DASH} = no value.", "", *measure_table(rows, measures), ""]


def _reader(target: str, measure: str):
    return lambda split: ((split.metrics.extra or {}).get("continuous") or {}).get(target, {}).get(measure)
