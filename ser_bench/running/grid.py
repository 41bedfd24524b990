"""The grid: what a run crosses (:class:`Grid`), expanded into cells with every plugin default resolved
(:func:`expand`), before any corpus is read for features."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

from ser_bench.errors import SerBenchError
from ser_bench.running.cells import Cell, resolve


@dataclass
class Grid:
    """What to cross. Each list is one axis; ``base`` holds the settings shared by every cell.

    ``loco`` (leave one corpus out), when given, replaces ``sources`` and ``targets``: each of its corpora
    in turn is the target and the union of the others (``a|b``) the source."""

    protocols: Sequence[str]
    losses: Sequence[str]
    targets: Sequence[str] = ()
    sources: Sequence[Optional[str]] = (None,)
    encoders: Sequence[str] = ("auto",)  # auto: each loss's default encoder
    features: Sequence[str] = ("auto",)  # auto: the registry's default feature
    seeds: Sequence[int] = (0,)
    base: dict = field(default_factory=dict)
    loco: Sequence[str] = ()


def loco_pairs(corpora: Sequence[str]) -> list[tuple[str, str]]:
    """Leave one corpus out: ``(target, source)`` for each corpus, the source the union of the others."""
    from ser_bench.data.domains import union_parts

    corpora = list(corpora)
    nested = [c for c in corpora if union_parts(c)]
    if nested:
        raise SerBenchError(f"--loco takes single corpora, not unions ({', '.join(nested)}): each is left out in turn")
    if len(corpora) < 2 or len(set(corpora)) < len(corpora):
        raise SerBenchError(f"--loco needs two or more different corpora, comma-separated (got {', '.join(corpora)})")
    return [(target, "|".join(c for c in corpora if c != target)) for target in corpora]


def expand(grid: Grid, registry, ctx=None) -> list[Cell]:
    """All cells of ``grid`` with plugin defaults resolved; unknown names fail here, before any work.

    Protocols that need no source get ``source=None`` (one cell, whatever the sources axis holds).
    ``base["labels"]`` may name a label set (:data:`ser_bench.data.labels.LABEL_SETS`); ``"shared"``, the
    emotions every corpus of the grid has, reads the corpora's manifests, so it needs ``ctx``.
    """
    from ser_bench.running.cells import feature_variants

    cells, seen = [], set()
    grid = _labels_resolved(grid, registry, ctx)
    if "auto" in grid.features:
        default = registry.default("features").name
        grid = replace(grid, features=tuple(dict.fromkeys(default if f == "auto" else f for f in grid.features)))
    variants = {feature: feature_variants(feature, (grid.base.get("feature_params") or {}).get(feature, {}), registry)
                for feature in grid.features}
    pairs = loco_pairs(grid.loco) if grid.loco else list(itertools.product(grid.targets, grid.sources))
    for protocol, loss, (target, source), encoder, feature, seed in itertools.product(
            grid.protocols, grid.losses, pairs, grid.encoders, grid.features, grid.seeds):
        spec = registry.get("protocols", protocol)
        for kind, name in (("losses", loss), ("datasets", target), ("encoders", encoder), ("features", feature)):
            if not (kind == "encoders" and name == "auto"):  # resolved per loss in resolve()
                registry.get(kind, name)
        if spec.needs_source:
            if not source:
                raise SerBenchError(f"protocol {protocol!r} needs a source corpus: pass --source NAME")
            registry.get("datasets", source)
        else:
            source = None
        base = dict(grid.base)
        pparams = base.pop("protocol_params", {}).get(protocol, {})
        lparams = base.pop("loss_params", {}).get(loss, {})
        base.pop("feature_params", None)
        for fparams in variants[feature]:  # one cell per feature variant (ssl.layers=all: one per layer)
            cell = resolve(Cell(protocol=protocol, loss=loss, target=target, source=source, encoder=encoder,
                                feature=feature, seed=int(seed), protocol_params=pparams, loss_params=lparams,
                                feature_params=fparams, **base), registry)
            if cell.cell_id() not in seen:
                seen.add(cell.cell_id())
                cells.append(cell)
    _check_search_taken(cells, (grid.base.get("tuning") or {}).get("search") or {}, registry)
    return cells


def _labels_resolved(grid: Grid, registry, ctx) -> Grid:
    """``grid`` with a named label set in ``base["labels"]`` replaced by its emotions (``shared``: those
    every corpus of the grid has, read with ``ctx``)."""
    from ser_bench.running.label_sets import grid_corpora, resolve_label_set

    labels = grid.base.get("labels")
    if not isinstance(labels, str):
        return grid
    found = resolve_label_set(labels, grid_corpora(grid, registry), registry, ctx, grid.base)
    return replace(grid, base={**grid.base, "labels": tuple(found)})


def _check_search_taken(cells: list, search: dict, registry) -> None:
    """Every tuning override names a setting of at least one cell's plugins: each cell takes the ones
    its own plugins have (``loss.weight`` tunes ratio_distance, not bce_pair), and one that no cell
    takes is a typo that would otherwise tune nothing."""
    from ser_bench.running.tuning import unknown_setting

    for key in search:
        problems = [unknown_setting(key, registry, loss=c.loss, encoder=c.encoder, head=c.head) for c in cells]
        if problems and all(problems):
            raise SerBenchError(problems[0])
