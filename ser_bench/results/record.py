"""The typed record of one cell's result: :class:`Result`, its :class:`CellParams`, one
:class:`SplitResult` per split with its :class:`Metrics`, and the :class:`DataRecord` of each corpus.

Dataclasses rather than pydantic: the records are plain values with a handful of invariants, which
:func:`Result.from_json` checks with messages that name the field; a leaderboard imports this module
on every call, and stdlib dataclasses cost nothing to import (pydantic would be a new dependency and
a fifth of a second at start-up).

A file is read by :meth:`Result.from_json` whatever schema version this ser-bench knows
(:data:`KNOWN_SCHEMAS`), migrating older layouts on the way in (:data:`MIGRATIONS`); it is always
written in the current one. Reading checks what a board would otherwise average in or crash on: each
field's type (from its annotation), metrics in range and finite (UAR, accuracy, macro-F1 and per-class
recall in [0, 1]; CCC and Spearman's rho in [-1, 1], or NaN where a run records them undefined), counts
whole and non-negative, and nesting no deeper than :data:`MAX_DEPTH`; a value that fails is a
:class:`RecordError` naming the field and the value, so an edited or corrupt file is left out by name
(:func:`ser_bench.results.store.read_result`), never averaged in. Keys this version does not know are
kept in ``extra`` and written back, so reading and writing a file never loses anything.
``Result.from_json(d).to_json() == d`` for every file of the current schema.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ser_bench.cache_store import write_json_atomic
from ser_bench.results.checks import (MAX_DEPTH, RecordError, UnknownSchema, at, check_confusion, check_counts,
                                      check_fractions, check_measures, check_number, check_shallow, check_speakers,
                                      field_types, is_instance, show)
from ser_bench.results.migration import MIGRATIONS

# 2: per-split loss state, support counts and episode hashes; loss state never crosses a split.
# 3: per-split ``speakers`` (each test speaker's confusion matrix and sex), and the embedding, calibration
#    and invariance measurements in the metrics' ``extra``.
SCHEMA_VERSION = 3
KNOWN_SCHEMAS = frozenset(range(1, SCHEMA_VERSION + 1))  # what this version can read
STATUSES = ("ok", "skipped")
SCORINGS = ("per-split", "pooled")  # each split's UAR averaged over the board's unit, or one UAR over all folds
def _omit_none():
    """A field left out of the file when it is ``None`` (absent in the files that predate it, or absent
    by design, such as a cell's ``tuning``, which would otherwise change every cell id)."""
    return {"omit_none": True}


class _Record:
    """JSON conversion shared by the records: known fields by name, nested records by their type,
    everything else kept in ``extra``."""

    NESTED: dict = {}  # field name -> (record class, "one" | "list" | "dict")
    REQUIRED: tuple = ()

    @classmethod
    def from_json(cls, payload: dict, where: str = ""):
        if not isinstance(payload, dict):
            raise RecordError(f"{where or cls.__name__} is a JSON {type(payload).__name__}, expected an object")
        missing = [k for k in cls.REQUIRED if k not in payload]
        if missing:
            raise RecordError(f"{where or cls.__name__} lacks {', '.join(map(repr, missing))}")
        types = field_types(cls)
        values = {}
        for key in [k for k in payload if k in types]:  # in the file's order: the first bad field is named
            value = payload[key]
            accepted, optional, wanted = types[key]
            if value is None and not optional:
                raise RecordError(f"{at(where, key)} is null: expected {wanted or 'an object'}")
            if accepted is not None and value is not None and key not in cls.NESTED \
                    and not (type(value) in accepted or is_instance(value, accepted)):
                raise RecordError(f"{at(where, key)} is {show(value)}: expected {wanted}")
            if key in cls.NESTED and value is not None:
                kind, shape = cls.NESTED[key]
                inner = f"{where}.{key}" if where else key
                if shape == "list":
                    if not isinstance(value, list):
                        raise RecordError(f"{inner} is not a list")
                    value = tuple(kind.from_json(v, f"{inner}[{i}]") for i, v in enumerate(value))
                elif shape == "dict":
                    if not isinstance(value, dict):
                        raise RecordError(f"{inner} is not an object")
                    value = {k: kind.from_json(v, f"{inner}.{k}") for k, v in value.items()}
                else:
                    value = kind.from_json(value, inner)
            values[key] = value
        extra = {k: v for k, v in payload.items() if k not in types}
        cls._check(values, extra, where)
        return cls(**values, extra=extra)

    @classmethod
    def _check(cls, values: dict, extra: dict, where: str) -> None:
        """What a field's type does not say (ranges, the items of a list); raises :class:`RecordError`."""

    def to_json(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            if f.name == "extra" or f.metadata.get("private"):
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = _plain(value)
        out.update(self.extra)
        return out


def _plain(value):
    if isinstance(value, _Record):
        return value.to_json()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Metrics(_Record):
    """Per-split metrics: UAR (the primary one), accuracy, macro-F1; per-class recall and the confusion
    matrix (rows: true classes) when recorded; other metrics (continuous ones) in ``extra``."""

    uar: float
    accuracy: float
    macro_f1: float
    recall: Optional[dict] = field(default=None, metadata=_omit_none())
    confusion: Optional[list] = field(default=None, metadata=_omit_none())
    extra: dict = field(default_factory=dict)

    REQUIRED = ("uar", "accuracy", "macro_f1")
    FRACTIONS = ("uar", "accuracy", "macro_f1")

    @classmethod
    def _check(cls, values: dict, extra: dict, where: str) -> None:
        check_fractions(values, where, cls.FRACTIONS)
        if values.get("recall"):
            check_fractions(values["recall"], at(where, "recall"))
        confusion = values.get("confusion")
        if confusion is not None:
            check_confusion(confusion, at(where, "confusion"))
        # CCC and Spearman's rho per continuous target; NaN is how a run records a correlation that is
        # undefined (a constant prediction), not damage: the board's continuous section leaves it out.
        continuous = extra.get("continuous")
        if continuous is not None:
            place = at(where, "continuous")
            if type(continuous) is not dict:
                raise RecordError(f"{place} is {show(continuous)}: expected an object")
            for target, found in continuous.items():
                if type(found) is not dict:
                    raise RecordError(f"{place}.{target} is {show(found)}: expected an object")
                for name, value in found.items():
                    check_number(value, f"{place}.{target}.{name}", -1.0, 1.0, undefined_ok=True)
        if extra:
            check_measures(extra, where)
            check_shallow(extra, where, MAX_DEPTH - 4, [k for k in extra if k != "continuous"])


@dataclass(frozen=True)
class SplitResult(_Record):
    """One split of a cell: its name and identity (``hash``; ``episode_hash`` equal for methods scored on
    the same target draw and test set), protocol details in ``info`` (``k``, ``repeat``, ``frozen``,
    ``test_speaker``), sizes, the leakage checks' findings and the :class:`Metrics`."""

    name: str
    metrics: Metrics
    info: dict = field(default_factory=dict)
    hash: Optional[str] = field(default=None, metadata=_omit_none())
    episode_hash: Optional[str] = field(default=None, metadata=_omit_none())
    frozen_layers: Optional[int] = field(default=None, metadata=_omit_none())
    sizes: Optional[dict] = field(default=None, metadata=_omit_none())
    support_counts: Optional[dict] = field(default=None, metadata=_omit_none())
    support_balanced: Optional[bool] = field(default=None, metadata=_omit_none())
    loss_state: Optional[str] = field(default=None, metadata=_omit_none())
    speaker_overlap: Optional[list] = field(default=None, metadata=_omit_none())
    sentence_overlap: Optional[list] = field(default=None, metadata=_omit_none())
    # None: not recorded (files older than the field); then read off the confusion matrix.
    missing_test_classes: Optional[list] = field(default=None, metadata=_omit_none())
    # {speaker: {"confusion": rows of true classes, "sex": "female" | "male" | ...}}: the test set by speaker,
    # from which boards compute pooled scores over folds and UAR by sex. None: not recorded.
    speakers: Optional[dict] = field(default=None, metadata=_omit_none())
    extra: dict = field(default_factory=dict)

    NESTED = {"metrics": (Metrics, "one")}
    REQUIRED = ("name", "metrics")
    INFO_COUNTS = ("k", "frozen", "repeat")  # protocol details the boards read as whole numbers
    LISTS = ("speaker_overlap", "sentence_overlap", "missing_test_classes")

    @classmethod
    def _check(cls, values: dict, extra: dict, where: str) -> None:
        info = values.get("info")
        if info:
            check_counts(info, at(where, "info"), cls.INFO_COUNTS, optional=True)
            check_shallow(info, at(where, "info"), MAX_DEPTH - 4)
        check_counts(values, where, ("frozen_layers",), optional=True)
        if values.get("sizes"):
            check_counts(values["sizes"], at(where, "sizes"), optional=True)
        if values.get("support_counts"):
            check_counts(values["support_counts"], at(where, "support_counts"))
        check_shallow(values, where, MAX_DEPTH - 3, cls.LISTS)
        if values.get("speakers") is not None:
            confusion = values["metrics"].confusion
            check_speakers(values["speakers"], at(where, "speakers"), len(confusion) if confusion else None)
        if extra:
            check_shallow(extra, where, MAX_DEPTH - 3)

    @property
    def uar(self) -> float:
        return self.metrics.uar


@dataclass(frozen=True)
class CellParams(_Record):
    """Every setting of a cell, as resolved by the runner.

    The one declaration of a cell's settings: their names, types and the order a result file's ``params``
    holds them in. :class:`ser_bench.running.cells.Cell` is built on these fields (with a cell's own
    defaults), and :meth:`~ser_bench.running.cells.Cell.params` gives its record. A default here is what a
    file without the setting meant (``None``: absent, and left out when written)."""

    protocol: str
    loss: str
    target: str
    seed: int
    source: Optional[str] = None
    encoder: str = ""
    feature: str = ""
    labels: tuple = ()
    pretrain_loss: Optional[str] = field(default=None, metadata=_omit_none())
    head: Optional[str] = field(default=None, metadata=_omit_none())
    decision: str = "mean"
    normalise: str = "train"
    protocol_params: dict = field(default_factory=dict)
    loss_params: dict = field(default_factory=dict)
    pretrain_loss_params: Optional[dict] = field(default=None, metadata=_omit_none())
    encoder_params: Optional[dict] = field(default=None, metadata=_omit_none())
    head_params: Optional[dict] = field(default=None, metadata=_omit_none())
    training: dict = field(default_factory=dict)
    dataset_params: Optional[dict] = field(default=None, metadata=_omit_none())
    skip_reason: Optional[str] = field(default=None, metadata=_omit_none())
    tuning: Optional[dict] = field(default=None, metadata=_omit_none())
    # The feature's parameters as resolved for the cell (an ssl model's id, revision, hash, layers,
    # pooling, dtype and device); absent for features that take none.
    feature_params: Optional[dict] = field(default=None, metadata=_omit_none())
    # The user's renamings of the labels of the base corpora the cell reads ({corpus: {from: to}}).
    label_maps: Optional[dict] = field(default=None, metadata=_omit_none())
    extra: dict = field(default_factory=dict)

    REQUIRED = ("protocol", "loss", "target", "seed", "labels", "encoder", "feature", "decision", "normalise",
                "protocol_params", "training")

    @classmethod
    def _check(cls, values: dict, extra: dict, where: str) -> None:
        for i, label in enumerate(values.get("labels") or ()):
            if type(label) is not str:
                raise RecordError(f"{at(where, 'labels')}[{i}] is {show(label)}: expected the name of an emotion")
        check_shallow(values, where, MAX_DEPTH - 2)
        check_shallow(extra, where, MAX_DEPTH - 2)

    @classmethod
    def from_json(cls, payload: dict, where: str = ""):
        params = super().from_json(payload, where)
        return dataclasses.replace(params, labels=tuple(params.labels))

    def get(self, key: str, default=None):
        """A setting by name (a field or one kept in ``extra``), ``default`` when absent or ``None``."""
        value = getattr(self, key) if key in _FIELD_NAMES[type(self)] else self.extra.get(key)
        return default if value is None else value

    @property
    def trials(self) -> int:
        """The tuning budget the cell was run with (0: default settings)."""
        return int((self.tuning or {}).get("trials", 0))


@dataclass(frozen=True)
class DataRecord(_Record):
    """The corpus a role (source or target) was computed on: what the runner compares to decide whether a
    stored result still holds (manifest hash, clips used, skipped files), and its domain expression."""

    dataset: str
    manifest_hash: Optional[str] = None
    clips_used: Optional[int] = None
    clips_in_corpus: Optional[int] = field(default=None, metadata=_omit_none())
    speakers: Optional[int] = field(default=None, metadata=_omit_none())
    skipped_files: list = field(default_factory=list)
    label_map: Optional[dict] = field(default=None, metadata=_omit_none())
    dimensions: Optional[str] = field(default=None, metadata=_omit_none())
    domain: Optional[dict] = field(default=None, metadata=_omit_none())
    extra: dict = field(default_factory=dict)

    REQUIRED = ("dataset",)

    @classmethod
    def _check(cls, values: dict, extra: dict, where: str) -> None:
        check_counts(values, where, ("clips_used", "clips_in_corpus", "speakers"), optional=True)
        check_shallow(values, where, MAX_DEPTH - 3)
        check_shallow(extra, where, MAX_DEPTH - 3)


# What a result of the 0.1 schemas (which recorded no board layout) means: the layouts the built-in
# protocols declared when 0.2 began recording them. A protocol unknown then gets the default layout.
DEFAULT_LAYOUT = {"order": 1, "breakdown": [], "unit": "folds", "split_noun": "split"}
LAYOUTS_BEFORE_0_2 = {
    "oodt": {**DEFAULT_LAYOUT, "order": 0},
    "fewshot": {**DEFAULT_LAYOUT, "order": 1, "breakdown": ["k", "frozen"], "split_noun": "episode"},
    "idt": {**DEFAULT_LAYOUT, "order": 2, "unit": "held-out speakers"},
}


def _check_board(board) -> None:
    """A recorded board layout has the shape reporting reads (see :data:`DEFAULT_LAYOUT`)."""
    if not isinstance(board, dict):
        raise RecordError(f"board is {show(board)}, not an object")
    shapes = {"order": (int, "a whole number"), "breakdown": (list, "a list of split settings"),
              "unit": (str, "a text"), "split_noun": (str, "a text")}
    for key, (kind, what) in shapes.items():
        value = board.get(key)
        if type(value) is not kind or (key == "breakdown" and not all(isinstance(v, str) for v in value)):
            raise RecordError(f"board.{key} is {show(value)}, not {what}")


@dataclass(frozen=True)
class Result(_Record):
    """The result of one cell: ``status`` ``ok`` (with its splits) or ``skipped`` (with the ``reason``).

    ``path`` is where the record was read from (never written). Build one in code with the constructor;
    read one with :meth:`from_json` or :meth:`from_disk`; write with :meth:`to_json` or :meth:`to_disk`.
    """

    cell_id: str
    status: str
    params: CellParams
    splits: tuple = ()
    schema_version: int = SCHEMA_VERSION
    created: Optional[str] = field(default=None, metadata=_omit_none())
    reason: Optional[str] = field(default=None, metadata=_omit_none())
    summary: Optional[dict] = field(default=None, metadata=_omit_none())
    timings: Optional[dict] = field(default=None, metadata=_omit_none())
    tuning: Optional[dict] = field(default=None, metadata=_omit_none())
    params_as_run: Optional[dict] = field(default=None, metadata=_omit_none())
    data: Optional[dict] = field(default=None, metadata=_omit_none())
    provenance: Optional[dict] = field(default=None, metadata=_omit_none())
    board: Optional[dict] = field(default=None, metadata=_omit_none())  # the protocol's BoardLayout, recorded
    # How boards score the cell: {"rule": "per-split" | "pooled", "why": ...}; None (older files): per-split.
    scoring: Optional[dict] = field(default=None, metadata=_omit_none())
    extra: dict = field(default_factory=dict)
    path: Optional[str] = field(default=None, compare=False, metadata={"private": True})
    # The schema version of the file it was read from, before migration (None: built in code).
    written_with: Optional[int] = field(default=None, compare=False, metadata={"private": True})

    NESTED = {"params": (CellParams, "one"), "splits": (SplitResult, "list"), "data": (DataRecord, "dict")}
    REQUIRED = ("schema_version", "cell_id", "status", "params")

    def __post_init__(self):
        if self.status not in STATUSES:
            raise RecordError(f"unknown status {self.status!r} (expected {' or '.join(STATUSES)})")
        if self.status == "ok" and not self.splits:
            raise RecordError("a result with status 'ok' has no splits")
        if self.board is not None:
            _check_board(self.board)
        if self.scoring is not None and (not isinstance(self.scoring, dict) or self.scoring.get("rule") not in SCORINGS):
            raise RecordError(f"scoring is {show(self.scoring)}: expected an object whose rule is "
                              f"{' or '.join(SCORINGS)}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def pooled(self) -> bool:
        """Whether boards score this cell pooled over its folds (see :mod:`ser_bench.reporting.pooled`)."""
        return bool(self.scoring) and self.scoring.get("rule") == "pooled"

    @property
    def layout(self) -> dict:
        """How boards show this result: its protocol's board layout (``order``, ``breakdown``, ``unit``,
        ``split_noun``; see :class:`ser_bench.plugin_api.types.BoardLayout`) as the result records it, or,
        for a result written before results recorded it, what its protocol declared then."""
        return self.board or LAYOUTS_BEFORE_0_2.get(self.params.protocol, DEFAULT_LAYOUT)

    @classmethod
    def from_json(cls, payload: dict, where: str = "") -> "Result":
        """Read a result of any schema in :data:`KNOWN_SCHEMAS`, migrated to the current one.

        Raises :class:`UnknownSchema` for a version this ser-bench does not know and :class:`RecordError`
        (naming the field) for anything else that is not a result.
        """
        if not isinstance(payload, dict):
            raise RecordError(f"not a result (a JSON {type(payload).__name__}, expected an object)")
        version = payload.get("schema_version")
        if "schema_version" in payload:
            if type(version) is not int:  # "two", 2.5, true, null: damage, not a newer ser-bench
                raise RecordError(f"schema_version is {show(version)}, not a schema version (a whole number): "
                                  "the file is damaged or not a result")
            if version > SCHEMA_VERSION:
                raise UnknownSchema(f"schema version {version!r}, which this ser-bench (schema {SCHEMA_VERSION}) "
                                    "does not know; upgrade ser-bench to read it")
            if version not in KNOWN_SCHEMAS:
                raise RecordError(f"schema_version is {version}, which no ser-bench writes (versions start at "
                                  f"{min(KNOWN_SCHEMAS)}): the file is damaged or not a result")
        # the free-form parts (the records check their own)
        check_shallow({k: v for k, v in payload.items() if k not in ("params", "splits", "data")}, "", MAX_DEPTH - 1)
        for old in range(version if isinstance(version, int) else SCHEMA_VERSION, SCHEMA_VERSION):
            payload = MIGRATIONS[old](payload)
        try:
            result = super().from_json(payload, where)
        except (TypeError, AttributeError) as exc:  # a field of the wrong shape (a string for an object)
            raise RecordError(f"a field has the wrong shape ({exc})") from None
        return dataclasses.replace(result, written_with=version)

    @classmethod
    def from_disk(cls, path) -> "Result":
        """The result in the file ``path`` (see :meth:`from_json`); ``path`` is kept on the record."""
        return dataclasses.replace(cls.from_json(load_json(Path(path).read_text())), path=str(path))

    def to_disk(self, path) -> None:
        """Write the record to ``path`` atomically (see :func:`ser_bench.cache_store.write_json_atomic`)."""
        write_json_atomic(Path(path), self.to_json())


_FIELD_NAMES = {cls: {f.name for f in dataclasses.fields(cls)} for cls in (CellParams,)}


def load_json(text: str):
    """``json.loads``, with a file nested too deeply for Python's reader (``[[[[...``) a :class:`RecordError`
    rather than a RecursionError; NaN and infinities are read as written (the records refuse them where
    they do not belong)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise RecordError(f"nested too deeply to be a result (over {MAX_DEPTH} levels)") from None




def make_split(name: str, uar: float, **fields: Any) -> SplitResult:
    """A split whose accuracy and macro-F1 equal its UAR unless given (``metrics=`` overrides all three):
    a short way to build records in tests and scripts."""
    metrics = fields.pop("metrics", None) or Metrics(uar=uar, accuracy=fields.pop("accuracy", uar),
                                                     macro_f1=fields.pop("macro_f1", uar))
    return SplitResult(name=name, metrics=metrics, **fields)
