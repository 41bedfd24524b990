"""``ser-bench run``: one grid of cells, computed and shown as a leaderboard; and the checks and messages it
shares with ``reproduce`` (:mod:`~ser_bench.cli.reproduce_command`)."""
from __future__ import annotations

import sys
from pathlib import Path

from ser_bench.cli.options import (check_corpus_paths, executor_params_from_args, feature_params_from_args, names,
                                   parse_label_maps, parse_labels, parse_params, parse_scoped, plugin_settings,
                                   registry_from_args, run_context, split_csv, whole_numbers)
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
    from ser_bench.running.grid import Grid, expand
    from ser_bench.running.runner import run
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
