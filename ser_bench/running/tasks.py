"""Cells cut into tasks: where the work is.

A cell's splits (the folds of leave-one-speaker-out, the episodes of few-shot, the repeats) are
independent by construction (see :mod:`ser_bench.running.evaluation`: a split's result depends on its
own training rows and the cell seed alone), so a cell can run as several *parts*, each a task for the
executor, and its result is put back together from them. A grid of one IDT cell then keeps every core
busy, instead of training 24 folds one after another on one of them.

Part ``p`` of ``n`` evaluates the splits ``p, p + n, p + 2n, ...`` of the protocol's list, so the parts
of a few-shot cell hold every k alike. The result is the same whatever the number of parts (tested).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from ser_bench.plugin_api.types import ProtocolData
from ser_bench.running.jobs import Evaluation

__all__ = ["count_splits", "plan_parts", "merge_parts"]


def count_splits(cell, corpora: dict, registry) -> int:
    """How many splits the cell's protocol makes of its data (cheap: no training)."""
    protocol = registry.get("protocols", cell.protocol)
    source = corpora.get("source")
    pdata = ProtocolData(target=corpora["target"].manifest, source=source.manifest if source else None)
    return len(protocol.splits(pdata, seed=cell.seed, **cell.protocol_params))


def plan_parts(cells: Sequence, roles_of, registry, slots: int) -> dict:
    """``{cell_id: number of parts}`` so that the tasks of the grid fill ``slots`` workers.

    A grid with at least as many cells as workers runs each cell as one task (parts would only add
    the per-task set-up). Otherwise each cell is cut into ``ceil(slots / cells)`` parts, at most one per
    split. A tuned cell stays whole: its tuning decides the settings of all its splits.
    """
    cells = list(cells)
    if slots <= 1 or len(cells) >= slots:
        return {cell.cell_id(): 1 for cell in cells}
    want = math.ceil(slots / len(cells))
    plan = {}
    for cell in cells:
        if cell.tuning:
            plan[cell.cell_id()] = 1
            continue
        plan[cell.cell_id()] = max(1, min(want, count_splits(cell, roles_of(cell), registry)))
    return plan


def part_filter(part: int, parts: int):
    """The ``split_filter`` of part ``part`` of ``parts`` (every ``parts``-th split from ``part``)."""
    if parts == 1:
        return None
    return lambda splits: list(splits)[part::parts]


def merge_parts(bodies: Mapping[int, Evaluation]) -> Evaluation:
    """One cell's :class:`~ser_bench.running.jobs.Evaluation` from its parts' (``{part: evaluation}``).

    Splits come back in the protocol's order; the summary is computed over all of them; timings are
    summed over the parts (compute seconds, not wall time) and ``parts`` says how many there were.
    """
    from ser_bench.results.summary import summarise

    parts = len(bodies)
    if parts == 1:
        return bodies[0]
    lists = [bodies[p].splits for p in range(parts)]
    total = sum(len(s) for s in lists)
    splits = tuple(lists[j % parts][j // parts] for j in range(total))
    timings: dict = {}
    for p in range(parts):
        for key, value in bodies[p].timings.items():
            if isinstance(value, (int, float)):
                timings[key] = timings.get(key, 0) + value
    timings["parts"] = parts
    return Evaluation(splits=splits, summary=summarise(splits), timings=timings)
