"""A plugin factory's parameter types, read from the annotations its author wrote (``weight: float = 1``,
``layers: list[int]``, ``cap: Optional[int] = None``), for :mod:`ser_bench.plugin_api.params` to check
given values against before the type of the default."""
from __future__ import annotations

import types
import typing
from typing import Any, Mapping


# What each annotated type takes, as an exemplar whose type params.coerce checks against.
_EXEMPLARS = {bool: False, int: 0, float: 0.0, str: "", dict: {}}


def _exemplar(hint) -> tuple[Any, bool] | None:
    """``(a value of the annotated type, whether None is allowed)`` for ``hint``; None when the
    annotation says nothing :func:`coerce` can check (``Any``, a class, a union of several types)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = _exemplar(rest[0]) if len(rest) == 1 else None
        return (inner[0], True) if inner else None
    if hint in _EXEMPLARS:
        return _EXEMPLARS[hint], False
    if origin in (dict, Mapping, typing.Mapping) or hint in (Mapping, typing.Mapping):
        return {}, False
    if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        inner = _exemplar(args[0]) if args and args[0] is not Ellipsis else None
        return ([inner[0]] if inner else []), False
    return None


def annotated(factory) -> dict:
    """``{parameter: (exemplar, None allowed)}`` from the annotations of a plugin's ``factory`` (those
    :func:`_exemplar` understands); ``{}`` when they cannot be read."""
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # an annotation naming what cannot be resolved here: read the others one by one
        hints = {}
        for name, hint in getattr(factory, "__annotations__", {}).items():
            try:
                hints[name] = eval(hint, getattr(factory, "__globals__", {})) if isinstance(hint, str) else hint
            except Exception:
                continue
    out = {}
    for name, hint in hints.items():
        found = _exemplar(hint) if name != "return" else None
        if found is not None:
            out[name] = found
    return out
