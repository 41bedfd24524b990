"""The ``ser-bench`` sub-commands that compute no cell: leaderboards, result checks, the plugin and corpus
catalogues, scaffolding and simulated corpora (``run`` and ``reproduce`` have modules of their own). Each
takes the parsed arguments and returns an exit code."""
from __future__ import annotations

import sys
from pathlib import Path

from ser_bench.cli.options import check_corpus_paths, parse_params, registry_from_args, run_context, tqdm_progress
from ser_bench.errors import SerBenchError

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
