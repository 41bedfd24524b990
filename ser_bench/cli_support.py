"""Shared pieces of the command line: parameter parsing, the run context, progress bars."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import SerBenchError

def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [_value(part) for part in text.split(",") if part]
    return text


def parse_params(pairs, what: str) -> dict:
    """``["k=2,4", "repeats=3"]`` -> ``{"k": [2, 4], "repeats": 3}``."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SerBenchError(f"{what} {pair!r} is not KEY=VALUE (e.g. {what} k=2,4,8)")
        key, value = pair.split("=", 1)
        out[key.strip()] = _value(value.strip())
    return out


def parse_scoped(pairs, what: str, default_scope=None) -> dict:
    """``["fewshot.k=2,4"]`` -> ``{"fewshot": {"k": [2, 4]}}``; an unscoped key goes to ``default_scope``."""
    out: dict = {}
    for key, value in parse_params(pairs, what).items():
        scope, _, name = key.rpartition(".")
        scope = scope or default_scope
        if scope is None:
            raise SerBenchError(f"{what} {key!r} needs a scope, e.g. {what} fewshot.{key}=...")
        out.setdefault(scope, {})[name] = value
    return out


def split_csv(text):
    return [t for t in (text or "").split(",") if t]


@contextmanager
def tqdm_progress(total: int, desc: str):
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="", mininterval=1.0, file=sys.stderr, dynamic_ncols=True) as bar:
        yield bar


def run_context(args):
    """The run context from, in order of precedence, the command line, the config file and the environment."""
    from .context import RunContext, default_data_dirs, load_config, null_progress

    config = load_config(getattr(args, "config", None))
    kwargs = {"progress": null_progress if args.quiet else tqdm_progress,
              "skip_bad_files": getattr(args, "skip_bad_files", False), "workers": getattr(args, "workers", None)}
    dirs = [Path(d) for d in (getattr(args, "data_dir", None) or [])]
    dirs += [Path(d).expanduser() for d in config.get("data_dirs", [])]
    kwargs["data_dirs"] = dirs + default_data_dirs()
    corpus_paths = {k: str(v) for k, v in config.get("corpora", {}).items()}
    corpus_paths.update(parse_params(getattr(args, "corpus_path", None), "--corpus-path"))
    kwargs["corpus_paths"] = {k: str(v) for k, v in corpus_paths.items()}
    cache = getattr(args, "cache_dir", None) or config.get("cache_dir")
    if cache:
        kwargs["cache_dir"] = Path(cache).expanduser()
    return RunContext(**kwargs)


def plugin_settings(args):
    from .manager import PluginSettings

    return PluginSettings.from_env(plugins_dir=args.plugins_dir, strict=args.strict_plugins or None)


def registry_from_args(args):
    from .manager import load_registry

    return load_registry(plugin_settings(args))


def executor_params_from_args(args) -> dict:
    params = parse_params(getattr(args, "executor_param", None), "--executor-param")
    if getattr(args, "ray_address", None):
        params["address"] = args.ray_address
    return params


