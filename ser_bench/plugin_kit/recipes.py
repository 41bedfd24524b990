"""What a recipe plugin (``ser-bench reproduce NAME``) may use of ser-bench: a grid of cells and its
expansion, the transfers of a set of corpora, label sets, and the reporting pieces a report is made of
(the tidy frame and board frame, paired tests with Holm, ranks, the markdown sections and the web page).
Names here stay put between releases; everything else in ser-bench is internal.
"""
from ser_bench.data.domains import base_corpus
from ser_bench.reporting import md
from ser_bench.reporting.analysis import curves
from ser_bench.reporting.export import board_frame
from ser_bench.reporting.figures import plot_fewshot_curves
from ser_bench.reporting.html import write_site
from ser_bench.reporting.leaderboard import (fewshot_by_k_markdown, left_out_section, measure_sections, rank_section,
                                             settings_header)
from ser_bench.reporting.sections import paired_markdown
from ser_bench.reporting.stats import describe_n, estimate, holm, paired_comparison
from ser_bench.reporting.tidy import breakdown_table, ok_results, tidy
from ser_bench.running.label_sets import resolve_label_set, speaker_counts
from ser_bench.running.grid import Grid, expand, loco_pairs

__all__ = ["Grid", "base_corpus", "board_frame", "breakdown_table", "curves", "describe_n", "estimate", "expand",
           "fewshot_by_k_markdown", "holm", "left_out_section", "loco_pairs", "md", "measure_sections", "ok_results",
           "paired_comparison", "paired_markdown", "plot_fewshot_curves", "rank_section", "resolve_label_set",
           "settings_header", "speaker_counts", "tidy", "write_site"]
