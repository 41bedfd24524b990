"""The ``ser-bench`` sub-commands. Each takes the parsed arguments and returns an exit code."""
from __future__ import annotations

import sys
from pathlib import Path

from .cli_support import (executor_params_from_args, parse_params, parse_scoped, plugin_settings,
                          registry_from_args, run_context, split_csv, tqdm_progress)
from .errors import SerBenchError

PRESETS = {  # protocol settings, and the source-model seeds a claim is averaged over
    "demo": {"protocol_params": {"fewshot": {"k": [2, 4, 8], "repeats": 3}}, "seeds": [0, 1, 2]},
    "paper": {"protocol_params": {"fewshot": {"k": [2, 4, 6, 8, 10, 12, 14, 16, 18, 20], "repeats": 10,
                                              "frozen": [0, 1, 2]}}, "seeds": [0, 1, 2]},
}


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; anything else is an error naming the value."""
    try:
        seeds = [int(s) for s in split_csv(text)]
    except ValueError:
        raise SerBenchError(f"--seed takes whole numbers separated by commas (e.g. 0,1,2), not {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise SerBenchError(f"--seed takes one or more non-negative whole numbers, not {text!r}")
    return seeds


def parse_normalise(text: str) -> list[str]:
    """``"train,speaker"`` -> the normalisation modes to cross, each checked."""
    from .normalise import MODES

    modes = split_csv(text)
    bad = [m for m in modes if m not in MODES]
    if not modes or bad:
        raise SerBenchError(f"--normalise takes {', '.join(MODES)} (comma-separated to compare them), not {text!r}")
    return modes


def cmd_plugins(args) -> int:
    from tabulate import tabulate

    from .types import SINGULAR

    rows = [(SINGULAR[e.kind], e.spec.name, e.distribution, e.version, e.plugin) for e in registry_from_args(args).entries()]
    print(tabulate(rows, headers=["kind", "name", "distribution", "version", "plugin module"]))
    return 0


def cmd_list(args) -> int:
    registry = registry_from_args(args)
    for entry in registry.entries(args.kind):
        print(f"{entry.spec.name:<18} {entry.spec.summary}")
    return 0


def cmd_run(args) -> int:
    from .runner import Grid, expand, run
    from .leaderboard import to_markdown
    from .results import load_results

    registry = registry_from_args(args)
    protocols = split_csv(args.protocol)
    protocol_params = {}
    preset = PRESETS[args.preset]
    for scope, values in preset["protocol_params"].items():
        protocol_params.setdefault(scope, {}).update(values)
    for scope, values in parse_scoped(args.protocol_param, "--protocol-param",
                                 protocols[0] if len(protocols) == 1 else None).items():
        protocol_params.setdefault(scope, {}).update(values)
    losses = split_csv(args.loss)
    base = {
        "protocol_params": protocol_params,
        "loss_params": parse_scoped(args.loss_param, "--loss-param", losses[0] if len(losses) == 1 else None),
        "training": parse_params(args.train_param, "--train-param"),
        "dataset_params": parse_scoped(args.dataset_param, "--dataset-param"),
        "decision": args.decision, "labels": tuple(split_csv(args.labels)),
        "pretrain_loss": args.pretrain_loss, "head": args.head,
    }
    seeds = parse_seeds(args.seed) if args.seed is not None else preset["seeds"]
    cells = []
    for mode in parse_normalise(args.normalise):  # normalisation is an axis: --normalise train,speaker
        grid = Grid(protocols=protocols, losses=losses, targets=split_csv(args.target),
                    sources=split_csv(args.source) or [None], encoders=split_csv(args.encoder),
                    features=split_csv(args.feature), seeds=seeds, base={**base, "normalise": mode})
        cells += expand(grid, registry)
    results_dir = Path(args.results)
    ctx = run_context(args)
    try:
        report = run(cells, registry, ctx, results_dir, executor=args.executor,
                     executor_params=executor_params_from_args(args), settings=plugin_settings(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished cells are saved in {results_dir}/; run the same command again to "
              "continue where it stopped.", file=sys.stderr)
        return 130
    print(f"{len(report.ran)} cells run, {len(report.already_done)} already in {results_dir}/, "
          f"{len(report.failed)} failed", file=sys.stderr)
    for cell in report.skipped:
        print(f"  skipped {cell.cell_id()}: {cell.skip_reason}", file=sys.stderr)
    for result in report.ran:
        unbalanced = result["summary"].get("unbalanced_support", {}).get("splits", 0)
        if unbalanced:
            print(f"  note: {result['cell_id']}: {unbalanced} of {len(result['splits'])} splits scored against "
                  f"unequal support classes (support_counts in the result); decision="
                  f"{result['params']['decision']}" + (" favours the smaller classes there" if
                                                      result["params"]["decision"] == "sum" else ""),
                  file=sys.stderr)
    for cell, exc in report.failed:
        print(f"  FAILED {cell.cell_id()}: {exc}", file=sys.stderr)
    if not args.no_leaderboard:
        wanted = {c.cell_id() for c in cells}
        print(to_markdown([r for r in load_results(results_dir) if r["cell_id"] in wanted]))
    return 1 if report.failed else 0


def cmd_reproduce(args) -> int:
    import time

    from .results import load_results
    from .runner import run

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
    if args.baselines is not None:
        if "baselines" not in options:
            raise SerBenchError(f"recipe {recipe.name!r} runs no baselines: drop --baselines")
        options["baselines"] = [] if args.baselines == "none" else split_csv(args.baselines)
    for key in ("k", "frozen"):
        if getattr(args, key):
            options[key] = [int(v) for v in split_csv(getattr(args, key))]
    base = dict(options.get("base", {}))
    if args.train_param:
        base["training"] = parse_params(args.train_param, "--train-param")
    if args.dataset_param:
        base["dataset_params"] = parse_scoped(args.dataset_param, "--dataset-param")
    options["base"] = base
    cells = recipe.cells(registry, sources, targets, **options)
    out_dir = Path(args.results or Path("results") / recipe.name / f"{'+'.join(sources)}__{'+'.join(targets)}")
    ctx = run_context(args)
    start = time.perf_counter()
    try:
        report = run(cells, registry, ctx, out_dir, executor=args.executor, executor_params=executor_params_from_args(args),
                     settings=plugin_settings(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished cells are saved in {out_dir}/; run the same command again to continue.",
              file=sys.stderr)
        return 130
    wall = time.perf_counter() - start
    print(f"{len(report.ran)} cells run, {len(report.already_done)} already in {out_dir}/, {len(report.failed)} "
          f"failed; {wall:.0f} s", file=sys.stderr)
    for cell, exc in report.failed:
        print(f"  FAILED {cell.cell_id()}: {exc}", file=sys.stderr)
    wanted = {c.cell_id() for c in cells}
    results = [r for r in load_results(out_dir) if r["cell_id"] in wanted]
    written = recipe.report(results, out_dir, sources=sources, targets=targets, **options)
    print((out_dir / "LEADERBOARD.md").read_text() if (out_dir / "LEADERBOARD.md").exists() else "")
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 1 if report.failed else 0


def cmd_leaderboard(args) -> int:
    from .leaderboard import render

    # With -o, figures (the critical-difference diagram) go beside the file, where its links point.
    figure_dir = Path(args.output).parent if args.output and args.format == "markdown" else None
    text = render(Path(args.results), args.format, args.paired, figure_dir=figure_dir)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    return 0


def cmd_datasets(args) -> int:
    from .checks import check_corpus, describe

    registry = registry_from_args(args)
    ctx = run_context(args)
    if args.action == "check":
        if not args.name:
            raise SerBenchError("usage: ser-bench datasets check NAME (see `ser-bench datasets`)")
        spec = registry.get("datasets", args.name)
        manifest, problems = check_corpus(spec, ctx, parse_params(args.dataset_param, "--dataset-param"),
                                          read_audio=not args.no_audio)
        for problem in problems:
            print(problem)
        errors = sum(p.severity == "error" for p in problems)
        print(f"{spec.name}: {len(manifest)} clips of {manifest['speaker'].nunique()} speakers checked; "
              f"{errors} errors, {len(problems) - errors} warnings")
        return 1 if errors else 0
    for entry in registry.entries("datasets"):
        info = describe(entry.spec, ctx)
        print(f"{info['name']}: {info['status']}")
        if info.get("clips"):
            print(f"    {info['clips']} clips, {info.get('speakers') or '?'} speakers; labels: {', '.join(info['labels'])}")
        for place in info.get("looked_in", []):
            print(f"    looked in {place}")
        if not entry.spec.simulated:
            print(f"    licence: {info['licence']}; obtain from {info['homepage']}")
            print(f"    cite: {info['reference']}")
    print("\nPoint ser-bench at a corpus with --data-dir DIR, --corpus-path NAME=DIR or ser-bench.toml "
          "(see the README).")
    return 0


def cmd_new(args) -> int:
    from .scaffold import write_plugin

    folder = Path(args.dir or args.plugins_dir or "ser_bench_local_plugins")
    written = write_plugin(args.kind, args.name, folder, args.force)
    print("wrote " + " and ".join(str(p) for p in written))
    plural = {"loss": "losses", "encoder": "encoders", "dataset": "datasets", "head": "heads"}[args.kind]
    print(f"try it: ser-bench --plugins-dir {folder} list {plural}; pytest {written[1]}")
    return 0


def cmd_simulate(args) -> int:
    from .context import RunContext

    registry = registry_from_args(args)
    spec = registry.get("datasets", args.corpus)
    if not spec.simulated:
        sims = [e.spec.name for e in registry.entries("datasets") if e.spec.simulated]
        raise SerBenchError(f"{args.corpus!r} is not a simulated corpus; choose one of {', '.join(sims)}")
    params = {"seed": args.seed, **({"speakers": args.speakers} if args.speakers else {})}
    from .context import null_progress

    ctx = RunContext(cache_dir=Path(args.out), progress=null_progress if args.quiet else tqdm_progress,
                     workers=args.workers)
    manifest = spec.load(ctx, **params)
    root = Path(manifest["path"].iloc[0])
    print(f"{len(manifest)} clips of {manifest['speaker'].nunique()} speakers written under {Path(args.out) / 'simulated'}")
    return 0 if root.exists() else 1


