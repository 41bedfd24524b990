"""Search spaces for tuning: what a plugin declares it may vary, written as short, recordable text.

A range is text so that it can be given on the command line, stored in a result and read back:

- ``"1e-4..1e-2:log"``: a number drawn log-uniformly between the bounds (inclusive);
- ``"0.0..0.3"``: a number drawn uniformly;
- ``"20..120:int"`` (or ``":int:log"``, ``":int:step=10"``): a whole number;
- ``"0.5|1|2"`` or ``"[64,32,16]|[128,64,32]"``: one of the values (each read as JSON, else as text).

Plugins declare ranges in their spec's ``search_space`` (``{"weight": "0.01..10:log"}``); training
settings in :data:`TRAINING_SEARCH_SPACE`. Keys of a whole space are scoped by what
they set: ``training.lr``, ``loss.weight``, ``encoder.hidden``, ``head.C``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ser_bench.errors import SerBenchError

SCOPES = ("training", "loss", "encoder", "head")
# What `run --tune` varies in the training settings unless told otherwise. Each range holds its default
# (ser_bench.model.training.DEFAULT_TRAINING), so the defaults can be the first trial of every search.
TRAINING_SEARCH_SPACE = {
    "lr": "1e-4..1e-2:log",
    "epochs": "20..120:step=10",
    "weight_decay": "1e-6..1e-2:log",
    "finetune_lr": "1e-4..1e-2:log",
    "finetune_steps": "20..120:step=10",
}
_EXAMPLES = "e.g. 1e-4..1e-2:log, 20..120:int, 0.5|1|2"


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high``: whole numbers with ``integer``, drawn on a log scale with ``log``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False
    step: int = 1

    def suggest(self, trial, name: str):
        """This range's value for ``trial`` (an ``optuna.Trial``)."""
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log, step=self.step)
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    def distribution(self):
        """The matching ``optuna.distributions`` object (to enqueue or check a known trial)."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=self.step)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def admits(self, value) -> bool:
        """Whether ``value`` (a default, say) lies in the range."""
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def to_trial(self, value):
        """``value`` as Optuna stores it (to enqueue a known trial)."""
        return value

    def from_trial(self, stored):
        """The setting an Optuna-stored value stands for."""
        return stored


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (JSON values); drawn by the text of each, so lists can be options too."""

    options: tuple

    def suggest(self, trial, name: str):
        """This choice's value for ``trial``."""
        return self.from_trial(trial.suggest_categorical(name, [self.to_trial(o) for o in self.options]))

    def distribution(self):
        """The matching ``optuna.distributions.CategoricalDistribution``."""
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution([self.to_trial(o) for o in self.options])

    def admits(self, value) -> bool:
        """Whether ``value`` is one of the options."""
        return json.dumps(value) in {json.dumps(o) for o in self.options}

    def to_trial(self, value):
        """``value`` as Optuna stores it: its JSON text (options may be lists)."""
        return json.dumps(value)

    def from_trial(self, stored):
        """The option an Optuna-stored text stands for."""
        return json.loads(stored) if isinstance(stored, str) else stored


def parse(text: str, what: str = "search range"):
    """A :class:`Range` or :class:`Choice` from its text (see the module docstring)."""
    text = str(text).strip()
    if "|" in text or ".." not in text:
        options = tuple(_json_or_text(t.strip()) for t in text.split("|") if t.strip())
        if len(options) < 2:
            raise SerBenchError(f"{what}: {text!r} is neither a range LOW..HIGH nor two or more choices A|B ({_EXAMPLES})")
        return Choice(options)
    bounds, *flags = text.split(":")
    low_text, _, high_text = bounds.partition("..")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise SerBenchError(f"{what}: {text!r}: the bounds must be numbers ({_EXAMPLES})") from None
    log = integer = False
    step = 1
    for flag in flags:
        if flag == "log":
            log = True
        elif flag == "int":
            integer = True
        elif flag.startswith("step="):
            step = int(flag[5:])
            integer = True
        else:
            raise SerBenchError(f"{what}: unknown flag {flag!r} in {text!r}; flags are :log, :int, :step=N")
    if not low < high:
        raise SerBenchError(f"{what}: {text!r}: the low bound must be below the high bound")
    if log and low <= 0:
        raise SerBenchError(f"{what}: {text!r}: a log range needs a low bound above 0")
    if integer and (low != int(low) or high != int(high)):
        raise SerBenchError(f"{what}: {text!r}: an :int range needs whole-number bounds")
    return Range(low, high, log=log, integer=integer, step=step)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def split_key(key: str, what: str = "--search") -> tuple[str, str]:
    """``"loss.weight"`` -> ``("loss", "weight")``, checking the scope."""
    scope, _, name = key.partition(".")
    if scope not in SCOPES or not name:
        raise SerBenchError(f"{what}: {key!r} must be SCOPE.NAME with SCOPE one of {', '.join(SCOPES)} "
                            "(e.g. training.lr, loss.weight, encoder.hidden, head.C)")
    return scope, name


def declared_space(registry, *, loss: str, encoder: str, head: str) -> dict[str, str]:
    """The whole search space the plugins of a cell declare, keyed ``scope.name`` (text ranges)."""
    from ser_bench.plugin_api.registry import base_name

    space = {f"training.{k}": v for k, v in TRAINING_SEARCH_SPACE.items()}
    for scope, kind, name in (("loss", "losses", base_name(loss)), ("encoder", "encoders", encoder),
                              ("head", "heads", base_name(head))):
        spec = registry.get(kind, name)
        space.update({f"{scope}.{k}": v for k, v in dict(getattr(spec, "search_space", {}) or {}).items()})
    return space


def cell_space(declared: dict, overrides: dict, *, trains: bool) -> dict[str, str]:
    """The space a cell is tuned over: the declared one with ``overrides`` applied (``"off"`` removes a
    key), without training settings for a method that trains nothing by gradient (they would change
    nothing). Fine-tuning settings stay: :func:`ser_bench.running.tuning.tune` drops them when no validation
    split fine-tunes."""
    space = dict(declared)
    for key, value in overrides.items():
        split_key(key)
        if str(value).strip().lower() in ("off", "none", "fixed"):
            space.pop(key, None)
        else:
            parse(value, f"--search {key}")
            space[key] = str(value)
    out = {}
    for key, value in sorted(space.items()):
        scope, name = split_key(key)
        if scope == "training" and not trains:
            continue
        out[key] = value
    return out
