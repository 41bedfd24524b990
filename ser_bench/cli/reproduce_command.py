"""``ser-bench reproduce RECIPE``: a recipe's grid computed (or, with ``--report-only``, only reported) and its
tables and figures written."""
from __future__ import annotations

import sys
from pathlib import Path

from ser_bench.cli.options import (check_corpus_paths, executor_params_from_args, names, parse_label_maps, parse_labels,
                                   parse_params, parse_scoped, plugin_settings, registry_from_args, run_context,
                                   split_csv, whole_numbers)
from ser_bench.cli.run_command import (check_executor, check_scoped, interrupted, parse_normalise, parse_seeds,
                                       print_changes)
from ser_bench.errors import SerBenchError

def cmd_reproduce(args) -> int:
    """``ser-bench reproduce RECIPE``: rerun a paper's experiment and write its tables and figures."""
    from ser_bench.plugin_api.params import check_training
    from ser_bench.model.training import DEFAULT_TRAINING
    import time

    from ser_bench.results.store import load_results
    from ser_bench.running.runner import run

    registry = registry_from_args(args)
    recipe = registry.get("recipes", args.recipe)
    sources = split_csv(args.source) or list(recipe.default_sources)
    targets = split_csv(args.target) or list(recipe.default_targets)
    options = {**recipe.options}
    if args.repeats is not None:
        options["repeats"] = args.repeats
    if args.seed is not None:
        seeds = parse_seeds(args.seed)
        if "seeds" in options or len(seeds) > 1:
            options.pop("seed", None)
            options["seeds"] = seeds
        else:  # a recipe that takes one seed
            options["seed"] = seeds[0]
    if getattr(args, "tune", None) is not None:
        if "trials" not in options:
            raise SerBenchError(f"recipe {recipe.name!r} does not tune: drop --tune")
        options["trials"] = args.tune
    if getattr(args, "normalise", None) is not None:
        if "normalise" not in options:
            raise SerBenchError(f"recipe {recipe.name!r} fixes its normalisation: drop --normalise")
        options["normalise"] = parse_normalise(args.normalise)
    if getattr(args, "losses", None) is not None:
        if "losses" not in options:
            raise SerBenchError(f"recipe {recipe.name!r} fixes its losses: drop --losses")
        options["losses"] = names(args.losses, "--losses")
    if args.baselines is not None:
        if "baselines" not in options:
            raise SerBenchError(f"recipe {recipe.name!r} runs no baselines: drop --baselines")
        options["baselines"] = [] if args.baselines == "none" else split_csv(args.baselines)
    for key, low, example in (("k", 1, "2,4,8"), ("frozen", 0, "0,1,2")):
        if getattr(args, key) is not None:
            options[key] = whole_numbers(getattr(args, key), f"--{key}", low, example)
    base = dict(options.get("base", {}))
    if args.train_param:
        base["training"] = parse_params(args.train_param, "--train-param")
        check_training(base["training"], DEFAULT_TRAINING, "--train-param")
    if args.dataset_param:
        base["dataset_params"] = parse_scoped(args.dataset_param, "--dataset-param")
        check_scoped(registry, "datasets", base["dataset_params"], "--dataset-param")
    if getattr(args, "labels", None):
        base["labels"] = parse_labels(args.labels)
    if getattr(args, "label_map", None):
        base["label_maps"] = parse_label_maps(args.label_map)
    options["base"] = base
    executor_params = executor_params_from_args(args)
    check_executor(registry, args.executor, executor_params)
    ctx = run_context(args)
    check_corpus_paths(registry, ctx)
    # A recipe whose grid depends on the corpora (a label set read off them, speakers counted) reads them
    # through the run context.
    cells = recipe.cells(registry, sources, targets, ctx=ctx, **options)
    out_dir = Path(args.results or default_recipe_folder(recipe, sources, targets))
    if getattr(args, "report_only", False):
        return _report_only(recipe, cells, out_dir, sources, targets, options)
    start = time.perf_counter()
    try:
        report = run(cells, registry, ctx, out_dir, executor=args.executor, executor_params=executor_params,
                     settings=plugin_settings(args), cache_models=not args.no_model_cache)
    except KeyboardInterrupt as exc:
        return interrupted(exc, out_dir)
    wall = time.perf_counter() - start
    print(f"{len(report.ran)} cells run, {len(report.already_done)} already in {out_dir}/, {len(report.failed)} "
          f"failed; {wall:.0f} s", file=sys.stderr)
    print_changes(report)
    for cell, exc in report.failed:
        print(f"  FAILED {cell.cell_id()}: {exc}", file=sys.stderr)
    wanted = {c.cell_id() for c in cells}
    results = [r for r in load_results(out_dir) if r.cell_id in wanted]
    written = recipe.report(results, out_dir, sources=sources, targets=targets, **options)
    print((out_dir / "LEADERBOARD.md").read_text() if (out_dir / "LEADERBOARD.md").exists() else "")
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 1 if report.failed else 0


def _report_only(recipe, cells, out_dir: Path, sources: list, targets: list, options: dict) -> int:
    """``reproduce --report-only``: the recipe's report from the results in ``out_dir`` as they are (older
    schemas read by migrating them), computing nothing; the missing cells are named (exit 1 when any is)."""
    from ser_bench.results.store import load_results

    if not out_dir.is_dir():
        raise SerBenchError(f"--report-only: no results folder {out_dir.resolve()}; run the recipe first (without "
                            "--report-only) or pass --results")
    wanted = {c.cell_id() for c in cells}
    results = [r for r in load_results(out_dir) if r.cell_id in wanted]
    missing = sorted(wanted - {r.cell_id for r in results})
    if not results:
        raise SerBenchError(f"--report-only: none of the recipe's {len(wanted)} cells is in {out_dir}/; run it first")
    for cell_id in missing[:10]:
        print(f"  missing {cell_id}", file=sys.stderr)
    if missing:
        print(f"--report-only: {len(missing)} of {len(wanted)} cells missing from {out_dir}/ (the report shows dashes "
              "for them); run without --report-only to compute them", file=sys.stderr)
    written = recipe.report(results, out_dir, sources=sources, targets=targets, **options)
    print((out_dir / "LEADERBOARD.md").read_text() if (out_dir / "LEADERBOARD.md").exists() else "")
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 1 if missing else 0


def default_recipe_folder(recipe, sources: list, targets: list) -> Path:
    """``results/RECIPE/SOURCES__TARGETS``; a recipe over one set of corpora (sources = targets) writes
    ``results/RECIPE/CORPORA``, or ``results/RECIPE`` at its default corpora."""
    folder = Path("results") / recipe.name
    if sources != targets:
        return folder / f"{'+'.join(sources)}__{'+'.join(targets)}"
    defaults = list(recipe.default_sources) == sources and list(recipe.default_targets) == targets
    return folder if defaults else folder / "+".join(sources)
