"""The ``ser-bench`` sub-commands. Each takes the parsed arguments and returns an exit code."""
from __future__ import annotations

import sys
from pathlib import Path

from ser_bench.cli.options import (check_corpus_paths, executor_params_from_args, feature_params_from_args, names,
                                   parse_label_maps, parse_labels, parse_params, parse_scoped, plugin_settings,
                                   registry_from_args, run_context, split_csv, tqdm_progress, whole_numbers)
from ser_bench.errors import SerBenchError, exit_status

# Protocol settings, and the source-model seeds a claim is averaged over. "paper" is the protocols' own
# defaults (fewshot's are the paper's k = 2..20 x 10 repeats, frozen 0, 1, 2), stated once, in the plugin.
PRESETS = {
    "demo": {"protocol_params": {"fewshot": {"k": [2, 4, 8], "repeats": 3}}, "seeds": [0, 1, 2]},
    "paper": {"protocol_params": {}, "seeds": [0, 1, 2]},
}


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; anything else is an error naming the value."""
    return whole_numbers(text, "--seed", 0, "0,1,2")


def check_scoped(registry, kind: str, scoped: dict, option: str) -> None:
    """Every ``SCOPE.KEY=VALUE`` of ``option`` checked up front against the plugin it names, also for
    plugins this run does not use (a typo there would otherwise be ignored without a word)."""
    from ser_bench.plugin_api.params import check_params
    from ser_bench.plugin_api.types import SINGULAR

    for scope, values in scoped.items():
        try:
            spec = registry.get(kind, scope)
        except SerBenchError as exc:
            raise SerBenchError(f"{option} {scope}.KEY=VALUE: {exc}") from None
        check_params(f"{option} {SINGULAR[kind]} {scope!r}", spec, values)


def check_executor(registry, name: str, params: dict) -> None:
    """The executor and its ``--executor-param`` settings, checked before any corpus is loaded."""
    from ser_bench.plugin_api.params import check_params

    spec = registry.get("executors", name)
    if "workers" in params:
        raise SerBenchError("set the number of workers with --workers N, not --executor-param workers=N")
    check_params(f"--executor-param executor {name!r}", spec, params)


def print_changes(report) -> None:
    """Cells recomputed because what they were computed on changed, and cells another run computed
    while this one waited: one line each, on standard error."""
    for cell, reason in getattr(report, "recomputed", []):
        print(f"  recomputed {cell.cell_id()}: {reason}", file=sys.stderr)
    for cell in getattr(report, "waited", []):
        print(f"  waited for another run computing {cell.cell_id()} in the same folder", file=sys.stderr)


def interrupted(exc: KeyboardInterrupt, folder) -> int:
    """Say that the run stopped and how to continue; the exit status (130 Ctrl-C, 143 SIGTERM)."""
    print(f"\ninterrupted: finished cells are saved in {folder}/; run the same command again to "
          "continue where it stopped.", file=sys.stderr)
    return exit_status(exc)


def parse_normalise(text: str) -> list[str]:
    """``"train,speaker"`` -> the normalisation modes to cross, each checked."""
    from ser_bench.data.normalise import MODES

    modes = split_csv(text)
    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        raise SerBenchError(f"--normalise takes {', '.join(MODES)} (comma-separated to compare them), not {text!r}")
    return modes


def cmd_plugins(args) -> int:
    """``ser-bench plugins``: every registered plugin with its kind, distribution and version."""
    from tabulate import tabulate

    from ser_bench.plugin_api.types import SINGULAR

    rows = [(SINGULAR[e.kind], e.spec.name, e.distribution, e.version, e.plugin) for e in registry_from_args(args).entries()]
    print(tabulate(rows, headers=["kind", "name", "distribution", "version", "plugin module"]))
    return 0


def cmd_list(args) -> int:
    """``ser-bench list KIND``: the plugins of one kind with their summaries."""
    registry = registry_from_args(args)
    for entry in registry.entries(args.kind):
        print(f"{entry.spec.name:<18} {entry.spec.summary}")
    return 0


def tuning_settings(args, config: dict) -> dict:
    """``--tune``, ``--tune-batch``, ``--validation-speakers`` and the search overrides of the config file's ``[search]``
    table and of ``--search`` (which wins), as a cell's tuning settings; ``{}`` when neither is given."""
    search = {str(k): str(v) for k, v in (config.get("search") or {}).items()}
    search.update(parse_params(args.search, "--search", raw=True))
    if args.search and not args.tune:
        raise SerBenchError("--search sets what --tune searches: add --tune TRIALS")
    on = getattr(args, "validate_on", None)
    batch = getattr(args, "tune_batch", None)
    if batch is not None and not args.tune:
        raise SerBenchError("--tune-batch says how many --tune trials are asked for at once: add --tune TRIALS")
    if args.tune is None and args.validation_speakers is None:
        if on:
            raise SerBenchError("--validate-on says where --tune (or --validation-speakers) takes its speakers: "
                                "add --tune TRIALS")
        return {}
    out = {"trials": int(args.tune or 0), "validation_speakers": int(args.validation_speakers or 0)}
    if search and out["trials"]:
        out["search"] = search
    if on:
        out["validation_on"] = on
    if batch is not None and batch > 1:
        out["batch"] = int(batch)
    return out


def cmd_run(args) -> int:
    """``ser-bench run``: check every setting, run the grid's cells not yet done, print the leaderboard."""
    from ser_bench.plugin_api.params import check_training
    from ser_bench.model.training import DEFAULT_TRAINING, resolve_device
    from ser_bench.running.runner import Grid, expand, run
    from ser_bench.reporting.leaderboard import to_markdown
    from ser_bench.results.store import load_results

    resolve_device(args.device)  # a CUDA device torch cannot see is refused before anything else
    registry = registry_from_args(args)
    protocols = names(args.protocol, "--protocol")
    protocol_params = {}
    preset = PRESETS[args.preset]
    for scope, values in preset["protocol_params"].items():
        protocol_params.setdefault(scope, {}).update(values)
    for scope, values in parse_scoped(args.protocol_param, "--protocol-param",
                                 protocols[0] if len(protocols) == 1 else None).items():
        protocol_params.setdefault(scope, {}).update(values)
    losses = names(args.loss, "--loss")
    features = [registry.default("features").name if f == "auto" else f for f in names(args.feature, "--feature")]
    base = {
        "protocol_params": protocol_params,
        "loss_params": parse_scoped(args.loss_param, "--loss-param", losses[0] if len(losses) == 1 else None),
        "training": parse_params(args.train_param, "--train-param"),
        "dataset_params": parse_scoped(args.dataset_param, "--dataset-param"),
        "decision": args.decision, "labels": parse_labels(args.labels),
        "label_maps": parse_label_maps(args.label_map),
        "pretrain_loss": args.pretrain_loss, "head": args.head,
        "feature_params": feature_params_from_args(args, registry, features),
    }
    from ser_bench.plugin_api.context import load_config

    tuning = tuning_settings(args, load_config(getattr(args, "config", None)))
    if tuning:
        base["tuning"] = tuning
    check_training(base["training"], DEFAULT_TRAINING, "--train-param")
    check_scoped(registry, "protocols", protocol_params, "--protocol-param")
    check_scoped(registry, "losses", base["loss_params"], "--loss-param")
    check_scoped(registry, "datasets", base["dataset_params"], "--dataset-param")
    executor_params = executor_params_from_args(args)
    check_executor(registry, args.executor, executor_params)
    seeds = parse_seeds(args.seed) if args.seed is not None else preset["seeds"]
    loco = split_csv(args.loco)
    if loco and (args.source or args.target):
        raise SerBenchError("--loco names every corpus (each in turn the target, the others the source): drop "
                            "--source and --target")
    ctx = run_context(args)
    check_corpus_paths(registry, ctx)
    cells = []
    for mode in parse_normalise(args.normalise):  # normalisation is an axis: --normalise train,speaker
        targets = [] if loco else names(args.target or "ravdess", "--target")
        grid = Grid(protocols=protocols, losses=losses, targets=targets,
                    sources=split_csv(args.source) or [None], encoders=names(args.encoder, "--encoder"),
                    features=features, seeds=seeds, base={**base, "normalise": mode},
                    loco=loco)
        cells += expand(grid, registry, ctx)
    results_dir = Path(args.results)
    try:
        report = run(cells, registry, ctx, results_dir, executor=args.executor,
                     executor_params=executor_params, settings=plugin_settings(args),
                     cache_models=not args.no_model_cache, device=args.device or "cpu")
    except KeyboardInterrupt as exc:
        return interrupted(exc, results_dir)
    print(f"{len(report.ran)} cells run, {len(report.already_done)} already in {results_dir}/, "
          f"{len(report.failed)} failed", file=sys.stderr)
    for cell in report.skipped:
        print(f"  skipped {cell.cell_id()}: {cell.skip_reason}", file=sys.stderr)
    for result in report.ran:
        unbalanced = result.summary.get("unbalanced_support", {}).get("splits", 0)
        if unbalanced:
            print(f"  note: {result.cell_id}: {unbalanced} of {len(result.splits)} splits scored against "
                  f"unequal support classes (support_counts in the result); decision="
                  f"{result.params.decision}" + (" favours the smaller classes there" if
                                                      result.params.decision == "sum" else ""),
                  file=sys.stderr)
    print_changes(report)
    for cell, exc in report.failed:
        print(f"  FAILED {cell.cell_id()}: {exc}", file=sys.stderr)
    if not args.no_leaderboard:
        wanted = {c.cell_id() for c in cells}
        print(to_markdown([r for r in load_results(results_dir) if r.cell_id in wanted]))
    return 1 if report.failed else 0


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


def cmd_leaderboard(args) -> int:
    """``ser-bench leaderboard``: the leaderboard of a results folder (``-o -``: to standard output)."""
    from ser_bench.reporting.publish import FILE_FORMATS, publish, publish_bytes, render

    to_stdout = args.output == "-"  # as for any Unix tool: "-" is standard output, never a file called "-"
    output = None if to_stdout else args.output
    if args.format in FILE_FORMATS:
        if args.no_tests:
            raise SerBenchError(f"--no-tests is for the text boards (markdown, csv, json), not --format {args.format}")
        if to_stdout:  # the page is self-contained; parquet goes out as its bytes
            data = publish_bytes(Path(args.results), args.format)
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return 0
        if not output:
            where = "a folder for the site (-o site/)" if args.format == "html" else "a file (-o board.parquet)"
            raise SerBenchError(f"--format {args.format} is written to {where}, not to the terminal: pass -o "
                                "(or -o - for standard output)")
        print(f"wrote {publish(Path(args.results), args.format, Path(output))}", file=sys.stderr)
        return 0
    # With -o, figures (the critical-difference diagram) go beside the file, where its links point.
    figure_dir = Path(output).parent if output and args.format == "markdown" else None
    tests = not args.no_tests

    def board() -> str:
        return render(Path(args.results), args.format, args.paired, figure_dir=figure_dir, tests=tests)

    if figure_dir is None:  # text alone: kept in the folder's cache, shown again while the results are unchanged
        from ser_bench.reporting.board_cache import cached_board

        text = cached_board(Path(args.results), {"format": args.format, "paired": args.paired, "tests": tests}, board)
    else:  # writing figures is part of the job: always rendered
        text = board()
    if output:
        Path(output).write_text(text)
    else:
        print(text)
    return 0


def cmd_results(args) -> int:
    """``ser-bench results check|migrate FOLDER``: what is wrong with a results folder (exit 1 when
    anything is), or its older-schema files rewritten in the current schema."""
    from ser_bench.results.migration import cannot_gain
    from ser_bench.results.record import SCHEMA_VERSION
    from ser_bench.results.store import scan_results

    folder = Path(args.folder)
    if not folder.is_dir():
        raise SerBenchError(f"no results folder {folder.resolve()}: pass the folder a run wrote (--results)")
    scan = scan_results(folder)
    older = [r for r in scan.results if r.written_with not in (None, SCHEMA_VERSION)]
    if args.action == "migrate":
        for result in older:
            result.to_disk(result.path)
            print(f"migrated {result.path} (schema {result.written_with} -> {SCHEMA_VERSION})")
        print(f"{len(older)} of {len(scan.results)} result files migrated; {len(scan.problems)} left as they "
              "are (see `ser-bench results check`)", file=sys.stderr)
        for line in cannot_gain(older):
            print(line, file=sys.stderr)
        return 0
    for problem in scan.problems:
        print(f"{problem.kind}: {problem}")
    for result in older:
        print(f"older schema: {result.path}: schema {result.written_with}, read by migrating it; "
              "`ser-bench results migrate` rewrites it (a run recomputes the cell)")
    for line in cannot_gain(older):
        print(line)
    kinds = {}
    for problem in scan.problems:
        kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
    found = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "no problems"
    print(f"{folder}: {len(scan.results)} usable result files ({sum(r.ok for r in scan.results)} ok); {found}",
          file=sys.stderr)
    return 1 if scan.problems else 0


def cmd_datasets(args) -> int:
    """``ser-bench datasets [check NAME]``: every corpus and where it is, or the problems of one copy."""
    from ser_bench.data.checks import check_corpus, describe

    registry = registry_from_args(args)
    ctx = run_context(args)
    check_corpus_paths(registry, ctx)
    if args.action == "check":
        if not args.name:
            raise SerBenchError("usage: ser-bench datasets check NAME (see `ser-bench datasets`)")
        from ser_bench.plugin_api.params import check_params

        spec = registry.get("datasets", args.name)
        params = check_params(f"--dataset-param dataset {spec.name!r}", spec,
                              parse_params(args.dataset_param, "--dataset-param"))
        manifest, problems = check_corpus(spec, ctx, params, read_audio=not args.no_audio)
        for problem in problems:
            print(problem)
        count = {level: sum(p.severity == level for p in problems) for level in ("error", "warning", "note")}
        errors = count["error"]
        print(f"{spec.name}: {len(manifest)} clips of {manifest['speaker'].nunique()} speakers checked; "
              f"{errors} errors, {count['warning']} warnings, {count['note']} notes")
        return 1 if errors else 0
    from ser_bench.data.checks import corpus_table

    infos = [(entry, describe(entry.spec, ctx)) for entry in registry.entries("datasets")]
    print(corpus_table([entry.spec for entry, _ in infos], [info for _, info in infos]))
    if not getattr(args, "verbose", False):
        print("\n`ser-bench datasets --verbose` says where each corpus was looked for, its licence and citation.")
    for entry, info in infos if getattr(args, "verbose", False) else []:
        print(f"{info['name']}: {info['status']}")
        if info.get("clips"):
            print(f"    {info['clips']} clips, {info.get('speakers') or '?'} speakers; labels: {', '.join(info['labels'])}")
        for place in info.get("looked_in", []):
            print(f"    looked in {place}")
        if not entry.spec.simulated:
            print(f"    licence: {info['licence']}; obtain from {info['homepage']}")
            print(f"    cite: {info['reference']}")
    print("\nPoint ser-bench at a corpus with --data-dir DIR, --corpus-path NAME=DIR or ser-bench.toml "
          "(see docs/guide.md, Real corpora).")
    return 0


def cmd_new(args) -> int:
    """``ser-bench new KIND NAME``: write a one-file plugin and its test."""
    from ser_bench.plugin_kit.scaffold import write_plugin

    folder = Path(args.dir or args.plugins_dir or "ser_bench_local_plugins")
    written = write_plugin(args.kind, args.name, folder, args.force)
    print("wrote " + " and ".join(str(p) for p in written))
    from ser_bench.plugin_api.types import SINGULAR

    plural = {one: many for many, one in SINGULAR.items()}[args.kind]
    print(f"try it: ser-bench --plugins-dir {folder} list {plural}; pytest {written[1]}")
    return 0


def cmd_simulate(args) -> int:
    """``ser-bench simulate CORPUS``: write a simulated corpus tree."""
    from ser_bench.plugin_api.context import RunContext

    registry = registry_from_args(args)
    spec = registry.get("datasets", args.corpus)
    if not spec.simulated:
        sims = [e.spec.name for e in registry.entries("datasets") if e.spec.simulated]
        raise SerBenchError(f"{args.corpus!r} is not a simulated corpus; choose one of {', '.join(sims)}")
    params = {"seed": args.seed, **({"speakers": args.speakers} if args.speakers else {})}
    from ser_bench.plugin_api.context import null_progress

    ctx = RunContext(cache_dir=Path(args.out), progress=null_progress if args.quiet else tqdm_progress,
                     workers=args.workers)
    manifest = spec.load(ctx, **params)
    root = Path(manifest["path"].iloc[0])
    print(f"{len(manifest)} clips of {manifest['speaker'].nunique()} speakers written under {Path(args.out) / 'simulated'}")
    return 0 if root.exists() else 1


