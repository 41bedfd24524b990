"""The plugin manager: built-ins, then the ``ser_bench`` entry-point group, then a local folder.

Loading never imports torch or opensmile: plugin modules keep heavy imports inside their factories.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
import importlib
import importlib.metadata as md
import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, cast

import pluggy

from ser_bench import __version__
from ser_bench.plugin_api import hookspecs
from ser_bench.errors import PluginLoadError
from ser_bench.plugin_api.registry import Entry, Registry
from ser_bench.plugin_api.types import SPEC_TYPES

ENTRY_POINT_GROUP = "ser_bench"
PLUGINS_DIR_ENV = "SER_BENCH_PLUGINS_DIR"
STRICT_ENV = "SER_BENCH_STRICT_PLUGINS"
BUILTIN_PACKAGE = "ser_bench_plugins"


class PluginWarning(UserWarning):
    """A third-party plugin could not be loaded and was skipped."""


@dataclass(frozen=True)
class PluginSettings:
    """Where to look for plugins beyond the built-ins. Picklable, so worker processes rebuild the same registry."""

    plugins_dir: Optional[str] = None
    strict: bool = False
    entry_points: bool = True
    extra_modules: tuple = ()

    @classmethod
    def from_env(cls, plugins_dir: Optional[str] = None, strict: Optional[bool] = None) -> "PluginSettings":
        """Settings from arguments, falling back to ``SER_BENCH_PLUGINS_DIR`` / ``SER_BENCH_STRICT_PLUGINS``."""
        return cls(
            plugins_dir=plugins_dir or os.environ.get(PLUGINS_DIR_ENV) or None,
            strict=bool(strict) if strict is not None else os.environ.get(STRICT_ENV, "") not in ("", "0"),
        )


def _builtin_modules() -> list[str]:
    pkg = importlib.import_module(BUILTIN_PACKAGE)
    return [f"{BUILTIN_PACKAGE}.{name}" for name in pkg.BUILTIN_MODULES]


# What a plugin's code may raise that ser-bench treats as that plugin failing. SystemExit too: a plugin
# that calls sys.exit() (or exit()) while it is imported or asked for its specs must not end ser-bench,
# silently and with status 0. KeyboardInterrupt is not caught: Ctrl-C still stops ser-bench.
PLUGIN_FAILURES = (Exception, SystemExit)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"it tried to end ser-bench ({exc!r}, from sys.exit() or exit())"
    return repr(exc)


def _fail(settings: PluginSettings, message: str, exc: BaseException) -> None:
    if settings.strict:
        raise PluginLoadError(message) from exc
    warnings.warn(f"{message}; skipped (set {STRICT_ENV}=1 to make this an error)", PluginWarning, stacklevel=3)


def build_plugin_manager(settings: PluginSettings | None = None) -> tuple[pluggy.PluginManager, dict[str, tuple[str, str]]]:
    """Register every plugin; returns the manager and plugin name -> (distribution, version)."""
    settings = settings or PluginSettings.from_env()
    pm = pluggy.PluginManager("ser_bench")
    pm.add_hookspecs(hookspecs)
    origin: dict[str, tuple[str, str]] = {}

    for modname in [*_builtin_modules(), *settings.extra_modules]:
        pm.register(importlib.import_module(modname), name=modname)
        origin[modname] = ("ser-bench", __version__)

    if settings.entry_points:
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            name = f"{dist}:{ep.name}"
            if pm.has_plugin(name) or pm.is_blocked(name):
                continue
            try:
                with _named_if_slow(f"plugin {ep.name!r} from {dist} {version}"):
                    pm.register(ep.load(), name=name)
            except PLUGIN_FAILURES as exc:  # a broken third-party plugin must not take the tool down
                _fail(settings, f"plugin {ep.name!r} from {dist} {version} failed to load: {_describe(exc)}", exc)
                continue
            origin[name] = (dist, version)

    if settings.plugins_dir:
        folder = Path(settings.plugins_dir).expanduser()
        if not folder.is_dir():
            _fail(settings, f"plugins folder {folder} does not exist", FileNotFoundError(folder))
        else:
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith(("_", "test_")):  # private helpers and the plugins' own tests
                    continue
                name = f"local:{path.stem}"
                try:
                    # a .py file's location always gives a spec with a (source file) loader
                    spec = cast("importlib.machinery.ModuleSpec",
                                importlib.util.spec_from_file_location(f"ser_bench_local_plugins.{path.stem}", path))
                    module = importlib.util.module_from_spec(spec)
                    with _named_if_slow(f"local plugin {path}"):
                        cast("importlib.abc.Loader", spec.loader).exec_module(module)
                    pm.register(module, name=name)
                except PLUGIN_FAILURES as exc:
                    _fail(settings, f"local plugin {path} failed to load: {_describe(exc)}", exc)
                    continue
                origin[name] = (f"local file {path}", "-")
    return pm, origin


SLOW_IMPORT = 10.0  # seconds a third-party plugin may take to import before the user is told which one


@contextmanager
def _named_if_slow(what: str, after: float | None = None):
    """Say on standard error which plugin is still loading once it has taken ``after`` seconds (and again
    each time as long again): a plugin that loops or waits at import would otherwise hang ser-bench
    without a word about who is waiting."""
    import sys
    import threading

    after = SLOW_IMPORT if after is None else after
    done = threading.Event()

    def watch():
        waited = 0.0
        while not done.wait(after):
            waited += after
            print(f"ser-bench: warning: {what} is still loading after {waited:g} s (a plugin that loops or "
                  "waits at import; Ctrl-C stops, --plugins-dir or uninstalling it leaves it out)",
                  file=sys.stderr, flush=True)

    thread = threading.Thread(target=watch, name="plugin-import-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def _specs(returned, kind: str) -> tuple[list, str]:
    """(the specs a ``ser_bench_<kind>`` hook returned, ``""``) or ([], what is wrong with them).

    A hook returns a list (or any iterable) of spec records, or ``None`` for none; a dict, a string,
    a bare spec or a record of another kind is a plugin bug that must not take the tool down.
    """
    expected = SPEC_TYPES[kind].__name__
    if returned is None:
        return [], ""
    if isinstance(returned, (Mapping, str, bytes)) or dataclasses.is_dataclass(returned) \
            or not isinstance(returned, Iterable):
        return [], (f"its ser_bench_{kind} hook returned {type(returned).__name__}; it must return a list of "
                    f"{expected} records")
    try:
        specs = list(returned)
    except PLUGIN_FAILURES as exc:  # a generator that raises (or exits) half-way
        return [], f"its ser_bench_{kind} hook's result could not be read: {_describe(exc)}"
    for spec in specs:
        if not isinstance(spec, SPEC_TYPES[kind]):
            return [], (f"its ser_bench_{kind} hook returned a {type(spec).__name__} in its list; every item "
                        f"must be a {expected}")
        if not isinstance(spec.name, str) or not spec.name:
            return [], f"its ser_bench_{kind} hook returned a {expected} whose name is {spec.name!r}, not a name"
    return specs, ""


def load_registry(settings: PluginSettings | None = None) -> Registry:
    """Build the :class:`Registry` by calling every plugin's hooks, recording who registered what."""
    settings = settings or PluginSettings.from_env()
    pm, origin = build_plugin_manager(settings)
    # In pluggy's call order (plugins registered later first), so that a third-party syntax can take over.
    resolvers: list[Callable[..., Any]] = [
        impl.function for impl in reversed(pm.hook.ser_bench_dataset_view.get_hookimpls())]
    registry = Registry(view_resolvers=resolvers)
    for kind in SPEC_TYPES:
        hook = getattr(pm.hook, f"ser_bench_{kind}")
        for impl in reversed(hook.get_hookimpls()):  # pluggy calls last-registered first; register in call order
            plugin = cast(str, pm.get_name(impl.plugin))  # a hook implementation's plugin is registered, so named
            dist, version = origin.get(plugin, ("?", "?"))
            try:
                returned = impl.function()
            except PLUGIN_FAILURES as exc:
                if plugin.startswith(BUILTIN_PACKAGE):
                    raise
                _fail(settings, f"plugin {plugin} raised in its {kind} hook: {_describe(exc)}", exc)
                continue
            specs, problem = _specs(returned, kind)
            if problem:
                if plugin.startswith(BUILTIN_PACKAGE):
                    raise TypeError(f"built-in plugin {plugin}: {problem}")
                where = dist if version in ("-", "?") else f"{dist} {version}"
                _fail(settings, f"plugin {plugin} ({where}): {problem}", TypeError(problem))
                continue
            for spec in specs:
                registry.add(Entry(kind=kind, spec=spec, plugin=plugin, distribution=dist, version=version))
    return registry
