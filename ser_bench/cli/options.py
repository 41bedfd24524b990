"""Shared pieces of the command line: parameter parsing, the run context, progress bars."""
from __future__ import annotations

import argparse
import os
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from ser_bench.errors import SerBenchError

# What each KEY=VALUE option looks like, for the message when one is not KEY=VALUE.
EXAMPLES = {"--protocol-param": "fewshot.k=2,4,8", "--loss-param": "ratio_distance.weight=0.5",
            "--train-param": "epochs=30", "--dataset-param": "sim-ravdess.speakers=8",
            "--executor-param": "address=auto", "--corpus-path": "ravdess=/data/RAVDESS",
            "--label-map": "turev.calm=neutral",
            "--feature-param": "ssl.layers=all"}


def _value(text: str):
    """A command-line value: JSON when it parses (numbers, true/false, lists), else a comma-separated
    list, else the text itself; each plugin's parameter check then refuses what does not fit."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested brackets
        pass
    if "," in text:
        return [_value(part) for part in text.split(",") if part]
    return text


def _split_pair(pair: str) -> tuple[str, str, str]:
    """``KEY=VALUE`` split at the ``=`` that ends the key. A key may be scoped by a corpus expression
    holding ``=`` itself (``sim-ravdess[half=1].speakers=4``, ``crema+noise:snr=10.speakers=8``): the
    key ends at the first ``=`` outside brackets that is not a channel parameter's."""
    depth = 0
    for i, char in enumerate(pair):
        depth += (char == "[") - (char == "]")
        if char == "=" and depth <= 0:
            key = pair[:i]
            if "+" in key and not re.fullmatch(r"[A-Za-z_]\w*", key.rpartition(".")[2]):
                continue  # "+noise:snr=": a channel parameter inside the scope
            return key, "=", pair[i + 1:]
    return pair.partition("=")


def parse_params(pairs, what: str, raw: bool = False) -> dict:
    """``["k=2,4", "repeats=3"]`` -> ``{"k": [2, 4], "repeats": 3}`` (``raw``: values kept as text)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = _split_pair(pair)
        if not sep or not key.strip():
            raise SerBenchError(f"{what} {pair!r} is not KEY=VALUE; e.g. {what} {EXAMPLES.get(what, 'key=value')}")
        out[key.strip()] = value.strip() if raw else _value(value.strip())
    return out


def parse_scoped(pairs, what: str, default_scope=None) -> dict:
    """``["fewshot.k=2,4"]`` -> ``{"fewshot": {"k": [2, 4]}}``; an unscoped key goes to ``default_scope``."""
    out: dict = {}
    for key, value in parse_params(pairs, what).items():
        scope, _, name = key.rpartition(".")
        scope = scope or default_scope
        if scope is None:
            example = EXAMPLES.get(what, f"fewshot.{key}=...")
            raise SerBenchError(f"{what} {key!r} needs a scope, e.g. {what} {example}")
        out.setdefault(scope, {})[name] = value
    return out


def feature_params_from_args(args, registry, features: list) -> dict:
    """``--feature-param`` (``ssl.model=ID``; unscoped keys go to the run's only feature) and ``--device``
    (to each feature of the run that takes a ``device`` parameter and is not given one), as
    ``{feature: params}``, each checked against its feature; a scope outside the run's features is an
    error. ``--device`` also says where models train (:func:`ser_bench.running.runner.run`), so a run
    without a feature that takes it is fine."""
    from ser_bench.plugin_api.params import accepted, check_params

    scoped = parse_scoped(getattr(args, "feature_param", None), "--feature-param",
                          features[0] if len(features) == 1 else None)
    for scope, values in scoped.items():
        if scope not in features:
            raise SerBenchError(f"--feature-param {scope}.KEY=VALUE: {scope!r} is not a feature of this run "
                                f"(--feature {','.join(features)})")
        check_params(f"--feature-param feature {scope!r}", registry.get("features", scope), values)
    device = getattr(args, "device", None)
    if device:
        for feature in [f for f in features if "device" in accepted(registry.get("features", f))[0]]:
            scoped.setdefault(feature, {}).setdefault("device", device)
    return scoped


def split_csv(text):
    """``"a,b,,c"`` -> ``["a", "b", "c"]``; ``None`` or ``""`` -> ``[]``."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def names(text, what: str) -> list:
    """The comma-separated names of a grid axis (``--loss a,b``); none at all is an error naming ``what``."""
    found = split_csv(text)
    if not found:
        raise SerBenchError(f"{what} is empty: give one or more names, comma-separated (`ser-bench list` shows them)")
    return found


def parse_labels(text: str, what: str = "--labels"):
    """``"anger,sadness"`` -> ``("anger", "sadness")``, checked by :func:`ser_bench.plugin_api.params.check_labels`;
    the name of a label set (``default``, ``iemocap4``, ``shared``: :data:`ser_bench.data.labels.LABEL_SETS`)
    is returned as it is, for the grid to resolve."""
    from ser_bench.data.labels import named_set
    from ser_bench.plugin_api.params import check_labels

    if text and "," not in text and named_set(text) is not None:
        return text.strip()
    return check_labels([t.strip() for t in (text or "").split(",") if t.strip()], what)


def parse_label_maps(pairs) -> dict:
    """``["turev.calm=neutral"]`` -> ``{"turev": {"calm": "neutral"}}``: the user's renaming of a corpus's
    emotions (checked against the corpus when it is read)."""
    from ser_bench.data.labels import VOCABULARY

    out: dict = {}
    for corpus, mapping in parse_scoped(pairs, "--label-map").items():
        for source, target in mapping.items():
            if not isinstance(target, str) or target not in VOCABULARY:
                raise SerBenchError(f"--label-map {corpus}.{source}={target}: the new name must be one emotion of the "
                                    f"common vocabulary ({', '.join(VOCABULARY)})")
        out[corpus] = {str(k): v for k, v in mapping.items()}
    return out


def whole_numbers(text: str, what: str, low: int, example: str = "") -> list[int]:
    """``"2,4,8"`` -> ``[2, 4, 8]``: one or more whole numbers >= ``low``, or an error naming ``what``
    (and showing ``example``)."""
    parts = split_csv(text)
    if parts and all(re.fullmatch(r"[+-]?[0-9]+", p, re.ASCII) for p in parts):
        values = [int(p) for p in parts]
        if all(v >= low for v in values):
            return values
    example = example or f"{low},{low + 1}"
    raise SerBenchError(f"{what} takes whole numbers >= {low}, comma-separated (e.g. {what} {example}), not {text!r}")


def whole_number(low: int, meaning: str):
    """An argparse ``type``: a whole number >= ``low``; otherwise argparse's usage error (exit 2),
    saying ``meaning`` (what the number counts) and the value given."""
    def parse(text: str) -> int:
        if re.fullmatch(r"\s*[+-]?[0-9]+\s*", text, re.ASCII) and int(text) >= low:
            return int(text)
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low} ({meaning}), not {text!r}")
    parse.__name__ = "whole number"
    return parse


@contextmanager
def tqdm_progress(total: int, desc: str):
    """A tqdm progress bar on standard error."""
    from tqdm import tqdm

    unit = " clips" if desc.startswith("features") else ""  # feature bars count clips: clips/s and an ETA
    with tqdm(total=total, desc=desc, unit=unit, mininterval=1.0, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar


def print_warning(message: str) -> None:
    """How the command line shows a run's warnings: one ``warning:`` line each on standard error."""
    print(f"warning: {message}", file=sys.stderr)


def run_context(args):
    """The run context from, in order of precedence, the command line, the config file and the environment."""
    from ser_bench.plugin_api.context import RunContext, default_data_dirs, load_config, null_progress

    config = load_config(getattr(args, "config", None))
    kwargs = {"progress": null_progress if args.quiet else tqdm_progress, "on_warning": print_warning,
              "skip_bad_files": getattr(args, "skip_bad_files", False), "workers": getattr(args, "workers", None)}
    dirs = [Path(d) for d in (getattr(args, "data_dir", None) or [])]
    dirs += [Path(d).expanduser() for d in config.get("data_dirs", [])]
    kwargs["data_dirs"] = dirs + default_data_dirs()
    corpus_paths = {k: str(v) for k, v in config.get("corpora", {}).items()}
    corpus_paths.update(parse_params(getattr(args, "corpus_path", None), "--corpus-path", raw=True))
    kwargs["corpus_paths"] = {k: str(v) for k, v in corpus_paths.items()}
    cache = getattr(args, "cache_dir", None) or config.get("cache_dir")
    if cache:
        kwargs["cache_dir"] = Path(cache).expanduser()
    cores = os.cpu_count() or 1
    if kwargs["workers"] and kwargs["workers"] > cores and getattr(args, "executor", "process") != "ray":
        # More processes than cores only share them, each with its own torch in memory.
        print_warning(f"--workers {kwargs['workers']} is more than this machine's {cores} cores; using {cores}")
        kwargs["workers"] = cores
    return RunContext(**kwargs)


def check_corpus_paths(registry, ctx) -> None:
    """Every corpus named by ``--corpus-path`` or the config file's ``[corpora]`` is a registered dataset: a
    misspelt name would otherwise be ignored, and the corpus reported missing, with no word about why."""
    import difflib

    known = registry.names("datasets")
    for name in ctx.corpus_paths:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise SerBenchError(f"--corpus-path {name}=...: no dataset called {name!r}.{hint} Datasets: "
                                f"{', '.join(known)}.")


def plugin_settings(args):
    """The plugin settings of the command line (and the environment)."""
    from ser_bench.plugin_api.manager import PluginSettings

    return PluginSettings.from_env(plugins_dir=args.plugins_dir, strict=args.strict_plugins or None)


def registry_from_args(args):
    """The registry the command line asks for (built-ins, entry points, ``--plugins-dir``)."""
    from ser_bench.plugin_api.manager import load_registry

    return load_registry(plugin_settings(args))


def executor_params_from_args(args) -> dict:
    """``--executor-param`` and ``--ray-address`` as the executor's keyword arguments."""
    params = parse_params(getattr(args, "executor_param", None), "--executor-param")
    if getattr(args, "ray_address", None):
        params["address"] = args.ray_address
    return params


