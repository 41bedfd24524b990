"""The ``ser-bench`` command. Thin: parse, call the runner or the leaderboard, print.

Heavy modules (torch, opensmile, pandas) are imported inside the commands that need them, so
``--help``, ``plugins`` and ``list`` stay fast.
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import SerBenchError

KINDS = ("datasets", "features", "encoders", "losses", "protocols", "executors", "recipes")
PRESETS = {
    "demo": {"fewshot": {"k": [2, 4, 8], "repeats": 3}},
    "paper": {"fewshot": {"k": [2, 4, 6, 8, 10, 12, 14, 16, 18, 20], "repeats": 10, "frozen": [0, 1, 2]}},
}


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [_value(part) for part in text.split(",") if part]
    return text


def _params(pairs, what: str) -> dict:
    """``["k=2,4", "repeats=3"]`` -> ``{"k": [2, 4], "repeats": 3}``."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SerBenchError(f"{what} {pair!r} is not KEY=VALUE (e.g. {what} k=2,4,8)")
        key, value = pair.split("=", 1)
        out[key.strip()] = _value(value.strip())
    return out


def _scoped(pairs, what: str, default_scope=None) -> dict:
    """``["fewshot.k=2,4"]`` -> ``{"fewshot": {"k": [2, 4]}}``; an unscoped key goes to ``default_scope``."""
    out: dict = {}
    for key, value in _params(pairs, what).items():
        scope, _, name = key.rpartition(".")
        scope = scope or default_scope
        if scope is None:
            raise SerBenchError(f"{what} {key!r} needs a scope, e.g. {what} fewshot.{key}=...")
        out.setdefault(scope, {})[name] = value
    return out


def _csv(text):
    return [t for t in (text or "").split(",") if t]


@contextmanager
def _tqdm_progress(total: int, desc: str):
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="", mininterval=1.0, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar


def _context(args):
    """The run context from, in order of precedence, the command line, the config file and the environment."""
    from .context import RunContext, default_data_dirs, load_config, null_progress

    config = load_config(getattr(args, "config", None))
    kwargs = {"progress": null_progress if args.quiet else _tqdm_progress,
              "skip_bad_files": getattr(args, "skip_bad_files", False), "workers": getattr(args, "workers", None)}
    dirs = [Path(d) for d in (getattr(args, "data_dir", None) or [])]
    dirs += [Path(d).expanduser() for d in config.get("data_dirs", [])]
    kwargs["data_dirs"] = dirs + default_data_dirs()
    corpus_paths = {k: str(v) for k, v in config.get("corpora", {}).items()}
    corpus_paths.update(_params(getattr(args, "corpus_path", None), "--corpus-path"))
    kwargs["corpus_paths"] = {k: str(v) for k, v in corpus_paths.items()}
    cache = getattr(args, "cache_dir", None) or config.get("cache_dir")
    if cache:
        kwargs["cache_dir"] = Path(cache).expanduser()
    return RunContext(**kwargs)


def _settings(args):
    from .manager import PluginSettings

    return PluginSettings.from_env(plugins_dir=args.plugins_dir, strict=args.strict_plugins or None)


def _registry(args):
    from .manager import load_registry

    return load_registry(_settings(args))


def cmd_plugins(args) -> int:
    from tabulate import tabulate

    from .types import SINGULAR

    rows = [(SINGULAR[e.kind], e.spec.name, e.distribution, e.version, e.plugin) for e in _registry(args).entries()]
    print(tabulate(rows, headers=["kind", "name", "distribution", "version", "plugin module"]))
    return 0


def cmd_list(args) -> int:
    registry = _registry(args)
    for entry in registry.entries(args.kind):
        print(f"{entry.spec.name:<18} {entry.spec.summary}")
    return 0


def cmd_run(args) -> int:
    from .runner import Grid, expand, run
    from .leaderboard import to_markdown
    from .results import load_results

    registry = _registry(args)
    protocols = _csv(args.protocol)
    protocol_params = {}
    for scope, values in PRESETS[args.preset].items():
        protocol_params.setdefault(scope, {}).update(values)
    for scope, values in _scoped(args.protocol_param, "--protocol-param",
                                 protocols[0] if len(protocols) == 1 else None).items():
        protocol_params.setdefault(scope, {}).update(values)
    losses = _csv(args.loss)
    base = {
        "protocol_params": protocol_params,
        "loss_params": _scoped(args.loss_param, "--loss-param", losses[0] if len(losses) == 1 else None),
        "training": _params(args.train_param, "--train-param"),
        "dataset_params": _scoped(args.dataset_param, "--dataset-param"),
        "decision": args.decision, "normalise": args.normalise, "labels": tuple(_csv(args.labels)),
        "pretrain_loss": args.pretrain_loss, "head": args.head,
    }
    grid = Grid(protocols=protocols, losses=losses, targets=_csv(args.target), sources=_csv(args.source) or [None],
                encoders=_csv(args.encoder), features=_csv(args.feature), seeds=[int(s) for s in _csv(args.seed)],
                base=base)
    cells = expand(grid, registry)
    results_dir = Path(args.results)
    ctx = _context(args)
    try:
        report = run(cells, registry, ctx, results_dir, executor=args.executor,
                     executor_params=_executor_params(args), settings=_settings(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished cells are saved in {results_dir}/; run the same command again to "
              "continue where it stopped.", file=sys.stderr)
        return 130
    print(f"{len(report.ran)} cells run, {len(report.already_done)} already in {results_dir}/, "
          f"{len(report.failed)} failed", file=sys.stderr)
    for cell in report.skipped:
        print(f"  skipped {cell.cell_id()}: {cell.skip_reason}", file=sys.stderr)
    for cell, exc in report.failed:
        print(f"  FAILED {cell.cell_id()}: {exc}", file=sys.stderr)
    if not args.no_leaderboard:
        wanted = {c.cell_id() for c in cells}
        print(to_markdown([r for r in load_results(results_dir) if r["cell_id"] in wanted]))
    return 1 if report.failed else 0


def _executor_params(args) -> dict:
    params = _params(getattr(args, "executor_param", None), "--executor-param")
    if getattr(args, "ray_address", None):
        params["address"] = args.ray_address
    return params


def cmd_reproduce(args) -> int:
    import time

    from .results import load_results
    from .runner import run

    registry = _registry(args)
    recipe = registry.get("recipes", args.recipe)
    sources = _csv(args.source) or list(recipe.default_sources)
    targets = _csv(args.target) or list(recipe.default_targets)
    options = {**recipe.options}
    for key in ("repeats", "seed"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    for key in ("k", "frozen"):
        if getattr(args, key):
            options[key] = [int(v) for v in _csv(getattr(args, key))]
    base = dict(options.get("base", {}))
    if args.train_param:
        base["training"] = _params(args.train_param, "--train-param")
    if args.dataset_param:
        base["dataset_params"] = _scoped(args.dataset_param, "--dataset-param")
    options["base"] = base
    cells = recipe.cells(registry, sources, targets, **options)
    out_dir = Path(args.results or Path("results") / recipe.name / f"{'+'.join(sources)}__{'+'.join(targets)}")
    ctx = _context(args)
    start = time.perf_counter()
    try:
        report = run(cells, registry, ctx, out_dir, executor=args.executor, executor_params=_executor_params(args),
                     settings=_settings(args))
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

    text = render(Path(args.results), args.format)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    return 0


def cmd_datasets(args) -> int:
    from .checks import check_corpus, describe

    registry = _registry(args)
    ctx = _context(args)
    if args.action == "check":
        if not args.name:
            raise SerBenchError("usage: ser-bench datasets check NAME (see `ser-bench datasets`)")
        spec = registry.get("datasets", args.name)
        manifest, problems = check_corpus(spec, ctx, _params(args.dataset_param, "--dataset-param"),
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
    plural = {"loss": "losses", "encoder": "encoders", "dataset": "datasets"}[args.kind]
    print(f"try it: ser-bench --plugins-dir {folder} list {plural}; pytest {written[1]}")
    return 0


def cmd_simulate(args) -> int:
    from .context import RunContext

    registry = _registry(args)
    spec = registry.get("datasets", args.corpus)
    if not spec.simulated:
        sims = [e.spec.name for e in registry.entries("datasets") if e.spec.simulated]
        raise SerBenchError(f"{args.corpus!r} is not a simulated corpus; choose one of {', '.join(sims)}")
    params = {"seed": args.seed, **({"speakers": args.speakers} if args.speakers else {})}
    ctx = RunContext(cache_dir=Path(args.out), progress=_tqdm_progress, workers=args.workers)
    manifest = spec.load(ctx, **params)
    root = Path(manifest["path"].iloc[0])
    print(f"{len(manifest)} clips of {manifest['speaker'].nunique()} speakers written under {Path(args.out) / 'simulated'}")
    return 0 if root.exists() else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so that documentation and tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="ser-bench", description="Metric-learning benchmarks for speech "
                                     "emotion recognition transfer learning.")
    parser.add_argument("--plugins-dir", help="folder of one-file plugins (env SER_BENCH_PLUGINS_DIR)")
    parser.add_argument("--strict-plugins", action="store_true", help="a plugin that fails to load is an error")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data-dir", action="append", help="folder holding corpora (env SER_BENCH_DATA_DIR)")
    data.add_argument("--corpus-path", action="append", metavar="NAME=DIR", help="where one corpus is")
    data.add_argument("--config", help="config file (default ./ser-bench.toml, ~/.config/ser-bench/config.toml)")
    data.add_argument("--cache-dir", help="feature and simulation cache (env SER_BENCH_CACHE_DIR)")
    data.add_argument("--workers", type=int, help="worker processes (default: every core)")
    data.add_argument("--skip-bad-files", action="store_true", help="leave out unusable files, listed in results")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--executor", default="process", help="serial, process (default) or ray")
    where.add_argument("--ray-address", help="Ray cluster address for --executor ray (default: a local Ray)")
    where.add_argument("--executor-param", action="append", metavar="KEY=VALUE")
    where.add_argument("--train-param", action="append", metavar="KEY=VALUE", help="epochs, lr, batch_size, ...")
    where.add_argument("--dataset-param", action="append", metavar="DATASET.KEY=VALUE")

    run_p = sub.add_parser("run", parents=[data, where], help="run a grid of cells and print its leaderboard")
    run_p.add_argument("--loss", default="ratio_distance", help="loss name(s), comma-separated")
    run_p.add_argument("--source", default="", help="source corpus(es) for oodt/fewshot")
    run_p.add_argument("--target", default="ravdess", help="target corpus(es) (default: ravdess)")
    run_p.add_argument("--protocol", default="oodt,idt,fewshot", help="protocol name(s)")
    run_p.add_argument("--encoder", default="siamese-mlp")
    run_p.add_argument("--feature", default="is09-64")
    run_p.add_argument("--seed", default="0", help="seed(s), comma-separated")
    run_p.add_argument("--labels", default="anger,happiness,sadness,fear")
    run_p.add_argument("--pretrain-loss", default="auto",
                       help="loss of the source model that fine-tuning starts from (auto: bce_pair before a pair "
                            "loss, else the loss itself)")
    run_p.add_argument("--head", default="auto", help="evaluation head: siamese, prototype, knn, linear (auto: the "
                       "loss's default)")
    run_p.add_argument("--decision", default="sum", choices=["sum", "mean"], help="support-set log-probability rule")
    run_p.add_argument("--normalise", default="train", choices=["train", "corpus", "speaker"])
    run_p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="protocol settings preset")
    run_p.add_argument("--protocol-param", action="append", metavar="[PROTOCOL.]KEY=VALUE")
    run_p.add_argument("--loss-param", action="append", metavar="[LOSS.]KEY=VALUE")
    run_p.add_argument("--results", default="results", help="results folder (default: results/)")
    run_p.add_argument("--no-leaderboard", action="store_true")
    run_p.set_defaults(func=cmd_run)

    rp = sub.add_parser("reproduce", parents=[data, where], help="rerun a paper's whole experiment and write its "
                        "tables and figures")
    rp.add_argument("recipe", help="e.g. feng2020 (`ser-bench list recipes`)")
    rp.add_argument("--source", help="source corpora, comma-separated (default: the paper's)")
    rp.add_argument("--target", help="target corpora (default: the paper's)")
    rp.add_argument("--repeats", type=int)
    rp.add_argument("--k", help="numbers of target speakers, e.g. 2,4,8")
    rp.add_argument("--frozen", help="frozen-layer settings, e.g. 0,1,2")
    rp.add_argument("--seed", type=int)
    rp.add_argument("--results", help="output folder (default results/RECIPE/SOURCES__TARGETS)")
    rp.set_defaults(func=cmd_reproduce)

    lb = sub.add_parser("leaderboard", help="print the leaderboard of a results folder")
    lb.add_argument("results", nargs="?", default="results")
    lb.add_argument("--format", default="markdown", choices=["markdown", "csv", "json"])
    lb.add_argument("-o", "--output", help="write to this file instead of standard output")
    lb.set_defaults(func=cmd_leaderboard)

    pl = sub.add_parser("plugins", help="every registered plugin with its kind, distribution and version")
    pl.set_defaults(func=cmd_plugins)

    ls = sub.add_parser("list", help="the plugins of one kind")
    ls.add_argument("kind", choices=KINDS)
    ls.set_defaults(func=cmd_list)

    ds = sub.add_parser("datasets", parents=[data], help="every corpus: found or not, counts, licence; "
                        "`datasets check NAME` validates a copy")
    ds.add_argument("action", nargs="?", choices=["check"])
    ds.add_argument("name", nargs="?")
    ds.add_argument("--no-audio", action="store_true", help="check names and counts only, do not decode audio")
    ds.add_argument("--dataset-param", action="append", metavar="KEY=VALUE")
    ds.set_defaults(func=cmd_datasets)

    new = sub.add_parser("new", help="write a one-file plugin (loss, encoder or dataset) and its test")
    new.add_argument("kind", choices=["loss", "encoder", "dataset"])
    new.add_argument("name")
    new.add_argument("--dir", help="folder to write to (default: --plugins-dir, else ./ser_bench_local_plugins)")
    new.add_argument("--force", action="store_true", help="overwrite existing files")
    new.set_defaults(func=cmd_new)

    sim = sub.add_parser("simulate", help="write a simulated corpus tree")
    sim.add_argument("corpus", help="sim-ravdess, sim-crema or sim-enterface")
    sim.add_argument("--out", required=True, help="output folder (the tree goes under OUT/simulated/)")
    sim.add_argument("--speakers", type=int)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--workers", type=int)
    sim.set_defaults(func=cmd_simulate)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``ser-bench`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SerBenchError as exc:
        print(f"ser-bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
