"""A cell of the grid: one (protocol, loss, encoder, feature, source, target, seed) with every parameter resolved."""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import partial
from typing import Any

from ser_bench.errors import SerBenchError
from ser_bench.model.training import DEFAULT_TRAINING
from ser_bench.results.record import CellParams

DEFAULT_LABELS = ("anger", "happiness", "sadness", "fear")


# A cell's defaults: what a setting is when a grid does not give it. Names, types and everything else
# are CellParams's (ser_bench.results.record: one declaration); a setting not named here has the
# record's default.
CELL_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "encoder": "auto",
    "feature": "auto",  # the registry's default feature (FeatureSpec.default)
    "labels": DEFAULT_LABELS,
    "pretrain_loss": "auto",
    "head": "auto",
    "pretrain_loss_params": {},
    "encoder_params": {},
    "training": DEFAULT_TRAINING,
    "dataset_params": {},  # dataset name -> params
    "skip_reason": "",  # set when the combination cannot run; the result records it
    "head_params": {},  # over the head's defaults (e.g. a tuned C)
    "tuning": {},  # {"trials", "validation_speakers", "space", ...}; {}: not tuned
    "feature_params": {},  # resolved by the feature plugin; {}: it takes none
    "label_maps": {},  # base corpus -> {its emotion: the name it takes}; the user's
}
# Where a cell's fields stand apart from a record's order ({field: the field it follows}): the order a
# Cell has always had, which its positional arguments and the key order of ``params_as_run`` keep.
CELL_ORDER = {"seed": "feature", "head_params": "skip_reason"}


def _settings_of(record, defaults: dict, moves: dict):
    """A class decorator: the class as a frozen dataclass whose fields are ``record``'s (but ``extra``), in
    its order but for ``moves``, each with its default in ``defaults`` or else the record's. A mutable
    default is copied for each instance; ``Optional[X]`` is ``X`` where the default is not ``None``."""
    declared = {f.name: f for f in fields(record) if f.name != "extra"}
    order = list(declared)
    for name, after in moves.items():
        order.remove(name)
        order.insert(order.index(after) + 1, name)

    def build(cls):
        annotations = {}
        for name in order:
            f, kind = declared[name], declared[name].type
            if name in defaults:
                value = defaults[name]
            elif f.default is not MISSING:
                value = f.default
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            else:  # required
                annotations[name] = kind
                continue
            if value is not None and isinstance(kind, str) and kind.startswith("Optional["):
                kind = kind[len("Optional["):-1]
            annotations[name] = kind
            setattr(cls, name, field(default_factory=partial(copy.copy, value)) if isinstance(value, (dict, list))
                    else value)
        cls.__annotations__ = annotations
        return dataclass(frozen=True)(cls)

    return build


@_settings_of(CellParams, CELL_DEFAULTS, CELL_ORDER)
class Cell:
    """Everything that determines a result. :meth:`cell_id` is stable for equal settings.

    Its fields are :class:`~ser_bench.results.record.CellParams`'s (``protocol``, ``loss``, ``target``,
    ``source``, ``encoder``, ``feature``, ``seed``, ``labels``, ...), with the defaults in
    :data:`CELL_DEFAULTS`."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the ``params`` of a result file).

        Settings added after 0.2 (``head_params``, ``tuning``, ``feature_params``, ``label_maps``) appear
        only when set, so the cell ids of results computed before them are unchanged."""
        d = asdict(self)
        d["labels"] = list(self.labels)
        for late in ("head_params", "tuning", "feature_params", "label_maps"):
            if not d[late]:
                del d[late]
        return d

    def params(self) -> CellParams:
        """The record of the cell's settings, as a result file holds them (its ``params``)."""
        return CellParams(**{**self.as_dict(), "labels": tuple(self.labels)})

    def cell_id(self) -> str:
        """``protocol__loss__source__target__seedN__<hash>``: readable and unique."""
        digest = hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]
        parts = [self.protocol, self.loss, self.source or "none", self.target, f"seed{self.seed}", digest]
        return "__".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", p) for p in parts)


def feature_variants(feature: str, given: dict, registry) -> list[dict]:
    """The feature parameters of the cells that ``--feature-param`` settings ``given`` make for ``feature``:
    one set, or one per variant the feature names (``layers=all``: one per layer). Each is checked
    against the feature's parameters; an unknown or mistyped one is an error here."""
    from ser_bench.plugin_api.params import check_params

    spec = registry.get("features", feature)
    given = check_params(f"feature {feature!r}", spec, given or {})
    if spec.variants is None:
        return [given]
    return list(spec.variants(**{**dict(spec.params), **given}))


def resolve_feature(cell: Cell, registry) -> dict:
    """The cell's feature parameters over the feature's defaults, as the feature resolves them on this
    machine (``FeatureSpec.resolve``: a model's revision and hash, ``auto`` choices); ``{}`` for a feature
    that takes none, so that the ids of cells without feature parameters never change."""
    from ser_bench.plugin_api.params import check_params

    spec = registry.get("features", cell.feature)
    given = check_params(f"feature {cell.feature!r}", spec, cell.feature_params) if cell.feature_params else {}
    params = {**dict(spec.params), **given}
    if spec.resolve is not None:
        params = spec.resolve(**params)
    return params


def resolve(cell: Cell, registry) -> Cell:
    """The cell with every plugin's default parameters filled in (explicit settings win), ``auto``
    choices made, and ``skip_reason`` set when the combination cannot run.

    ``feature="auto"``: the registry's default feature (``is09-64``).
    ``encoder="auto"``: the loss's ``default_encoder``, else the registry's default encoder (the paper's
    Siamese MLP); the resolved name is what the cell records, so the cell id does not depend on how it was
    chosen. ``pretrain_loss="auto"``: the loss's ``pretrain_loss`` (the ratio distance loss names the
    paper's pair BCE), else the loss itself.
    ``head="auto"``: the loss's default head (the log-sum rule for pair losses). A head that does not
    fit the loss and encoder (see :func:`ser_bench.model.heads.incompatibility`) sets ``skip_reason``.

    Everything a user can get wrong is refused here, before any corpus is loaded, with a
    :class:`SerBenchError` saying what and how to fix it: unknown names, parameters of the wrong type or
    out of range (:mod:`ser_bench.plugin_api.params`), a label set that is empty, repeats a label, holds fewer
    than two or a name outside the vocabulary, and a ``:variant`` on a plugin that takes none.
    """
    from dataclasses import replace

    from ser_bench.model.heads import incompatibility
    from ser_bench.plugin_api.params import accepted, check_labels, check_params, check_training
    from ser_bench.plugin_api.registry import SINGULAR, base_name, variant

    def no_variant(kind, name, spec):
        """``name:variant`` only for a plugin that takes a ``variant`` (``pml:CircleLoss``); for any
        other the text after ':' would be silently dropped (``knn:x`` ran as ``knn``)."""
        if variant(name) is not None and "variant" not in accepted(spec)[0]:
            raise SerBenchError(f"{SINGULAR[kind]} {name!r}: {base_name(name)!r} takes no variant; drop "
                                f"':{variant(name)}' (only plugins with a 'variant' parameter, e.g. pml:CircleLoss, "
                                "take one).")

    def merged(kind, name, given):
        spec = registry.get(kind, name)
        no_variant(kind, name, spec)
        params = {**dict(spec.params), **check_params(f"{SINGULAR[kind]} {name!r}", spec, given)}
        if variant(name) is not None:
            params["variant"] = variant(name)
        return params

    if cell.feature == "auto":
        cell = replace(cell, feature=registry.default("features").name)
    check_labels(cell.labels)

    loss = registry.get("losses", cell.loss)
    encoder_name = (loss.default_encoder or registry.default("encoders").name) if cell.encoder == "auto" \
        else cell.encoder
    encoder = registry.get("encoders", encoder_name)
    pretrain = cell.pretrain_loss
    if pretrain == "auto":
        pretrain = loss.pretrain_loss or cell.loss
    feature_params = resolve_feature(cell, registry)
    head = loss.default_head if cell.head == "auto" else cell.head
    pretrain_spec = registry.get("losses", pretrain)
    head_spec = registry.get("heads", head)
    no_variant("heads", head, head_spec)
    head_params = check_params(f"head {head!r}", head_spec, cell.head_params) if cell.head_params else {}
    reason = incompatibility(head_spec, loss, encoder)
    if not reason and encoder.kind not in pretrain_spec.encoder_kinds:
        reason = f"pre-training loss {pretrain!r} cannot train the {encoder.kind} encoder {encoder.name!r}"

    datasets = {}
    corpora = corpora_of(cell)
    for name in corpora:
        datasets[name] = merged("datasets", name, dataset_params_given(cell.dataset_params, name))
    label_maps = _label_maps(cell.label_maps, corpora)
    protocol_spec = registry.get("protocols", cell.protocol)
    protocol_params = dict(cell.protocol_params)
    if not loss.trains:
        protocol_params = _pinned(protocol_params, protocol_spec.training_only)
    tuning = {}
    if cell.tuning:
        from ser_bench.running.tuning import resolve_tuning

        tuning = resolve_tuning(cell.tuning, registry, protocol=cell.protocol, loss=cell.loss,
                                encoder=encoder_name, head=head)
    return replace(
        cell,
        protocol_params=merged("protocols", cell.protocol, protocol_params),
        loss_params=merged("losses", cell.loss, cell.loss_params),
        pretrain_loss=pretrain, head=head, skip_reason=reason or "",
        pretrain_loss_params=merged("losses", pretrain, cell.pretrain_loss_params),
        encoder=encoder_name, encoder_params=merged("encoders", encoder_name,
                                                    _shared(registry, cell.feature, feature_params, encoder,
                                                            cell.encoder_params)),
        training={**DEFAULT_TRAINING, **check_training(cell.training, DEFAULT_TRAINING)},
        dataset_params=datasets,
        labels=tuple(cell.labels),
        head_params=head_params, tuning=tuning, feature_params=feature_params, label_maps=label_maps,
    )


def corpora_of(cell: Cell) -> list[str]:
    """The corpora a cell reads, by the names their parameters are kept under: its source and target,
    or for a union (``emodb|turev``) each of its parts."""
    from ser_bench.data.domains import union_parts

    out = []
    for name in (cell.source, cell.target):
        for part in (union_parts(name) or (name,)) if name else ():
            if part not in out:
                out.append(part)
    return out


def dataset_params_given(given: dict, name: str) -> dict:
    """The ``--dataset-param`` settings of the corpus ``name``: its own, else those of the corpus it is a
    view of (``ravdess[sex=female]+telephone`` takes ``ravdess``'s), else those of its plugin
    (``csv:clinic`` takes ``csv``'s)."""
    from ser_bench.data.domains import base_corpus
    from ser_bench.plugin_api.registry import base_name

    for scope in (name, base_corpus(name), base_name(base_corpus(name))):
        if scope in given:
            return given[scope]
    return {}


def _label_maps(given: dict, corpora: list[str]) -> dict:
    """The user's label maps (``{corpus: {from: to}}``) of the base corpora this cell reads: a map of a
    corpus the cell does not read leaves its id alone."""
    from ser_bench.data.domains import base_corpus

    bases = {base_corpus(name) for name in corpora}
    return {corpus: dict(sorted(mapping.items())) for corpus, mapping in sorted(given.items())
            if corpus in bases and mapping}


def _pinned(params: dict, training_only) -> dict:
    """``params`` with each protocol setting that means nothing to a method that trains nothing
    (``ProtocolSpec.training_only``, e.g. few-shot's frozen layers) at its one value: one set of splits
    instead of identical copies. A setting already at that one value is left as written."""
    out = dict(params)
    for name, value in dict(training_only or {}).items():
        if name not in out or _as_list(out[name]) != _as_list(value):
            out[name] = value
    return out


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _shared(registry, feature: str, feature_params: dict, encoder, given: dict) -> dict:
    """``given`` encoder parameters plus the feature parameters the feature shares (``FeatureSpec.shares``)
    that the encoder takes under the same name and is not given (the layers a layer-weighted encoder mixes)."""
    from ser_bench.plugin_api.params import accepted

    names = accepted(encoder)[0]
    shared = {k: feature_params[k] for k in registry.get("features", feature).shares
              if k in names and k in feature_params and k not in given}
    return {**shared, **given}
