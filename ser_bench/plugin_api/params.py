"""Checking the parameters a user gives a plugin before anything runs.

A misspelt parameter (``--loss-param wieght=0.1``) used to reach the plugin's factory in a worker and
fail the cell after the corpora were loaded; a float parameter given as ``1`` hashed differently from
the default ``1.0`` and so ran, and was reported, as another setting; ``epochs=abc`` failed deep in
training with a raw Python error, and ``epochs=-3`` trained nothing and was saved as a valid result.
All of it is settled here, once, from the factory's signature, the spec's declared defaults (which
give each parameter its type) and its declared ``bounds`` (which give its range).

The type of a parameter is its annotation in the factory's signature where the author wrote one
(``weight: float = 1`` takes 0.5; ``layers: list[int]``; ``Optional[int] = None`` takes a whole number
or nothing), else the type of its default: a whole number, a number, true/false, text, a list (of the
type of its first element) or a JSON object. A parameter with neither, or whose only clue is a default
of ``None``, is passed through unchecked. A parameter named ``weight`` or ``..._weight`` is a
weight: a number >= 0 unless its spec declares other bounds.
"""
from __future__ import annotations

import difflib
import inspect
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.annotations import annotated

# Arguments the runner supplies itself; a user cannot set them.
INJECTED = frozenset({"ctx", "context", "data", "seed", "input_dim"})

_INT_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


@dataclass(frozen=True)
class Range:
    """The values a number (or each number of a list) may take: ``low``/``high`` inclusive unless
    ``low_open``/``high_open``; ``None`` is unbounded. ``note`` says what a boundary value means
    (e.g. ``"0: no fine-tuning"``) and is shown in messages."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    note: str = ""

    def admits(self, value) -> bool:
        """Whether ``value`` lies in the range."""
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        return " and ".join(parts)


def at_least(low, note: str = "") -> Range:
    """``value >= low``."""
    return Range(low=low, note=note)


def above(low, note: str = "") -> Range:
    """``value > low``."""
    return Range(low=low, low_open=True, note=note)


# Bounds of the training settings (their defaults, and so their types, are training.DEFAULT_TRAINING).
TRAINING_BOUNDS = {
    "epochs": at_least(1),
    "batch_size": at_least(1),
    "lr": above(0),
    "weight_decay": at_least(0),
    "finetune_steps": at_least(0, "0: no fine-tuning, the few-shot model is the source model as trained, "
                                  "scored against the k speakers' clips"),
    "finetune_lr": above(0),
}
WEIGHT = at_least(0)


def _fmt(number) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def factory_of(spec):
    """The callable a spec is built with (``build``, ``load``, ``splits`` or a head's ``predict``)."""
    for attr in ("build", "load", "splits", "predict"):
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


# What the caller of each kind's factory passes itself (see the spec types): never a plugin parameter.
SUPPLIED = {
    "datasets": frozenset({"ctx", "variant"}),
    "features": frozenset(),
    "encoders": frozenset({"input_dim"}),
    "losses": frozenset({"context", "variant"}),
    "protocols": frozenset({"data", "seed", "speakers"}),
    "executors": frozenset({"workers"}),
    "recipes": frozenset({"registry", "sources", "targets", "results", "out_dir", "ctx"}),
    "heads": frozenset({"model", "x_test", "x_support", "y_support", "n_classes", "rule"}),
    "channels": frozenset(),
}


def json_value(value):
    """``value`` as JSON would hold it: tuples as lists, read-only mappings as dicts, recursively."""
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: json_value(v) for k, v in value.items()}
    return value


def defaults_of(factory, kind: Optional[str] = None) -> dict:
    """A plugin's default parameters, read from its factory's signature: every keyword argument with a
    default, in order, as a JSON-able value (:func:`json_value`), leaving out what the caller of a
    ``kind`` factory supplies itself (:data:`SUPPLIED`).

    A spec declares ``params=defaults_of(build)``, so each default is written once, in the signature.
    The other way round (factories without defaults, called with the spec's ``params``) was rejected:
    a factory is a plain function that tests, notebooks and other plugins call directly, and
    ``build()`` must then mean the same as the spec's defaults; Python checks a signature's defaults
    where they are written, and :func:`accepted` already takes parameter names from the signature.
    A default that cannot sit in a signature because it is mutable is written as a read-only
    ``types.MappingProxyType`` (``label_map=MappingProxyType({})``) or a tuple; both come out as JSON.
    """
    skip = SUPPLIED.get(kind, frozenset()) if kind else frozenset()
    out = {}
    for name, p in inspect.signature(factory).parameters.items():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty and name not in skip:
            out[name] = json_value(p.default)
    return out


def bounds_of(spec) -> dict:
    """The ranges ``spec`` declares for its parameters (an empty dict when it declares none)."""
    return dict(getattr(spec, "bounds", None) or {})


def _kind(default) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (list, tuple)):
        return "list"
    if isinstance(default, Mapping):
        return "dict"
    return "any"


_NAMES = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "text",
          "dict": "a JSON object", "any": "a value"}


def expected_text(default, bound: Optional[Range]) -> str:
    """What a parameter takes, in words: ``"a whole number >= 1"``, ``"whole numbers >= 0, comma-separated"``."""
    kind = _kind(default)
    if kind == "list":
        inner = _kind(default[0]) if len(default) else "any"
        words = {"int": "whole numbers", "float": "numbers", "str": "names", "bool": "true/false values"}
        text = words.get(inner, "values")
        return f"{text} {bound}, comma-separated" if bound and str(bound) else f"{text}, comma-separated"
    text = _NAMES[kind]
    return f"{text} {bound}" if bound and str(bound) and kind in ("int", "float") else text


def _example(default, most: Optional[int] = 3) -> str:
    """``default`` as a user would type it (a list cut to its first ``most`` items)."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (list, tuple)):
        items = [_example(v) for v in default]
        return ",".join(items[:most]) if items else "(empty)"
    if isinstance(default, Mapping):
        import json

        return json.dumps(dict(default))
    return str(default)


class _Refused(Exception):
    """Internal: the value is not of the expected type (the caller phrases the message)."""


def _scalar(value, kind: str):
    """``value`` as ``kind``, or :class:`_Refused`; text is parsed (the command line gives text)."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise _Refused
    if kind == "int":
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Refused
    if kind == "float":
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Refused
        if isinstance(value, int):
            return float(value)  # weight=1 is weight=1.0: the same setting and the same cell
        if not math.isfinite(value):
            raise _Refused
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # the command line read "2020" as a number
        raise _Refused
    if kind == "dict":
        if isinstance(value, Mapping):
            return value
        raise _Refused
    return value


def coerce(what: str, name: str, value: Any, default: Any, bound: Optional[Range] = None, like: Any = None) -> Any:
    """``value`` checked against the type of ``like`` (an exemplar of the annotated type; by default
    ``default`` itself) and against ``bound``; the value a user meant
    (``"3"`` -> ``3``, ``1`` -> ``1.0`` for a float) or a :class:`SerBenchError` naming ``what``, the
    parameter, the value, the expected type and range, and an example.

    A bare value where a list is expected counts as a one-element list (``frozen=0`` means
    ``frozen=[0]``) and is kept as given, so a setting stored that way keeps its cell id.
    """
    like = default if like is None else like
    kind = _kind(like)
    if kind == "any":
        return value

    def refuse(problem: str):
        hint = f" ({bound.note})" if bound and bound.note else ""
        example = default if _kind(default) == kind else like
        raise SerBenchError(
            f"{what}: {name}={_show(value)} {problem}. {name} takes {expected_text(like, bound)}{hint}; "
            f"the default is {_example(default, None)}. Give e.g. {name}={_example(example)}.")

    if kind == "list":
        inner = _kind(like[0]) if len(like) else "any"
        items, bare = (list(value), False) if isinstance(value, (list, tuple)) else ([value], True)
        if bare and inner == "any":
            refuse("is not a list")
        if not items and bound is not None:
            refuse("is empty")
        out = []
        for item in items:
            try:
                checked = _scalar(item, inner) if not isinstance(item, (list, tuple, Mapping)) else _nested(item, inner)
            except _Refused:
                refuse(f"is not {_NAMES.get(inner, 'a value')}" if bare else
                       f"holds {_show(item)}, which is not {_NAMES.get(inner, 'a value')}")
            if bound is not None and inner in ("int", "float") and not bound.admits(checked):
                refuse("is out of range" if bare else f"holds {_show(item)}, out of range")
            out.append(checked)
        if bare:
            return out[0]
        return out if isinstance(value, list) else tuple(out)
    if isinstance(value, (list, tuple)):
        refuse(f"is a list; {name} takes a single value")
    try:
        checked = _scalar(value, kind)
    except _Refused:
        finite = kind == "float" and isinstance(value, float)
        refuse(f"is not {'a finite number' if finite else _NAMES[kind]}")
    if bound is not None and kind in ("int", "float") and not bound.admits(checked):
        refuse("is out of range")
    return checked


def _nested(item, inner):
    if inner in ("any", "list", "dict"):
        return item
    raise _Refused


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bound(name: str, bounds: dict, default) -> Optional[Range]:
    if name in bounds:
        return bounds[name]
    if (name == "weight" or name.endswith("_weight")) and _kind(default) in ("int", "float"):
        return WEIGHT
    return None


def _checked(what: str, given: dict, names, defaults: dict, open_ended: bool, unknown, bounds: dict,
             types_: dict | None = None) -> dict:
    """``given`` with names outside ``names`` refused (``unknown(name, hint)`` makes the message) unless
    ``open_ended``, and each value checked by :func:`coerce` against its annotated type (``types_``:
    :func:`annotated`) or else its default, and its bounds."""
    out = {}
    for name, value in dict(given).items():
        if name not in names and not open_ended:
            close = difflib.get_close_matches(name, sorted(names), n=2, cutoff=0.6)
            raise SerBenchError(unknown(name, f" Did you mean {' or '.join(map(repr, close))}?" if close else ""))
        like, optional = (types_ or {}).get(name, (defaults.get(name), False))
        if value is None and optional:
            pass
        elif name in defaults or name in (types_ or {}):
            default = defaults.get(name, like)
            value = coerce(what, name, value, default, _bound(name, bounds, like), like=like)
        out[name] = value
    return out


def check_params(what: str, spec, given: dict) -> dict:
    """A plugin's ``given`` parameters, checked against its factory's annotations, its defaults and its
    bounds; ``what`` names it in messages, e.g. ``"loss 'ratio_distance'"``."""
    names, defaults, open_ended = accepted(spec)
    return _checked(what, given, names, defaults, open_ended, lambda name, hint: (
        f"{what} has no parameter {name!r}.{hint} Its parameters: {', '.join(sorted(names)) or '(none)'}."),
        bounds_of(spec), annotated(factory_of(spec)))


def check_training(given: dict, defaults: dict, what: str = "training setting") -> dict:
    """Training settings, checked against the known ones (``defaults``) and :data:`TRAINING_BOUNDS`."""
    return _checked(what, given, defaults, defaults, False, lambda name, hint: (
        f"no training setting {name!r}.{hint} Settings: {', '.join(sorted(defaults))}."), TRAINING_BOUNDS)


def check_labels(labels, what: str = "labels") -> tuple:
    """The emotions a cell classifies, as a tuple: two or more distinct names of the common vocabulary
    (:data:`ser_bench.plugin_api.vocabulary.VOCABULARY`), or a :class:`SerBenchError` saying which is wrong and why."""
    from ser_bench.plugin_api.vocabulary import VOCABULARY

    labels = tuple(labels)
    example = "e.g. anger,happiness,sadness,fear (the default)"
    if not labels:
        raise SerBenchError(f"{what} is empty: give two or more emotions, comma-separated, {example}.")
    for label in labels:
        if label not in VOCABULARY:
            close = difflib.get_close_matches(str(label), VOCABULARY, n=2, cutoff=0.7)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise SerBenchError(f"{what}: {label!r} is not an emotion of the common vocabulary.{hint} "
                                f"The vocabulary: {', '.join(VOCABULARY)}.")
    repeated = sorted({label for label in labels if labels.count(label) > 1}, key=labels.index)
    if repeated:
        raise SerBenchError(f"{what} {','.join(labels)!r} names {', '.join(map(repr, repeated))} more than once; "
                            "name each emotion once (a repeated label would be scored as another class).")
    if len(labels) < 2:
        raise SerBenchError(f"{what} {','.join(labels)!r} names one emotion; telling emotions apart needs two "
                            f"or more, {example}.")
    return labels
