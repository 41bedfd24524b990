"""The board's sections on the embedding itself and on the head's probabilities: retrieval and clustering
of the test clips by emotion, what else the embedding encodes (speaker, corpus), and calibration.

Each number is recorded per split (``Metrics.extra``: ``retrieval``, ``invariance``, ``calibration``; see
:mod:`ser_bench.running.judging`) and averaged as UAR is, over the unit of the summary table's *n* column
(:func:`~ser_bench.reporting.split_metrics.measure_rows`).
"""
from __future__ import annotations

from ser_bench.reporting import md
from ser_bench.reporting.columns import SPLIT_MEASURES, lookup, read
from ser_bench.reporting.split_metrics import Measure, decimals, kept_splits, measure_rows, measure_table
from ser_bench.reporting.tidy import DASH

PERCENT = decimals(1, 100)


def _measure(label: str, column: str, show=PERCENT) -> Measure:
    path = SPLIT_MEASURES[column]
    return Measure(label, lambda split: read(split, path), show)


RETRIEVAL = [_measure("P@1", "precision_at_1"), _measure("R-precision", "r_precision"),
             _measure("MAP@R", "map_at_r"), _measure("NMI", "nmi"), _measure("AMI", "ami")]
INVARIANCE = [_measure("speaker probe", "speaker_probe"), _measure("corpus probe", "corpus_probe")]
CALIBRATION = [_measure("ECE %", "ece"), _measure("Brier", "brier", decimals(3)), _measure("NLL", "nll", decimals(2))]


def _averaged(tests: bool) -> str:
    return ("averaged as UAR is above (mean ± half-width of the 95 % t-interval over the unit in the *n* column)"
            if tests else "averaged over the unit in the *n* column (means only, `--no-tests`)")


def embedding_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Embeddings" section: retrieval and clustering by emotion, then the invariance
    probes; [] unless some split records them."""
    parts = []
    rows = measure_rows(results, RETRIEVAL, tests)
    if rows:
        k = _k_rules(results)
        parts += ["## Embeddings: retrieval and clustering by emotion", "",
                  "How well the test clips' embeddings (the encoder's output; a baseline's own features where it "
                  "learns none) find clips of the same emotion among the other test clips: precision at 1, "
                  "R-precision and MAP@R (Musgrave, Belongie & Lim 2020, A Metric Learning Reality Check), computed "
                  "by pytorch-metric-learning's AccuracyCalculator with Euclidean distance on L2-normalised "
                  f"embeddings and k = {md.text(k)} (the largest class's clips less one, so that MAP@R and "
                  "R-precision see every relevant clip); NMI and AMI (Vinh, Epps & Bailey 2010) of k-means clusters "
                  "(as many as classes) against the emotions. Per split, over its whole test set, then "
                  f"{_averaged(tests)}; in %, higher is better; {DASH} = not recorded (results written before "
                  "ser-bench 0.2 or a test set of a single class).", "", *measure_table(rows, RETRIEVAL), ""]
    rows = measure_rows(results, INVARIANCE, tests)
    if rows:
        parts += ["## Embeddings: what else they encode", "",
                  "How well a linear probe (a ridge classifier on standardised embeddings, cross-validated) decodes "
                  "who is speaking, and which corpus a clip comes from, from the test embeddings (Alain & Bengio "
                  "2016, linear classifier probes); lower is more invariant. Shown above chance: (balanced accuracy "
                  "− chance) / (1 − chance), in %, 0 = chance, 100 = perfect. The speaker probe is trained and "
                  "tested on different clips of the test speakers (none of them seen in training); the corpus probe "
                  "tells the target's test clips from the source's training clips (at most 400 clips of each "
                  "corpus) with speaker-disjoint folds, on runs with a source. Per split, then "
                  f"{_averaged(tests)}; {DASH} = not defined there (a test set of one speaker, as in IDT; no source).",
                  "", *measure_table(rows, INVARIANCE), ""]
    return parts


def calibration_section(results: list, tests: bool = True) -> list[str]:
    """Markdown lines of the "Calibration" section; [] unless some split records calibration."""
    rows = measure_rows(results, CALIBRATION, tests)
    if not rows:
        return []
    how = sorted({str(lookup(s, ("calibration", "method"))) for _, s in kept_splits(results)
                  if lookup(s, ("calibration", "method"))})
    return ["## Calibration of the head's class probabilities", "",
            "Whether a head's class probabilities can be read as probabilities: expected calibration error (ECE: "
            "top-label, 15 equal-width confidence bins; Guo et al. 2017), the multi-class Brier score (0 to 2; "
            "Brier 1950) and the mean negative log-likelihood, lower better for all three. Per split, over its test "
            f"set, then {_averaged(tests)}; {DASH} = a head that gives no probabilities (a linear SVM) or a result "
            "that predates them. How the heads here give probabilities:", "",
            *[f"- {md.text(line)}" for line in how], "", *measure_table(rows, CALIBRATION), ""]


def _k_rules(results: list) -> str:
    rules = sorted({str(lookup(s, ("retrieval", "k"))) for _, s in kept_splits(results) if lookup(s, ("retrieval", "k"))})
    return ", ".join(rules) or "max_bin_count"
