"""Checking the parameters a user gives a plugin before anything runs.

A misspelt parameter (``--loss-param wieght=0.1``) used to reach the plugin's factory in a worker and
fail the cell after the corpora were loaded; a float parameter given as ``1`` hashed differently from
the default ``1.0`` and so ran, and was reported, as another setting. Both are settled here, once, from
the factory's signature and the spec's declared defaults.
"""
from __future__ import annotations

import difflib
import inspect

from .errors import SerBenchError

# Arguments the runner supplies itself; a user cannot set them.
INJECTED = frozenset({"ctx", "context", "data", "seed", "input_dim"})


def factory_of(spec):
    """The callable a spec is built with (``build``, ``load`` or ``splits``)."""
    for attr in ("build", "load", "splits"):
        if callable(getattr(spec, attr, None)):
            return getattr(spec, attr)
    return None


def accepted(spec) -> tuple[frozenset, dict, bool]:
    """(parameter names a user may set, their defaults, whether any other name is accepted too)."""
    defaults = dict(spec.params)
    try:
        signature = inspect.signature(factory_of(spec))
    except (TypeError, ValueError):  # no factory or a builtin: trust the declared defaults only
        return frozenset(defaults), defaults, True
    names = set(defaults)
    open_ended = False
    for name, p in signature.parameters.items():
        if p.kind is p.VAR_KEYWORD:
            open_ended = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in INJECTED:
            names.add(name)
            if p.default is not p.empty:
                defaults.setdefault(name, p.default)
    return frozenset(names), defaults, open_ended


def _checked(given: dict, names, defaults: dict, open_ended: bool, unknown) -> dict:
    """``given`` with names outside ``names`` refused (``unknown(name, hint)`` makes the message) unless
    ``open_ended``, and whole numbers made floats where the default is a float (``weight=1`` is
    ``weight=1.0``, the same setting and the same cell)."""
    out = {}
    for name, value in dict(given).items():
        if name not in names and not open_ended:
            close = difflib.get_close_matches(name, sorted(names), n=2, cutoff=0.6)
            raise SerBenchError(unknown(name, f" Did you mean {' or '.join(map(repr, close))}?" if close else ""))
        default = defaults.get(name)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        out[name] = value
    return out


def check_params(what: str, spec, given: dict) -> dict:
    """A plugin's ``given`` parameters, checked against its factory; ``what`` names it in messages,
    e.g. ``"loss 'ratio_distance'"``."""
    names, defaults, open_ended = accepted(spec)
    return _checked(given, names, defaults, open_ended, lambda name, hint: (
        f"{what} has no parameter {name!r}.{hint} Its parameters: {', '.join(sorted(names)) or '(none)'}."))


def check_training(given: dict, defaults: dict) -> dict:
    """Training settings, checked against the known ones (``defaults``)."""
    return _checked(given, defaults, defaults, False, lambda name, hint: (
        f"no training setting {name!r}.{hint} Settings: {', '.join(sorted(defaults))}."))
