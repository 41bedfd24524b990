"""Tuning a cell's hyperparameters on validation speakers with Optuna, before it is evaluated.

Every method of a grid gets the same budget (``trials``) over the ranges its plugins declare
(:mod:`ser_bench.plugin_api.search`), scored on the protocol's validation splits
(:attr:`~ser_bench.plugin_api.types.ProtocolSpec.validation`): held-out source speakers for out-of-domain
training, target speakers set aside for in-domain and few-shot protocols. The target speakers any
validation split touches are then left out of the cell's test splits, so no test speaker is seen
while tuning (Musgrave, Belongie & Lim, "A Metric Learning Reality Check", ECCV 2020).

The search is Optuna's TPE sampler seeded by the cell seed; its first trial is the cell's own
settings (the defaults), so a tuned method is never chosen below its default on validation. Trials
that lose to the median of earlier ones halfway through the validation splits are pruned. The
trial history is appended to a journal file as trials finish, so an interrupted tuning resumes
from the trials already done (the remaining ones may differ from an uninterrupted run's: the
sampler's random state starts afresh).

Trials in batches (``tuning.batch`` = N > 1, recorded in the cell's settings and so in its id). The
sampler is asked for N trials at once (Optuna's ask-and-tell: N ``study.ask()``, each trial's settings
drawn before the next is asked), they are scored split by split in lockstep, and each is told as it
ends. Where their models can be trained together (:mod:`ser_bench.running.trial_batches`: the same
architecture, loss and loss parameters, on the CPU), each validation split trains them as one
computation, every model bit for bit what training it alone gives, and every trial's validation UAR is
the one scoring its settings alone gives; the others train one by one, as without batches. What
changes is what the sampler proposes: a trial of a batch is drawn knowing only the trials finished
before the batch (TPE's ``constant_liar``, on by default in Optuna >= 4, keeps it away from the
settings of the batch's running trials), so a search with batches of N proposes other settings than
one trial at a time (N = 1, the default, which proposes exactly what it always did). The same seed and
the same N give the same trials and the same choice run after run, whether the trials trained together
or alone (off the CPU, say). Pruning is the same median rule at the same split: a trial is compared
with the trials finished before its batch (the others of its batch are still running), and a pruned
trial stops training at that split. The journal works as without batches: trials are written as they
are told; trials of a batch that was interrupted are told failed and run afresh on resume. A batched
trial's ``seconds`` is its batch's time until it ended.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.search import cell_space, declared_space, parse, split_key

_FIELDS = {"training": "training", "loss": "loss_params", "encoder": "encoder_params", "head": "head_params"}
_NOT_NUMBERS = (ValueError, RuntimeError, FloatingPointError, ArithmeticError)  # a diverged trial


def resolve_tuning(given: dict, registry, *, protocol: str, loss: str, encoder: str, head: str) -> dict:
    """The recorded tuning settings of a cell: ``trials``, ``validation_speakers`` and the full
    ``space`` (declared ranges with the user's ``search`` overrides applied), checked up front."""
    known = {"trials", "validation_speakers", "search", "space", "sampler", "validation_on", "batch"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise SerBenchError(f"unknown tuning setting(s) {unknown}; settings: {', '.join(sorted(known - {'space'}))}")
    trials = int(given.get("trials", 0))
    speakers = int(given.get("validation_speakers", 0))
    batch = int(given.get("batch", 1))
    if trials < 0 or speakers < 0 or batch < 1:
        raise SerBenchError(f"tuning needs trials >= 0, validation_speakers >= 0 and batch >= 1 (got {trials}, "
                            f"{speakers}, {batch})")
    spec = registry.get("protocols", protocol)
    if spec.validation is None:
        raise SerBenchError(f"protocol {protocol!r} declares no validation splits, so it cannot be tuned "
                            "without seeing its test speakers; run it untuned (leave out --tune)")
    on = given.get("validation_on") or spec.validation_on[0]
    if on not in spec.validation_on:
        raise SerBenchError(f"--validate-on {on}: protocol {protocol!r} validates on "
                            f"{' or '.join(spec.validation_on)} speakers only")
    loss_spec = registry.get("losses", loss.split(":", 1)[0])
    # A grid's --search overrides name settings of some of its plugins: each cell takes those its own have
    # (the command line checks that every override is taken by some cell).
    overrides = {k: v for k, v in dict(given.get("search") or {}).items()
                 if not unknown_setting(k, registry, loss=loss, encoder=encoder, head=head)}
    space = given.get("space") or cell_space(declared_space(registry, loss=loss, encoder=encoder, head=head),
                                             overrides, trains=loss_spec.trains)
    for key in space:
        if (problem := unknown_setting(key, registry, loss=loss, encoder=encoder, head=head)):
            raise SerBenchError(problem)
    if trials and not space:
        raise SerBenchError(f"nothing to tune for {loss!r} with encoder {encoder!r} and head {head!r}: their "
                            "plugins declare no search space; give ranges with --search SCOPE.NAME=LOW..HIGH")
    # The protocol's own default is not written, so that the ids of cells tuned before the choice existed hold.
    where = {} if on == spec.validation_on[0] else {"validation_on": on}
    # Likewise one trial at a time (batch 1) is not written: cells tuned before batches existed keep their ids.
    if batch > 1:
        where["batch"] = batch
    return {"trials": trials, "validation_speakers": speakers, "space": dict(sorted(space.items())),
            "sampler": "tpe", **where}


def unknown_setting(key: str, registry, *, loss: str, encoder: str, head: str) -> str:
    """Why ``key`` (``scope.name``) names no setting of these plugins ("" when it does); the range
    text of a bad key is checked by :func:`ser_bench.plugin_api.search.cell_space`."""
    import difflib

    from ser_bench.plugin_api.params import accepted
    from ser_bench.plugin_api.registry import base_name
    from ser_bench.model.training import DEFAULT_TRAINING

    scope, name = split_key(key, "--search")
    if scope == "training":
        names, owner = set(DEFAULT_TRAINING), "the training settings have"
    else:
        kind, plugin = {"loss": ("losses", base_name(loss)), "encoder": ("encoders", encoder),
                        "head": ("heads", base_name(head))}[scope]
        names, owner = set(accepted(registry.get(kind, plugin))[0]), f"{scope} {plugin!r} has"
    if name in names:
        return ""
    close = difflib.get_close_matches(name, sorted(names), n=1)
    hint = f" Did you mean {scope}.{close[0]}?" if close else ""
    return f"--search {key}: {owner} no setting {name!r}.{hint} Settings: {', '.join(sorted(names)) or '(none)'}."


def apply(cell, values: dict):
    """``cell`` with tuned ``values`` (``{"training.lr": 0.003, "loss.weight": 2.5}``) in place of its settings."""
    changes: dict = {}
    for key, value in values.items():
        scope, name = split_key(key, "tuned setting")
        field_name = _FIELDS[scope]
        changes.setdefault(field_name, dict(getattr(cell, field_name)))[name] = value
    return replace(cell, **changes)


def current_values(cell, space: dict) -> dict:
    """The cell's own value of every key of ``space`` that lies in its range (the first trial)."""
    out = {}
    for key, text in space.items():
        scope, name = split_key(key)
        value = getattr(cell, _FIELDS[scope]).get(name)
        if value is not None and parse(text).admits(value):
            out[key] = value
    return out


def validation_plan(cell, data: dict, registry) -> tuple[list, set]:
    """The cell's validation splits and the target speakers they touch (left out of its test splits)."""
    from ser_bench.running.splits import speakers_touched
    from ser_bench.plugin_api.types import ProtocolData

    spec = registry.get("protocols", cell.protocol)
    manifests = {d: m for d, (m, _) in data.items()}
    pdata = ProtocolData(target=manifests["target"], source=manifests.get("source"))
    where = {"on": cell.tuning["validation_on"]} if cell.tuning.get("validation_on") else {}
    splits = spec.validation(pdata, seed=cell.seed, speakers=cell.tuning.get("validation_speakers", 0),
                             **where, **cell.protocol_params)
    if not splits:
        raise SerBenchError(f"protocol {cell.protocol!r} produced no validation splits")
    return splits, speakers_touched(splits, manifests, "target")


def without_speakers(data: dict, hashes: dict, speakers: set) -> tuple[dict, dict]:
    """``data`` with the target rows of ``speakers`` removed (row order kept), and hashes that say so."""
    import hashlib

    if not speakers:
        return data, hashes
    manifest, x = data["target"]
    keep = (~manifest["speaker"].astype(str).isin(sorted(speakers))).to_numpy()
    out = dict(data)
    out["target"] = (manifest[keep].reset_index(drop=True), x[keep])
    tag = hashlib.sha1(("|".join(sorted(speakers)) + "|" + str(hashes.get("target"))).encode()).hexdigest()[:16]
    return out, {**hashes, "target": f"{hashes.get('target')}-without-{tag}"}


def _storage(store: Path | None, warnings: list):
    """A journal file under ``store`` (resumable), or memory when there is none or it cannot be written. A
    journal that cannot be read (damaged, or not a journal) is moved aside, named in a warning, and a new
    one started: its trials are not lost, and the tuning is not stopped by them."""
    if store is None:
        return None
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    try:
        Path(store).parent.mkdir(parents=True, exist_ok=True)
        try:
            _check_journal(Path(store))
            return JournalStorage(JournalFileBackend(str(store)))
        except OSError:
            raise
        except Exception as exc:  # a damaged line (optuna would fail on it mid-tuning, on every rerun)
            aside = Path(store).with_name(f"{Path(store).name}.damaged-{int(time.time())}")
            Path(store).replace(aside)
            warnings.append(f"tuning journal {store} could not be read ({type(exc).__name__}: {exc}); moved to "
                            f"{aside} and tuning started afresh (delete it once you no longer need it)")
            return JournalStorage(JournalFileBackend(str(store)))
    except OSError as exc:
        warnings.append(f"tuning journal {store} cannot be written ({exc}); this tuning keeps its trials in "
                        "memory and cannot resume if interrupted")
        return None


def _check_journal(path: Path) -> None:
    """Raise ``ValueError`` naming the first line of the journal at ``path`` that is not JSON (optuna's
    journal is one JSON record per line); nothing when it is absent or every line reads."""
    import json

    if not path.exists():
        return
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"line {number} is not a journal record ({exc})") from None


def tune(cell, data: dict, registry, splits: list, *, store: Path | None = None, evaluate_split=None,
         identity: str = "", evaluate_together=None) -> dict:
    """Search ``cell.tuning["space"]`` for ``cell.tuning["trials"]`` trials on the validation ``splits``.

    ``evaluate_split(trial_cell) -> callable(split) -> uar`` scores one split (the evaluation module
    supplies it). With ``tuning.batch`` > 1, ``evaluate_together(trial_cells) -> callable(split, which) ->
    [uar or exception]`` scores split ``split`` for the trials at positions ``which`` (training together
    what it can); without it the trials of a batch are scored one by one with ``evaluate_split``.
    Returns the record stored in the result: best values, best validation UAR, every
    trial (settings, state, validation UAR per split, seconds), and time spent.

    ``identity`` names the data the trials are scored on (the corpora's hashes): the study in the journal
    is the cell's id with it, so that trials scored on an earlier version of a corpus are never resumed
    (they stay in the journal, and a warning says they were set aside).
    """
    import logging

    import numpy as np
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    settings = cell.tuning
    trials, space = int(settings["trials"]), dict(settings["space"])
    if not any(s.finetune is not None for s in splits):  # nothing fine-tunes: those settings change nothing
        space = {k: v for k, v in space.items() if not k.startswith("training.finetune")}
    ranges = {key: parse(text) for key, text in space.items()}
    warnings: list = []
    start = time.perf_counter()
    sampler = optuna.samplers.TPESampler(seed=int(cell.seed), n_startup_trials=min(10, max(3, trials // 3)),
                                         multivariate=True)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=max(3, trials // 4), n_warmup_steps=max(0, len(splits) // 2 - 1))
    storage = _storage(store, warnings)
    name = f"{cell.cell_id()}@{identity}" if identity else cell.cell_id()
    if storage is not None:
        stale = [s for s in optuna.get_all_study_names(storage) if s != name and s.split("@")[0] == cell.cell_id()]
        if stale and not any(s == name for s in optuna.get_all_study_names(storage)):
            warnings.append(f"tuning journal {store} holds trials of {cell.cell_id()} scored on other data (a corpus "
                            "changed since): they are not reused; this tuning starts afresh")
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner,
                                storage=storage, study_name=name, load_if_exists=True)
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    if not study.trials:  # the defaults go first: tuning can only keep or beat them on validation
        study.enqueue_trial({k: ranges[k].to_trial(v) for k, v in current_values(cell, space).items()})

    def objective(trial):
        values = {key: r.suggest(trial, key) for key, r in ranges.items()}
        score = evaluate_split(apply(cell, values))
        per_split = []
        for i, split in enumerate(splits):
            try:
                per_split.append(float(score(split)))
            except _NOT_NUMBERS as exc:  # kept in the history; the trial counts as failed, the search goes on
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
                raise
            trial.set_user_attr("per_split", per_split)
            trial.report(float(np.mean(per_split)), i)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(per_split))

    remaining = trials - len(done)
    batch = int(settings.get("batch", 1))
    if remaining > 0 and batch == 1:
        study.optimize(objective, n_trials=remaining, catch=_NOT_NUMBERS)
    while remaining > 0 and batch > 1:
        asked = []
        for _ in range(min(batch, remaining)):  # each trial's settings drawn before the next is asked
            trial = study.ask()
            asked.append((trial, {key: r.suggest(trial, key) for key, r in ranges.items()}))
        cells = [apply(cell, values) for _, values in asked]
        _run_batch(study, [t for t, _ in asked], splits,
                   lambda cells=cells: (evaluate_together or _one_by_one(evaluate_split))(cells))
        remaining -= len(asked)
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not finished:
        errors = sorted({t.user_attrs.get("error", "") for t in study.trials} - {""})
        raise SerBenchError(f"{cell.cell_id()}: every tuning trial failed ({'; '.join(errors[:3]) or 'no error kept'}); "
                            "narrow the ranges with --search SCOPE.NAME=LOW..HIGH, or run untuned")
    best = study.best_trial
    return {
        "trials": trials, "space": space, "sampler": f"TPESampler(seed={cell.seed}, multivariate=True)",
        **({"batch": batch} if batch > 1 else {}),
        "pruner": "MedianPruner", "best_values": {k: ranges[k].from_trial(best.params[k]) for k in ranges},
        "best_value": float(best.value), "best_trial": best.number,
        "default_value": _default_value(study),
        "history": [{"number": t.number, "state": t.state.name, "value": t.value,
                     "values": {k: ranges[k].from_trial(v) for k, v in t.params.items()},
                     "per_split": t.user_attrs.get("per_split", []),
                     **({"error": t.user_attrs["error"]} if "error" in t.user_attrs else {}),
                     "seconds": (t.duration.total_seconds() if t.duration else None)} for t in study.trials],
        "validation_splits": [s.name for s in splits],
        "seconds": time.perf_counter() - start,
        "warnings": warnings,
    }


def _one_by_one(evaluate_split):
    """``evaluate_together`` made of ``evaluate_split``: every trial of a batch scored alone."""
    def together(trial_cells):
        scorers = [evaluate_split(c) for c in trial_cells]

        def score(split, which):
            out = []
            for i in which:
                try:
                    out.append(scorers[i](split))
                except Exception as exc:  # _run_batch fails the trial or stops the tuning, as optimize would
                    out.append(exc)
            return out
        return score
    return together


def _run_batch(study, asked: list, splits: list, scorer) -> None:
    """Score the trials ``asked`` split by split, in lockstep, telling each as it ends: pruned at a split
    where the median rule says so, failed where its training diverged (or scoring raised a number error),
    complete after the last split. Anything else stops the tuning, the trials not told yet told failed (as
    ``study.optimize`` leaves a trial that raised), so that a resumed tuning runs them afresh."""
    import numpy as np
    from optuna.trial import TrialState

    per_split: list = [[] for _ in asked]
    alive = list(range(len(asked)))
    try:
        score = scorer()  # scorer() -> score(split, which): the trials' runs, built inside the guard
        for step, split in enumerate(splits):
            for i, result in zip(list(alive), score(split, list(alive))):
                trial = asked[i]
                if isinstance(result, BaseException):
                    if not isinstance(result, _NOT_NUMBERS):
                        raise result
                    trial.set_user_attr("error", f"{type(result).__name__}: {result}")
                    study.tell(trial, state=TrialState.FAIL)
                    alive.remove(i)
                    continue
                per_split[i].append(float(result))
                trial.set_user_attr("per_split", per_split[i])
                trial.report(float(np.mean(per_split[i])), step)
                if trial.should_prune():
                    study.tell(trial, state=TrialState.PRUNED)
                    alive.remove(i)
        for i in list(alive):
            study.tell(asked[i], float(np.mean(per_split[i])))
            alive.remove(i)
    finally:
        for i in alive:  # stopped by an error that is not the trial's own (an interruption, say)
            study.tell(asked[i], state=TrialState.FAIL)


def _default_value(study):
    first = next((t for t in study.trials if t.number == 0), None)
    return float(first.value) if first is not None and first.value is not None else None

