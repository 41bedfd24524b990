"""Tuning trials trained together: the validation models of several trials of one cell as one computation.

The trials of a tuning batch (:mod:`ser_bench.running.tuning`, ``tuning.batch``) that build the same
architecture and train it with the same loss differ only in settings an optimiser step can take per
model: the learning rate, the weight decay and the number of epochs (and the head's settings, which
training never sees). On a validation split their models are trained as the folds of a cell are
(:func:`~ser_bench.model.batched.fit_many`), each bit for bit as training it alone gives, and each trial
then scores its own model as it would alone (``run.evaluate(split).uar``).

What cannot be batched trains alone, exactly as a trial tuned one at a time does: a trial whose loss or
encoder has no batched twin, whose other settings (loss or encoder parameters, batch size) no other trial
of the batch shares, and every trial off the CPU or on more than one thread. A trial whose training
diverges fails alone: the others of its group are trained again without it (their numbers do not depend on
their company).

The runs are :class:`~ser_bench.running.evaluation._CellRun` objects (this module does not import it: the
evaluation module hands them over), one per trial, built without a model cache.
"""
from __future__ import annotations

import json

from ser_bench.errors import DivergedError
from ser_bench.model.batched import fit_many
from ser_bench.model.seeding import seed_torch

__all__ = ["score_together", "signature"]


def signature(run, split) -> tuple | None:
    """What trials must share to train ``split``'s model together (None: this trial trains alone): the
    stage and its loss with its parameters, the encoder with its, the batch size and the normalisation."""
    stage = "pretrain" if split.finetune is not None else "loss"
    if run.device != "cpu" or not run._batchable(stage) or not run.loss_spec.trains:
        return None
    name, params = run.stages[stage]
    cell = run.cell
    return (stage, name, json.dumps(params, sort_keys=True, default=str), cell.encoder,
            json.dumps(cell.encoder_params, sort_keys=True, default=str), cell.training["batch_size"],
            json.dumps(cell.normalise, sort_keys=True, default=str))


def score_together(runs: list, split) -> list:
    """The validation UAR of ``split`` for each of ``runs`` (one per trial), or the exception that trial
    raised (a diverged training, say): what ``run.evaluate(split).uar`` gives for each run alone."""

    out: list = [None] * len(runs)
    groups: dict = {}
    for i, run in enumerate(runs):
        key = signature(run, split)
        groups.setdefault(("alone", i) if key is None else key, []).append(i)
    seeds: dict = {}  # the seed training alone leaves the global generator at, for each model trained here
    for members in groups.values():
        if len(members) > 1:
            for i, found in _train_group([runs[i] for i in members], split, members).items():
                if isinstance(found, BaseException):
                    out[i] = found
                else:
                    seeds[i] = found
    for i, run in enumerate(runs):
        if out[i] is None:
            if i in seeds:  # as training it alone leaves it, for a head that draws from it
                seed_torch(seeds[i])
            try:
                out[i] = run.evaluate(split).uar
            except Exception as exc:  # the caller decides which errors fail a trial and which stop the tuning
                out[i] = exc
    return out


def _train_group(runs: list, split, positions: list) -> dict:
    """Train ``split``'s model of each of ``runs`` together and leave it where the run looks for it
    (``run.trained``); returns ``{position: error}`` for the trials whose training diverged and
    ``{position: seed}`` (the training seed) for those trained here."""
    failed: dict = {}  # position -> error, or the training seed of a model trained here
    left = list(range(len(runs)))
    while len(left) > 1:
        group = [runs[i] for i in left]
        plans = [run._plan(split) for run in group]
        bundles = [plan["build"]() for plan in plans]
        xs = [run.features(split)[plan["domain"]][plan["idx"]] for run, plan in zip(group, plans)]
        ys = [run.ys[plan["stage"]][plan["domain"]][plan["idx"]] for run, plan in zip(group, plans)]
        settings = [run._fit_settings() for run in group]
        try:
            infos = fit_many([b["model"] for b, _ in bundles], xs, ys, [loss for _, loss in bundles],
                             seeds=[plan["seed"] for plan in plans], batchable=True,
                             batch_size=settings[0]["batch_size"], epochs=[s["epochs"] for s in settings],
                             lr=[s["lr"] for s in settings], weight_decay=[s["weight_decay"] for s in settings])
        except DivergedError as exc:
            bad = left[exc.index or 0]
            failed[positions[bad]] = exc.within(runs[bad].training_of(plans[exc.index or 0]["stage"], split))
            left.remove(bad)
            continue
        for i, run, plan, (bundle, loss), info in zip(left, group, plans, bundles, infos):
            run.trained[(split.train.domain, split.train.indices)] = (bundle["model"], loss)
            run.timings["train"] += info["seconds"]
            failed[positions[i]] = plan["seed"]
        return failed
    return failed  # one left: it trains alone, when it scores
