"""The ``ser-bench`` command. Thin: parse, call the runner or the leaderboard, print.

Heavy modules (torch, opensmile, pandas) are imported inside the commands that need them, so
``--help``, ``plugins`` and ``list`` stay fast.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

from ser_bench import __version__
from ser_bench.cli import commands as cmd
from ser_bench.cli.reproduce_command import cmd_reproduce
from ser_bench.cli.run_command import PRESETS, cmd_run
from ser_bench.cli.options import whole_number
from ser_bench.errors import Interrupted, SerBenchError, exit_status, warnings_on_one_line

KINDS = ("datasets", "features", "encoders", "losses", "heads", "protocols", "executors", "recipes", "channels")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so that documentation and tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="ser-bench", description="Metric-learning benchmarks for speech "
                                     "emotion recognition transfer learning.")
    parser.add_argument("--plugins-dir", help="folder of one-file plugins (env SER_BENCH_PLUGINS_DIR)")
    parser.add_argument("--strict-plugins", action="store_true", help="a plugin that fails to load is an error")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--version", action="version", version=f"ser-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data-dir", action="append", help="folder holding corpora (env SER_BENCH_DATA_DIR)")
    data.add_argument("--corpus-path", action="append", metavar="NAME=DIR", help="where one corpus is")
    data.add_argument("--config", help="config file (default ./ser-bench.toml, ~/.config/ser-bench/config.toml)")
    data.add_argument("--cache-dir", help="feature and simulation cache (env SER_BENCH_CACHE_DIR)")
    data.add_argument("--workers", type=whole_number(1, "the number of worker processes; leave it out to use "
                                                     "every core"), help="worker processes (default: every core)")
    data.add_argument("--skip-bad-files", action="store_true", help="leave out unusable files, listed in results")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--executor", default="process", help="serial, process (default) or ray")
    where.add_argument("--ray-address", help="Ray cluster address for --executor ray (default: a local Ray)")
    where.add_argument("--executor-param", action="append", metavar="KEY=VALUE")
    where.add_argument("--train-param", action="append", metavar="KEY=VALUE", help="epochs, lr, batch_size, ...")
    where.add_argument("--dataset-param", action="append", metavar="DATASET.KEY=VALUE")
    where.add_argument("--no-model-cache", action="store_true",
                       help="train every model afresh: neither read nor write trained models in the cache "
                            "(features are still cached); for timing and for checking that a result reproduces")

    run_p = sub.add_parser("run", parents=[data, where], help="run a grid of cells and print its leaderboard")
    run_p.add_argument("--loss", default="ratio_distance", help="loss name(s), comma-separated")
    run_p.add_argument("--source", default="", help="source corpus(es) for oodt/fewshot; 'a|b' trains on the union "
                       "of corpora a and b")
    run_p.add_argument("--target", help="target corpus(es) (default: ravdess)")
    run_p.add_argument("--loco", metavar="CORPORA", help="leave one corpus out, instead of --source/--target: each "
                       "of these corpora (comma-separated, e.g. ravdess,emodb,turev) in turn the target, the union "
                       "of the others the source")
    run_p.add_argument("--protocol", default="oodt,idt,fewshot", help="protocol name(s)")
    run_p.add_argument("--encoder", default="auto", help="encoder name(s), comma-separated (auto: the loss's "
                       "default encoder, e.g. identity for logreg, else siamese-mlp)")
    run_p.add_argument("--feature", default="auto", help="feature name(s), comma-separated (`ser-bench list "
                       "features`; auto: the default feature, is09-64; ssl: a self-supervised speech model)")
    run_p.add_argument("--feature-param", action="append", metavar="[FEATURE.]KEY=VALUE",
                       help="ssl.model=microsoft/wavlm-base-plus (a hub id in the local cache, or a folder), "
                            "ssl.layers=all (one cell per layer), ssl.pooling=mean+std, ssl.dtype=bfloat16")
    run_p.add_argument("--device", help="where models are trained and scored (default: cpu) and features "
                       "extracted (default: auto): auto (cuda when there is one), cpu or cuda; recorded in every "
                       "result")
    run_p.add_argument("--seed", help="source-model seed(s), comma-separated (default: the preset's, 0,1,2)")
    run_p.add_argument("--labels", default="default", help="emotions to classify, comma-separated, or a label set: "
                       "default (anger,happiness,sadness,fear), iemocap4 (anger,happiness,sadness,neutral), shared "
                       "(the emotions every corpus of the run has)")
    run_p.add_argument("--label-map", action="append", metavar="CORPUS.FROM=TO",
                       help="rename a corpus's emotion, e.g. turev.calm=neutral (never done unless asked; recorded "
                            "in every result)")
    run_p.add_argument("--pretrain-loss", default="auto",
                       help="loss of the source model that fine-tuning starts from (auto: bce_pair before a pair "
                            "loss, else the loss itself)")
    run_p.add_argument("--head", default="auto", help="evaluation head (`ser-bench list heads`; auto: the "
                       "loss's default)")
    run_p.add_argument("--decision", default="mean", choices=["sum", "mean"],
                       help="siamese head: mean (default; fair to unequal support classes) or sum (the paper's log-sum)")
    run_p.add_argument("--normalise", default="train",
                       help="feature z-scores fitted on the train data (default), per corpus or per speaker; "
                            "comma-separated to compare, e.g. train,speaker")
    run_p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="protocol settings preset")
    run_p.add_argument("--protocol-param", action="append", metavar="[PROTOCOL.]KEY=VALUE")
    run_p.add_argument("--loss-param", action="append", metavar="[LOSS.]KEY=VALUE")
    run_p.add_argument("--tune", type=whole_number(0, "the number of tuning trials per cell"), metavar="TRIALS",
                       help="tune every method with Optuna for TRIALS trials on validation speakers before "
                            "testing (same budget for all; the defaults are the first trial)")
    run_p.add_argument("--tune-batch", type=whole_number(1, "the number of trials asked for at once"), metavar="N",
                       help="ask Optuna for N trials at a time and train those of one architecture together "
                            "(each as trained alone; recorded: batches propose other settings than one at a time)")
    run_p.add_argument("--search", action="append", metavar="SCOPE.NAME=RANGE",
                       help="override a tuning range: training.lr=1e-4..1e-2:log, loss.weight=0.1|1|10, "
                            "training.epochs=20..120:step=10, or =off to keep a setting fixed")
    run_p.add_argument("--validation-speakers",
                       type=whole_number(2, "the number of validation speakers; leave the option out for the "
                                            "protocol's default, a quarter of the speakers"),
                       metavar="N", help="speakers set aside for tuning (source speakers for oodt, target "
                       "speakers, then left out of testing, for idt and fewshot; default: a quarter). Given "
                       "without --tune, the default settings run on the same test speakers as a tuned run")
    run_p.add_argument("--validate-on", choices=["source", "target"],
                       help="tune on held-out source speakers or on target speakers set aside (default: the "
                            "protocol's: source for oodt, target for idt and fewshot); fewshot takes either")
    run_p.add_argument("--results", default="results", help="results folder (default: results/)")
    run_p.add_argument("--no-leaderboard", action="store_true")
    run_p.set_defaults(func=cmd_run)

    rp = sub.add_parser("reproduce", parents=[data, where], help="rerun a paper's whole experiment and write its "
                        "tables and figures")
    rp.add_argument("recipe", help="e.g. feng2020 (`ser-bench list recipes`)")
    rp.add_argument("--source", help="source corpora, comma-separated (default: the paper's)")
    rp.add_argument("--target", help="target corpora (default: the paper's)")
    rp.add_argument("--repeats", type=whole_number(1, "few-shot draws per setting"),
                    help="few-shot draws per (k, frozen) setting (default: the recipe's; feng2020 uses 10)")
    rp.add_argument("--k", help="numbers of target speakers, e.g. 2,4,8")
    rp.add_argument("--frozen", help="frozen-layer settings, e.g. 0,1,2")
    rp.add_argument("--seed", help="source-model seeds, comma-separated, e.g. 0,1,2 (default: the recipe's; "
                    "feng2020 uses 0,1,2)")
    rp.add_argument("--losses", help="the losses compared, comma-separated (default: the recipe's; cross-corpus: "
                    "every metric-learning loss)")
    rp.add_argument("--baselines", help="baseline methods run beside the paper's, comma-separated (default: the "
                    "recipe's; feng2020: logreg,linear_svm,softmax_mlp); none: the paper's methods only")
    rp.add_argument("--report-only", action="store_true",
                    help="compute nothing: write the tables and figures from the results already in the folder "
                         "(whatever their schema), naming the cells that are missing")
    rp.add_argument("--tune", type=whole_number(0, "the number of tuning trials per cell"), metavar="TRIALS",
                    help="tuning trials per cell, the same for every method (default: the recipe's; cross-corpus: 8)")
    rp.add_argument("--normalise", help="normalisation(s) compared, comma-separated (default: the recipe's; "
                    "cross-corpus: corpus,speaker)")
    rp.add_argument("--labels", help="emotions or a label set (default: the recipe's; see run --labels)")
    rp.add_argument("--label-map", action="append", metavar="CORPUS.FROM=TO", help="rename a corpus's emotion")
    rp.add_argument("--results", help="output folder (default results/RECIPE/SOURCES__TARGETS)")
    rp.set_defaults(func=cmd_reproduce)

    lb = sub.add_parser("leaderboard", help="print the leaderboard of a results folder",
                        description="Print the leaderboard of a results folder. A text board is kept in "
                        "RESULTS/.cache/ and shown again, without computing, until a result file, an option or "
                        "ser-bench itself changes (a markdown board written with -o, its figures beside it, is "
                        "always computed).")
    lb.add_argument("results", nargs="?", default="results")
    lb.add_argument("--format", default="markdown", choices=["markdown", "csv", "json", "parquet", "html"],
                    help="markdown (default); csv, json or parquet: the tidy board, one row per method, setting, "
                         "source and target (README: data dictionary); html: a self-contained page in -o FOLDER")
    lb.add_argument("-o", "--output", help="write to this file (html: this folder) instead of standard output")
    lb.add_argument("--paired", metavar="METHOD",
                    help="also test every few-shot method against METHOD (e.g. bce_pair) on identical episodes")
    lb.add_argument("--no-tests", action="store_true", help="means only: no intervals, tests or critical "
                    "difference (markdown, csv, json; faster: imports nothing from scipy)")
    lb.set_defaults(func=cmd.cmd_leaderboard)

    rs = sub.add_parser("results", help="check a results folder, or migrate its files to the current schema")
    rs.add_argument("action", choices=["check", "migrate"],
                    help="check: list damaged, foreign-schema and duplicate result files (exit 1 if any); "
                         "migrate: rewrite files of an older schema in the current one")
    rs.add_argument("folder", nargs="?", default="results")
    rs.set_defaults(func=cmd.cmd_results)

    pl = sub.add_parser("plugins", help="every registered plugin with its kind, distribution and version")
    pl.set_defaults(func=cmd.cmd_plugins)

    ls = sub.add_parser("list", help="the plugins of one kind")
    ls.add_argument("kind", choices=KINDS)
    ls.set_defaults(func=cmd.cmd_list)

    ds = sub.add_parser("datasets", parents=[data], help="every corpus: found or not, counts, licence; "
                        "`datasets check NAME` validates a copy")
    ds.add_argument("action", nargs="?", choices=["check"])
    ds.add_argument("name", nargs="?")
    ds.add_argument("--no-audio", action="store_true", help="check names and counts only, do not decode audio")
    ds.add_argument("--dataset-param", action="append", metavar="KEY=VALUE")
    ds.add_argument("-v", "--verbose", action="store_true",
                    help="below the table, each corpus: where it was looked for, its licence and citation")
    ds.set_defaults(func=cmd.cmd_datasets)

    from ser_bench.plugin_kit.scaffold import TEMPLATES  # plain strings: cheap to import

    new = sub.add_parser("new", help=f"write a one-file plugin ({', '.join(TEMPLATES)}) and its test")
    new.add_argument("kind", choices=list(TEMPLATES))
    new.add_argument("name")
    new.add_argument("--dir", help="folder to write to (default: --plugins-dir, else ./ser_bench_local_plugins)")
    new.add_argument("--force", action="store_true", help="overwrite existing files")
    new.set_defaults(func=cmd.cmd_new)

    sim = sub.add_parser("simulate", help="write a simulated corpus tree")
    sim.add_argument("corpus", help="sim-ravdess, sim-crema or sim-enterface")
    sim.add_argument("--out", required=True, help="output folder (the tree goes under OUT/simulated/)")
    sim.add_argument("--speakers", type=whole_number(1, "the number of simulated speakers"))
    sim.add_argument("--seed", type=whole_number(0, "the simulation seed"), default=0)
    sim.add_argument("--workers", type=whole_number(1, "the number of worker processes; leave it out to use "
                                                       "every core"))
    sim.set_defaults(func=cmd.cmd_simulate)
    return parser


def _on_sigterm(signum, frame):
    # Once: a second SIGTERM while cleaning up stops at once (the workers still exit with us).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Interrupted(signum)


def main(argv=None) -> int:
    """Entry point of the ``ser-bench`` console script.

    Exit status: 0 done, 1 some cells failed, 2 a usage or input error (the message says what to
    change), 130 after Ctrl-C and 143 after SIGTERM (finished cells kept either way), 141 when the
    reader of standard output went away (``ser-bench leaderboard | head``).
    """
    args = build_parser().parse_args(argv)
    warnings_on_one_line()
    # SIGTERM (kill, a scheduler, a container stopping) is handled like Ctrl-C: finished cells kept,
    # workers stopped, one clear message instead of dying mid-write without a word.
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe must surface here, not in the interpreter's exit flush
        return code
    except SerBenchError as exc:
        print(f"ser-bench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt as exc:
        print("\ninterrupted", file=sys.stderr)
        return exit_status(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _stdout_gone() -> int:
    """The reader of our output has gone (``| head``): stop quietly, as ``cat`` or ``grep`` would.

    Python's own recipe: point standard output at the null device so that the interpreter's final
    flush does not raise again. 141 = 128 + SIGPIPE, the status a shell reports for any Unix tool in
    that place, so ``set -o pipefail`` scripts see the same as with ``cat``.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured output in tests)
        pass
    return 128 + 13


if __name__ == "__main__":
    sys.exit(main())
