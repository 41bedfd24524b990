"""Running one cell: protocol splits -> (cached) training -> fine-tuning -> support-set scoring -> metrics.

Models are built, trained and scored on the run's device (``run --device``; the CPU by default): its
features and targets are moved there, and predictions come back to the CPU for the metrics. The
device is a run setting, not part of a cell: it never changes a cell id.

A split is the unit of state. What a split trains (encoder, loss parameters such as a softmax layer or
ArcFace proxies, optimiser) is built from that split's training data and seed alone, so a result never
depends on fold order, on which other splits ran in the same process, or on what the model cache held.
"""
from __future__ import annotations

import copy
import time

import numpy as np

from ser_bench.data.normalise import normalise
from ser_bench.errors import ProtocolError
from ser_bench.model.heads import get_head
from ser_bench.data.domains import SEX_COLUMNS
from ser_bench.model.metrics import classification_metrics, confusion_by_speaker, continuous_metrics
from ser_bench.model.training import resolve_device
from ser_bench.plugin_api.registry import base_name
from ser_bench.plugin_api.types import LossContext, ProtocolData, Split
from ser_bench.results.record import Metrics, SplitResult
from ser_bench.results.summary import summarise
from ser_bench.running.cells import Cell
from ser_bench.running.finetuning import FineTuning
from ser_bench.running.jobs import Evaluation
from ser_bench.running.pretraining import Pretraining, build_loss
from ser_bench.running.splits import (audio_overlap, check_speaker_disjoint, episode_hash, gather, parts,
                                      sentence_overlap, size, split_hash)

__all__ = ["evaluate_cell", "training_targets"]


def training_targets(manifest, loss_obj, label_index: dict):
    """What a loss is trained on: class indices, or the float columns it names in ``targets``."""
    import torch

    targets = tuple(getattr(loss_obj, "targets", ("emotion",)))
    if targets == ("emotion",):
        return torch.tensor(manifest["emotion"].map(label_index).to_numpy(), dtype=torch.long)
    missing = [t for t in targets if t not in manifest or manifest[t].isna().any()]
    if missing:
        raise ProtocolError(f"the loss needs {missing} for every clip, and this corpus does not provide them")
    values = torch.tensor(manifest[list(targets)].to_numpy(dtype="float32"))
    return values[:, 0] if len(targets) == 1 else values


class _CellRun(Pretraining, FineTuning):
    """The state shared by the splits of one cell: data, specs and caches of things that are pure
    functions of a split's training set (normalised features, models trained on it)."""

    def __init__(self, cell: Cell, data: dict, registry, model_cache, hashes: dict, device: str = "cpu",
                 judge: bool = True):
        import torch

        # Whether splits also measure their embeddings and probabilities (running.judging): not for tuning
        # trials, which are scored by their UAR alone.
        self.judge = judge

        self.cell, self.data, self.registry, self.model_cache, self.hashes = cell, data, registry, model_cache, hashes
        self.device = device  # resolved (cpu, cuda, cuda:N): where models train and score
        self.labels = list(cell.labels)
        self.label_index = {c: i for i, c in enumerate(self.labels)}
        self.manifests = {d: m for d, (m, _) in data.items()}
        self.encoder = registry.get("encoders", cell.encoder)
        self.loss_spec = registry.get("losses", base_name(cell.loss))
        self.input_dim = next(iter(data.values()))[1].shape[1]
        with torch.no_grad():
            probe = self.encoder.build(input_dim=self.input_dim, **cell.encoder_params)
            embedding_dim = int(probe.embed(torch.zeros(2, self.input_dim)).shape[1])
        self.context = LossContext(num_classes=len(self.labels), embedding_dim=embedding_dim, input_dim=self.input_dim)
        self.stages = {"loss": (cell.loss, cell.loss_params), "pretrain": (cell.pretrain_loss, cell.pretrain_loss_params)}
        # Targets depend on the loss's declared columns, not on its state: a throwaway instance tells them.
        # Both stages' losses are built (each seeding the global generator) even when they are equal, so
        # that the generator is left as it always was.
        self.targets = {stage: tuple(getattr(build_loss(registry, n, p, self.context, seed=0), "targets", ("emotion",)))
                        for stage, (n, p) in self.stages.items()}
        # One tensor per distinct set of target columns, shared by the stages (and, for class indices, by
        # the scoring): they are only ever indexed, never modified.
        by_columns: dict = {("emotion",): None}
        for t in self.targets.values():
            by_columns[t] = None
        for t in by_columns:
            by_columns[t] = {d: training_targets(m, _Targets(t), self.label_index).to(device)
                             for d, m in self.manifests.items()}
        self.ys = {stage: by_columns[t] for stage, t in self.targets.items()}
        self.classes = by_columns[("emotion",)]
        self._facts: dict = {}  # (train, finetune, support, test, overlap allowed) -> checks and hashes
        self.normalised: dict = {}
        self.trained: dict = {}
        self.fine_tuned: dict = {}  # split name -> (fine-tuned model, loss state), filled by prepare()
        self.timings = {"train": 0.0, "finetune": 0.0, "scoring": 0.0}

    def features(self, split: Split) -> dict:
        """``{domain: tensor}`` normalised as the cell says, fitted on ``split.train`` only."""
        import torch

        key = (split.train.domain, split.train.indices)
        if key not in self.normalised:
            self.normalised[key] = {d: torch.as_tensor(x).to(self.device) for d, x in normalise(
                self.data, split.train.domain, split.train.indices, self.cell.normalise).items()}
        return self.normalised[key]

    def prepare(self, splits) -> None:
        """Train together what ``splits`` will need, where the encoder and loss are batchable: one model per
        distinct training set not trained yet, then one fine-tuned copy per few-shot episode.

        Each model comes out bit for bit as :meth:`evaluate` would train it alone (the same seeds, rows
        and cache keys; :func:`~ser_bench.model.batched.fit_many`), so a split's result does not depend
        on which splits were trained with it, and a model cached by either way serves the other.
        Groups of one are left to :meth:`evaluate`, which trains them as before.
        """
        self._pretrain_together(splits)
        self._finetune_together(splits)

    def facts(self, split: Split) -> dict:
        """The speaker-leakage check (raising as :func:`check_speaker_disjoint` does), the sentence overlap
        and the hashes of ``split``: functions of its index sets (and of whether it allows speaker
        overlap) alone, so worked out once for the splits that share them, such as a few-shot episode's
        frozen-layer settings."""
        key = (split.train, split.finetune, split.support, split.test, bool(split.info.get("speaker_overlap_allowed")))
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = {
                "speaker_overlap": check_speaker_disjoint(split, self.manifests), "hash": split_hash(split),
                "episode_hash": episode_hash(split), "sentence_overlap": sentence_overlap(split, self.manifests),
                "audio_overlap": audio_overlap(split, self.manifests)}
        return found

    def evaluate(self, split: Split) -> SplitResult:
        """Train (or reuse), fine-tune, score and measure one split."""
        cell = self.cell
        facts = self.facts(split)
        xs = self.features(split)
        model, loss = self.trained_on(split, xs)
        loss_state = "none"
        if split.finetune is not None:
            model, loss_state = self.finetuned(split, xs, model, loss)
        start = time.perf_counter()
        x_sup, y_sup = gather(xs, split.support), gather(self.classes, split.support)
        test = list(split.test.indices)
        x_test = xs[split.test.domain][test]
        self._check_embeddings(model, split, x_sup, x_test)
        head = get_head(self.registry, cell.head, cell.head_params)
        pred = head(model, x_test, x_sup, y_sup, len(self.labels), rule=cell.decision)
        self.timings["scoring"] += time.perf_counter() - start
        truth = self.classes[split.test.domain][test].cpu().numpy()
        predicted = pred.cpu().numpy()
        scores = classification_metrics(truth, predicted, self.labels)
        test_rows = self.manifests[split.test.domain].iloc[test]
        sex = next((c for c in SEX_COLUMNS if c in test_rows), None)
        speakers = confusion_by_speaker(truth, predicted, test_rows["speaker"].to_numpy(),
                                        test_rows[sex].to_numpy() if sex else None, len(self.labels))
        other = {}  # metrics beyond the classification ones (continuous targets): Metrics.extra
        # UAR averages recall over the classes present, so a test set lacking some is easier: flagged here,
        # left out of the cell's summary and of the leaderboards.
        missing = [label for i, label in enumerate(self.labels) if not (truth == i).any()]
        if self.targets["loss"] != ("emotion",):
            import pandas as pd

            support_rows = pd.concat([self.manifests[p.domain].iloc[list(p.indices)] for p in parts(split.support)])
            if self.device != "cpu":  # the ridge probe reads embeddings as numpy arrays
                model, x_sup, x_test = copy.deepcopy(model).cpu(), x_sup.cpu(), x_test.cpu()
            other["continuous"] = continuous_metrics(model, x_sup, x_test, support_rows, test_rows,
                                                     self.targets["loss"])
        if self.judge:
            other.update(self._judged(split, model, xs, x_test, x_sup, y_sup, truth, test_rows))
        counts = np.bincount(y_sup.cpu().numpy(), minlength=len(self.labels))
        present = counts[counts > 0]
        return SplitResult(
            name=split.name, metrics=Metrics(**scores, extra=other), info=dict(split.info), hash=facts["hash"],
            episode_hash=facts["episode_hash"], frozen_layers=split.frozen_layers,
            sizes={"train": len(split.train.indices), "support": size(split.support), "test": len(test),
                   "finetune": size(split.finetune)},
            support_counts={label: int(c) for label, c in zip(self.labels, counts)},
            support_balanced=bool(len(present) == len(self.labels) and present.min() == present.max()),
            loss_state=loss_state,
            speaker_overlap=list(facts["speaker_overlap"]),
            sentence_overlap=list(facts["sentence_overlap"]),
            missing_test_classes=missing,
            speakers=speakers,
            # Written only when some test clip's identical audio is on the training side (test=samples).
            extra={"audio_overlap": list(facts["audio_overlap"])} if facts["audio_overlap"] else {},
        )

    def _judged(self, split: Split, model, xs: dict, x_test, x_sup, y_sup, truth, test_rows) -> dict:
        """The split's embedding and calibration measurements (:mod:`ser_bench.running.judging`): retrieval
        and clustering of the test embeddings, speaker and corpus probes, and the calibration of the head's
        class probabilities where the head gives them."""
        from ser_bench.model.heads import embed, get_probabilities
        from ser_bench.running.judging import calibration_measures, embedding_measures

        start = time.perf_counter()
        cell = self.cell
        source = None
        if split.train.domain == "source" and "source" in self.manifests:
            rows = list(split.train.indices)
            x_source = xs["source"][rows]
            source = (lambda keep: embed(model, x_source[list(keep)]).cpu().numpy(),
                      self.manifests["source"].iloc[rows], cell.source, cell.target)
        found = embedding_measures(lambda x: embed(model, x).cpu().numpy(), x_test, truth, test_rows, source)
        probabilities = get_probabilities(self.registry, cell.head, cell.head_params)
        if probabilities is not None and len(x_test):
            head = self.registry.get("heads", cell.head)
            found["calibration"] = calibration_measures(
                probabilities(model, x_test, x_sup, y_sup, len(self.labels), rule=cell.decision), truth,
                head.calibration)
        self.timings["judging"] = self.timings.get("judging", 0.0) + time.perf_counter() - start
        return found

    def _check_embeddings(self, model, split: Split, x_sup, x_test) -> None:
        """A model whose embeddings of the support or test clips are not finite is not scored: a head
        would turn NaN distances into some class and the split into a chance-level number."""
        import torch

        with torch.no_grad():
            for what, x in (("support", x_sup), ("test", x_test)):
                if len(x) and not bool(torch.isfinite(model.embed(x)).all()):
                    from ser_bench.errors import DivergedError

                    raise DivergedError(f"{self.cell.loss} (encoder {self.cell.encoder}) on split {split.name!r}: "
                                        f"the embeddings of its {what} clips are not finite, so there is nothing "
                                        "to score; check the encoder plugin, or lower the learning rate if "
                                        "training diverged")


class _Targets:
    """Stands in for a loss object when only its declared ``targets`` matter."""

    def __init__(self, targets: tuple):
        self.targets = targets


def evaluate_cell(cell: Cell, data: dict, registry, model_cache=None, hashes: dict | None = None,
                  split_filter=None, tuning_store=None, device: str = "cpu") -> Evaluation:
    """Run every split of ``cell``; ``data = {"source"/"target": (manifest, X)}`` already label-filtered.

    ``model_cache`` (a :class:`~ser_bench.model.model_cache.DiskModelCache`) shares trained models (and the
    trained state of their loss) between cells; ``hashes`` maps each domain to its manifest hash (part
    of the cache key). ``split_filter(splits) -> splits`` may reorder or select splits (tests use it to
    show that order does not matter). Returns the :class:`~ser_bench.running.jobs.Evaluation`: the splits (a
    :class:`~ser_bench.results.record.SplitResult` each), their summary and the timings.

    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``; :func:`~ser_bench.model.training.resolve_device`) is
    where models are trained and scored, tuning trials included. Off the CPU, batched training is not used
    (every model trains alone, see :func:`~ser_bench.model.batched.fit_many`) and models cached there are
    kept apart from the CPU's; ``model_cache`` should load onto the same device.

    Where the encoder and the loss are batchable, the models of the selected splits (folds, then
    few-shot episodes) are trained together first (:meth:`_CellRun.prepare`), each with the very numbers
    training it alone gives: a split's result does not depend on which splits were selected with it.

    A cell with ``tuning`` settings is first tuned on its protocol's validation splits (see
    :mod:`ser_bench.running.tuning`; trials never use the model cache, and their journal goes to
    ``tuning_store``); the target speakers those splits touch are then left out of its test splits
    (also with 0 trials, so that a default-settings cell pairs with a tuned one). The result then also
    holds ``tuning`` (the record) and ``params_as_run`` (the cell as evaluated: rerunning it gives the
    same numbers without tuning again).
    """
    t0 = time.perf_counter()
    device = resolve_device(device)
    hashes = dict(hashes or {})
    extra = {}
    if cell.tuning:
        cell, data, hashes, extra = _tuned(cell, data, registry, hashes, tuning_store, device)
    run = _CellRun(cell, data, registry, model_cache, hashes, device)
    protocol = registry.get("protocols", cell.protocol)
    pdata = ProtocolData(target=run.manifests["target"], source=run.manifests.get("source"))
    splits = protocol.splits(pdata, seed=cell.seed, **cell.protocol_params)
    if split_filter is not None:
        splits = split_filter(splits)
    if not splits:
        raise ProtocolError(f"protocol {cell.protocol!r} produced no splits for target {cell.target!r}")
    run.prepare(splits)
    out = [run.evaluate(split) for split in splits]
    if extra:
        run.timings["tuning"] = extra["tuning"].get("seconds", 0.0)
    run.timings["total"] = time.perf_counter() - t0
    return Evaluation(splits=tuple(out), summary=summarise(out), timings=run.timings, **extra)


def _tuned(cell: Cell, data: dict, registry, hashes: dict, store, device: str = "cpu"):
    """Tune ``cell`` (when it asks for trials) and set its validation speakers aside: the cell as it
    will be evaluated, the data and hashes without those speakers, and the result's extra parts."""
    from dataclasses import replace

    from ser_bench.running.tuning import apply, tune, validation_plan, without_speakers

    val_splits, reserved = validation_plan(cell, data, registry)

    def scorer(trial_cell):
        trial = _CellRun(trial_cell, data, registry, None, hashes, device, judge=False)  # never cached
        return lambda split: trial.evaluate(split).uar

    def together(trial_cells):  # a batch of trials (tuning.batch): trained together where they can be
        from ser_bench.running.trial_batches import score_together

        runs = [_CellRun(c, data, registry, None, hashes, device, judge=False) for c in trial_cells]
        return lambda split, which: score_together([runs[i] for i in which], split)

    if cell.tuning.get("trials"):
        import hashlib
        import json

        # The journal's study is named by the data as well as the cell: a corpus that changed is tuned anew.
        identity = hashlib.sha1(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:12]
        record = tune(cell, data, registry, val_splits, store=store, evaluate_split=scorer, identity=identity,
                      evaluate_together=together)
        final = apply(cell, record["best_values"])
    else:
        record = {"trials": 0, "validation_splits": [s.name for s in val_splits]}
        final = cell
    record["reserved_target_speakers"] = sorted(reserved)
    data, hashes = without_speakers(data, hashes, reserved)
    as_run = replace(final, tuning={**cell.tuning, "trials": 0})
    return final, data, hashes, {"tuning": record, "params_as_run": as_run.as_dict()}
