"""Old import paths of the modules that 0.2 grouped into sub-packages, kept working for plugins written
against 0.1 (``from ser_bench.types import LossSpec``), with a :class:`DeprecationWarning` naming the new
path. Importing an old name gives the very same module object as the new one."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "hookspecs": "plugin_api.hookspecs", "types": "plugin_api.types", "registry": "plugin_api.registry",
    "manager": "plugin_api.manager", "params": "plugin_api.params", "search": "plugin_api.search",
    "testing": "plugin_api.testing", "scaffold": "plugin_api.scaffold", "context": "plugin_api.context",
    "audio": "data.audio", "corpus": "data.corpus", "labels": "data.labels", "domains": "data.domains",
    "features": "data.features", "checks": "data.checks", "normalise": "data.normalise",
    "training": "model.training", "modules": "model.modules", "pairs": "model.pairs", "heads": "model.heads",
    "decision": "model.decision", "metrics": "model.metrics", "model_cache": "model.model_cache",
    "runner": "running.runner", "cells": "running.cells", "evaluation": "running.evaluation",
    "splits": "running.splits", "tuning": "running.tuning", "workers": "plugin_api.workers",
    "tidy": "reporting.tidy", "stats": "reporting.stats", "ranks": "reporting.ranks",
    "leaderboard": "reporting.leaderboard", "analysis": "reporting.analysis", "figures": "reporting.figures",
    "sections": "reporting.sections", "cli_support": "cli.options", "commands": "cli.commands",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        return importlib.import_module(self.new)

    def exec_module(self, module) -> None:  # the new module is already executed
        pass


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``ser_bench.<old name>`` as the module it became (see :data:`MOVED`)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix != "ser_bench" or name not in MOVED:
            return None
        new = f"ser_bench.{MOVED[name]}"
        warnings.warn(f"{fullname} moved to {new}; import it from there (the old path goes in 1.0)",
                      DeprecationWarning, stacklevel=2)
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
