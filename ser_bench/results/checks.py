"""Value checks of result records: each field's JSON type read off its annotation, metrics in range
and finite, counts whole and non-negative, nesting bounded. :mod:`ser_bench.results.record` runs them
while it reads a file, so that an edited or corrupt value is a :class:`RecordError` naming the field
and the value, never a number a board averages in."""
from __future__ import annotations

import dataclasses

# How deep a result file may nest. Written ones nest 7 levels at most; a deeper one is not a result, and
# past ~1000 levels Python's JSON reader and writer (and any recursive reader) raise RecursionError.
MAX_DEPTH = 100


class RecordError(ValueError):
    """A payload that is not a result of a schema this ser-bench reads; the message names the field."""


class UnknownSchema(RecordError):
    """A result written by a newer ser-bench (or by something else entirely)."""


_ANNOTATIONS = {  # a field's annotation -> the JSON types it takes, and how a message says it
    "str": ((str,), "text"), "int": ((int,), "a whole number"), "float": ((float, int), "a number"),
    "bool": ((bool,), "true or false"), "dict": ((dict,), "an object"), "list": ((list,), "a list"),
    "tuple": ((list, tuple), "a list"),
}
_TYPES: dict = {}


def field_types(cls) -> dict:
    """Field name -> (accepted types, optional, description) of a record class, from its annotations."""
    found = _TYPES.get(cls)
    if found is None:
        found = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra" or f.metadata.get("private"):
                continue
            text = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
            optional = text.startswith("Optional[")
            inner = text.removeprefix("Optional[").removesuffix("]") if optional else text
            accepted, wanted = _ANNOTATIONS.get(inner, (None, ""))  # None: not checked
            found[f.name] = (accepted, optional, wanted + ((", or null" if " or " in wanted else " or null")
                                                           if optional else ""))
        _TYPES[cls] = found
    return found


def is_instance(value, accepted: tuple) -> bool:
    """``isinstance`` for JSON values, where true and false are not numbers."""
    return isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)


def at(where: str, key) -> str:
    return f"{where}.{key}" if where else str(key)


def show(value) -> str:
    """A value for a message: JSON's spelling of null, true and false, anything long cut short."""
    text = ("null" if value is None else "true" if value is True else "false" if value is False else repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def is_number(value) -> bool:
    return type(value) in (float, int) or (isinstance(value, (int, float)) and not isinstance(value, bool))


# The checks below run for every split of every file a board reads (tens of thousands): each takes the
# common case (a well-formed value) first and builds a message only for a value that fails.

# How far past a bound a computed metric may lie by floating-point rounding (a mean of recalls of 1, a
# CCC of a perfect prediction) and still be read: far below anything a board shows (0.1 points).
ROUNDING = 1e-9


def check_number(value, at: str, low: float, high: float, undefined_ok: bool = False) -> None:
    """``value`` must be a number in [low, high] (NaN only with ``undefined_ok``)."""
    if not is_number(value):
        raise RecordError(f"{at} is {show(value)}: expected a number in [{low:g}, {high:g}]")
    if not low - ROUNDING <= value <= high + ROUNDING:
        if value != value:  # NaN
            if undefined_ok:
                return
            raise RecordError(f"{at} is NaN: expected a number in [{low:g}, {high:g}] (a NaN split would be "
                              "averaged away)")
        raise RecordError(f"{at} is {show(value)}, outside [{low:g}, {high:g}]")


def check_fractions(values: dict, where: str, keys=None) -> None:
    """Each value of ``values`` (those of ``keys`` only, when given) a number in [0, 1]."""
    for key in values if keys is None else keys:
        value = values[key]
        if not ((type(value) is float or type(value) is int) and 0.0 <= value <= 1.0):
            check_number(value, at(where, key), 0.0, 1.0)  # raises unless it is 1 + rounding


def check_counts(values: dict, where: str, keys=None, optional: bool = False) -> None:
    """Each value of ``values`` (those of ``keys`` only, when given) a whole number >= 0 (or null when
    ``optional``)."""
    for key in values if keys is None else keys:
        value = values.get(key)
        if not ((type(value) is int and value >= 0) or (value is None and optional)):
            if not (is_instance(value, (int,)) and value >= 0):
                raise RecordError(f"{at(where, key)} is {show(value)}: expected a whole number >= 0")


_CONTAINERS = frozenset((dict, list))


def too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON ``value`` nests more than ``limit`` levels of lists and objects (without recursion;
    a list or object holding no list or object is passed over at C speed)."""
    if type(value) not in _CONTAINERS or _CONTAINERS.isdisjoint(map(type, value.values() if type(value) is dict
                                                                     else value)):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        items = item.values() if type(item) is dict else item
        if _CONTAINERS.isdisjoint(map(type, items)):
            continue
        if depth >= limit:  # a list or object inside it is one level deeper than allowed
            return True
        stack.extend((v, depth + 1) for v in items if type(v) in _CONTAINERS)
    return False


def check_shallow(values: dict, where: str, limit: int, keys=None) -> None:
    """No value of ``values`` (of those of ``keys``, when given) nests more than ``limit`` levels."""
    for key in values if keys is None else keys:
        value = values.get(key)
        if type(value) in _CONTAINERS and too_deep(value, limit):
            raise RecordError(f"{at(where, key)} is nested too deeply (over {MAX_DEPTH} levels)")


def check_confusion(confusion, where: str) -> None:
    """A square matrix of whole counts >= 0 (rows: true classes)."""
    if type(confusion) is not list:
        raise RecordError(f"{where} is {show(confusion)}: expected a square matrix of counts")
    n = len(confusion)
    for i, row in enumerate(confusion):
        if type(row) is not list or len(row) != n:
            raise RecordError(f"{where}[{i}] is {show(row)}: expected a row of {n} counts")
        if not ({int}.issuperset(map(type, row)) and (not row or min(row) >= 0)):
            check_counts(dict(enumerate(row)), f"{where}[{i}]")


def check_speakers(speakers, where: str, classes: int | None) -> None:
    """A split's per-speaker record: ``{speaker: {"confusion": k x k counts, "sex": text (optional)}}``, every
    matrix as large as the split's own (``classes``, when it has one)."""
    if type(speakers) is not dict:
        raise RecordError(f"{where} is {show(speakers)}: expected an object of speakers")
    for speaker, found in speakers.items():
        place = f"{where}.{speaker}"
        if type(found) is not dict or "confusion" not in found:
            raise RecordError(f"{place} is {show(found)}: expected an object with the speaker's confusion matrix")
        check_confusion(found["confusion"], f"{place}.confusion")
        if classes is not None and len(found["confusion"]) != classes:
            raise RecordError(f"{place}.confusion has {len(found['confusion'])} rows: the split's matrix has {classes}")
        sex = found.get("sex")
        if sex is not None and type(sex) is not str:
            raise RecordError(f"{place}.sex is {show(sex)}: expected text or null")


# The ranges of the measurements a split's metrics hold beside UAR (``Metrics.extra``); None is how a run
# records one that is undefined there (a single class, a single speaker).
MEASURE_RANGES = {
    "retrieval": {"precision_at_1": (0.0, 1.0), "r_precision": (0.0, 1.0), "map_at_r": (0.0, 1.0),
                  "nmi": (0.0, 1.0), "ami": (-1.0, 1.0)},
    "calibration": {"ece": (0.0, 1.0), "brier": (0.0, 2.0), "nll": (0.0, float("inf"))},
}
PROBE_RANGES = {"balanced_accuracy": (0.0, 1.0), "chance": (0.0, 1.0), "above_chance": (-1.0, 1.0)}


def check_measures(extra: dict, where: str) -> None:
    """The embedding, invariance and calibration measurements of ``extra`` in range (or null)."""
    for part, ranges in MEASURE_RANGES.items():
        found = extra.get(part)
        if found is None:
            continue
        if type(found) is not dict:
            raise RecordError(f"{at(where, part)} is {show(found)}: expected an object")
        for key, (low, high) in ranges.items():
            if found.get(key) is not None:
                check_number(found[key], f"{at(where, part)}.{key}", low, high)
    probes = extra.get("invariance")
    if probes is not None:
        if type(probes) is not dict:
            raise RecordError(f"{at(where, 'invariance')} is {show(probes)}: expected an object")
        for name, probe in probes.items():
            if type(probe) is not dict:
                raise RecordError(f"{at(where, 'invariance')}.{name} is {show(probe)}: expected an object")
            for key, (low, high) in PROBE_RANGES.items():
                if probe.get(key) is not None:
                    check_number(probe[key], f"{at(where, 'invariance')}.{name}.{key}", low, high)
