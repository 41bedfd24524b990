"""The values that travel between the runner and its workers: a :class:`Job` out (one task: a cell, or a
part of one), an :class:`Outcome` back, holding the cell's :class:`Evaluation`.

All three are plain frozen values, picklable, so any executor can ship them. A job declares the
corpora it shares with the other jobs of the run (:attr:`Job.shared`, see
:class:`ser_bench.plugin_api.jobs.SharedWork`), so an executor with an object store sends each corpus once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from ser_bench.plugin_api.manager import PluginSettings
from ser_bench.results.record import SplitResult
from ser_bench.running.cells import Cell

__all__ = ["Evaluation", "Job", "Outcome"]


@dataclass(frozen=True)
class Job:
    """Part ``part`` of ``parts`` of ``cell`` (see :mod:`ser_bench.running.tasks`), with what a worker needs to
    evaluate it: ``corpora`` (``{role: CorpusData}``, prepared once by the runner and shared by every job
    of a cell, and by the cells that read the same corpus), the model cache folder (``None``: no cache),
    the plugin settings that rebuild the registry, the folder of tuning journals, and the device."""

    cell: Cell
    corpora: Mapping[str, Any]
    model_dir: Optional[str]
    settings: PluginSettings
    tuning_dir: Optional[str]
    device: str = "cpu"
    part: int = 0
    parts: int = 1

    @property
    def shared(self) -> Mapping[str, Any]:
        """The corpora, which several jobs hold (:class:`~ser_bench.plugin_api.jobs.SharedWork`)."""
        return self.corpora

    def with_shared(self, shared: Mapping[str, Any]) -> "Job":
        """This job holding ``shared`` as its corpora."""
        return replace(self, corpora=dict(shared))


@dataclass(frozen=True)
class Evaluation:
    """A cell evaluated, or a part of it: its splits in the protocol's order, their ``summary``
    (:func:`ser_bench.results.summary.summarise`), ``timings`` (seconds per stage, and what the runner
    adds: models taken from the cache, parts), and for a tuned cell ``tuning`` (the record) and
    ``params_as_run`` (the cell as evaluated)."""

    splits: tuple[SplitResult, ...]
    summary: dict
    timings: dict
    tuning: Optional[dict] = None
    params_as_run: Optional[dict] = None


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for one job: the :class:`Evaluation` of its part of the cell, which part
    it is, and the warnings it wants said (never written). The runner puts the parts together into the
    cell's :class:`~ser_bench.results.record.Result` (see :func:`ser_bench.running.runner.assemble`)."""

    body: Evaluation
    part: int = 0
    warnings: tuple = field(default_factory=tuple)
