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
import hashlib
import time
import zlib
from collections import Counter

import numpy as np

from ser_bench.running.cells import Cell
from ser_bench.errors import ProtocolError
from ser_bench.model.heads import get_head
from ser_bench.model.metrics import classification_metrics, continuous_metrics
from ser_bench.results.summary import summarise
from ser_bench.model.model_cache import code_fingerprint, model_key
from ser_bench.data.normalise import normalise
from ser_bench.plugin_api.registry import base_name
from ser_bench.running.splits import (check_speaker_disjoint, episode_hash, parts, sentence_overlap, size, split_hash,
                     unlabelled_rows)
from ser_bench.model.adam import adam_update
from ser_bench.model.batched import fit_many
from ser_bench.model.copying import copy_module
from ser_bench.model.training import fit, freeze_layers, resolve_device
from ser_bench.plugin_api.types import LossContext, ProtocolData, Split

# Bumped when what a cached model entry holds changes (2: the loss's own trained state is stored too;
# 3: a checksum beside every entry, so entries written before are never read).
CACHE_FORMAT = 3

__all__ = ["evaluate_cell", "build_loss", "training_targets", "split_hash", "episode_hash",
           "check_speaker_disjoint", "sentence_overlap"]


def _seed(*parts_) -> int:
    return zlib.crc32("|".join(map(str, parts_)).encode())


def build_loss(registry, name: str, params: dict, context: LossContext, seed: int | None = None):
    """The loss object for ``name`` (``name:variant`` allowed), given the run-time context.

    With ``seed``, the global torch generator is seeded first, so a loss with its own parameters
    (a softmax layer, proxies) starts from weights that depend on that seed alone.
    """
    if seed is not None:
        import torch

        torch.manual_seed(int(seed))
    spec = registry.get("losses", base_name(name))
    return spec.build(context=context, **params) if spec.needs_context else spec.build(**params)


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


def _gather(values: dict, part):
    """Rows of ``part`` (one subset or several domains') from ``{domain: tensor}``, concatenated."""
    import torch

    pieces = [values[p.domain][list(p.indices)] for p in parts(part)]
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces)


def _bundle(model, loss_obj):
    """One module holding an encoder and, when it has parameters, the loss trained with it."""
    import torch

    modules = {"model": model}
    if isinstance(loss_obj, torch.nn.Module):
        modules["loss"] = loss_obj
    return torch.nn.ModuleDict(modules)


class _CellRun:
    """The state shared by the splits of one cell: data, specs and caches of things that are pure
    functions of a split's training set (normalised features, models trained on it)."""

    def __init__(self, cell: Cell, data: dict, registry, model_cache, hashes: dict, device: str = "cpu"):
        import torch

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

    def trained_on(self, split: Split, xs: dict):
        """``(model, loss)`` trained from scratch on ``split.train``: a pure function of those rows and
        the cell seed, shared by the splits with the same training set, loaded from the disk cache when
        an identical one exists. Callers must not modify what they get (copy first)."""
        key = (split.train.domain, split.train.indices)
        if key not in self.trained:
            self.trained[key] = self._train(split, xs)
        return self.trained[key]

    def _plan(self, split: Split) -> dict:
        """What training ``split.train`` from scratch takes: the stage and its loss, the rows, the seeds,
        a ``build()`` of the untrained bundle, and the model cache key (None without a cache)."""
        import torch

        cell, tr = self.cell, self.cell.training
        stage = "pretrain" if split.finetune is not None else "loss"
        loss_name, loss_params = self.stages[stage]
        domain, idx = split.train.domain, list(split.train.indices)
        rows = hashlib.sha1(repr(idx).encode()).hexdigest()
        loss_spec = self.registry.get("losses", base_name(loss_name))

        def build():  # initialised on the CPU (the same weights on every device), then moved
            torch.manual_seed(_seed(cell.seed, "init", domain, rows))
            model = self.encoder.build(input_dim=self.input_dim, **cell.encoder_params)
            loss = build_loss(self.registry, loss_name, loss_params, self.context, seed=_seed(cell.seed, "loss", domain, rows))
            return _bundle(model, loss).to(self.device), loss

        key = None
        if self.model_cache is not None and loss_spec.trains:
            key = model_key(format=CACHE_FORMAT, data=self.hashes.get(domain), rows=rows, feature=cell.feature,
                            encoder=cell.encoder, encoder_params=cell.encoder_params, loss=loss_name,
                            loss_params=loss_params, labels=self.labels, normalise=cell.normalise,
                            training={k: tr[k] for k in ("epochs", "batch_size", "lr", "weight_decay")},
                            seed=cell.seed, code=code_fingerprint(self.encoder.build, fit, adam_update, loss_spec.build),
                            # a model trained elsewhere rounds otherwise: never served to a CPU run (whose
                            # keys stay as they were) nor across devices
                            **({} if self.device == "cpu" else {"device": self.device.split(":")[0]}))
        return {"stage": stage, "domain": domain, "idx": idx, "seed": _seed(cell.seed, "train", domain, rows),
                "build": build, "key": key, "trains": loss_spec.trains}

    def _fit_settings(self) -> dict:
        tr = self.cell.training
        return {k: tr[k] for k in ("epochs", "batch_size", "lr", "weight_decay")}

    def _train(self, split: Split, xs: dict):
        plan = self._plan(split)
        domain, idx, stage = plan["domain"], plan["idx"], plan["stage"]

        def train(bundle, loss):
            info = fit(bundle["model"], xs[domain][idx], self.ys[stage][domain][idx], loss, seed=plan["seed"],
                       **self._fit_settings())
            self.timings["train"] += info["seconds"]

        if not plan["trains"]:  # a classical baseline: the head fits the support set, nothing to train here
            bundle, loss = plan["build"]()
            return bundle["model"].eval(), loss
        if plan["key"] is None:
            bundle, loss = plan["build"]()
            train(bundle, loss)
            return bundle["model"], loss
        built = {}

        def make():
            built["bundle"], built["loss"] = plan["build"]()
            return built["bundle"]

        start = time.perf_counter()
        bundle = self.model_cache.get_or_train(plan["key"], make, lambda b: train(b, built["loss"]))
        self.timings["model_cache"] = self.timings.get("model_cache", 0.0) + time.perf_counter() - start
        loss = bundle["loss"] if "loss" in bundle else built["loss"]
        return bundle["model"], loss

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

    def _batchable(self, stage: str) -> bool:
        """Whether the encoder and the loss of ``stage`` (``"pretrain"`` or ``"loss"``) train batched."""
        spec = self.registry.get("losses", base_name(self.stages[stage][0]))
        return bool(spec.trains and spec.batchable and self.encoder.batchable)

    def _pretrain_together(self, splits) -> None:
        groups: dict = {}
        seen = set(self.trained)
        for split in splits:
            key = (split.train.domain, split.train.indices)
            if key in seen or not self._batchable("pretrain" if split.finetune is not None else "loss"):
                continue
            seen.add(key)
            plan = self._plan(split)
            groups.setdefault((plan["stage"], len(plan["idx"])), []).append((key, split, plan))
        for members in groups.values():
            if len(members) < 2:
                continue
            if self.model_cache is None:
                for (key, _, _), trained in zip(members, self._train_group(members)):
                    self.trained[key] = trained
                continue
            self._train_group_cached(members)

    def _train_group(self, members) -> list:
        """``[(model, loss), ...]`` for ``members`` (``(key, split, plan)``), trained together."""
        bundles = [plan["build"]() for _, _, plan in members]
        xs = [self.features(split) for _, split, _ in members]
        infos = fit_many([b["model"] for b, _ in bundles],
                         [x[plan["domain"]][plan["idx"]] for x, (_, _, plan) in zip(xs, members)],
                         [self.ys[plan["stage"]][plan["domain"]][plan["idx"]] for _, _, plan in members],
                         [loss for _, loss in bundles], seeds=[plan["seed"] for _, _, plan in members],
                         batchable=True, **self._fit_settings())
        self.timings["train"] += sum(info["seconds"] for info in infos)
        return [(b["model"], loss) for b, loss in bundles]

    def _train_group_cached(self, members) -> None:
        """Load what the model cache holds; at the first miss, train that model and every later one of
        the group together and hand each to the cache as its training. A later member the cache turns
        out to hold after all is loaded from it (its batch-trained twin, bit for bit equal, is dropped)."""
        trained: dict = {}
        for position, (key, _, plan) in enumerate(members):
            built = {}

            def make(plan=plan, built=built):
                built["bundle"], built["loss"] = plan["build"]()
                return built["bundle"]

            def train(bundle, key=key, position=position):
                if key not in trained:
                    rest = [m for m in members[position:] if m[0] not in self.trained]
                    for (k, _, _), (model, loss) in zip(rest, self._train_group(rest)):
                        trained[k] = _bundle(model, loss)
                bundle.load_state_dict(trained.pop(key).state_dict())

            start = time.perf_counter()
            bundle = self.model_cache.get_or_train(plan["key"], make, train)
            self.timings["model_cache"] = self.timings.get("model_cache", 0.0) + time.perf_counter() - start
            self.trained[key] = (bundle["model"], bundle["loss"] if "loss" in bundle else built["loss"])

    def _finetune_setup(self, split: Split, xs: dict, model, pretrained_loss) -> dict:
        """The copy of ``model`` that ``split.finetune`` trains, its loss and how that started, its data and seed."""
        import torch

        cell = self.cell
        model = copy_module(model)
        freeze_layers(model, split.frozen_layers)
        continued = self.stages["loss"] == self.stages["pretrain"]
        if continued:  # the same objective: keep what it learnt on the source (e.g. its classifier)
            loss = copy_module(pretrained_loss)  # a loss that is no module goes through deepcopy there
        else:
            loss = build_loss(self.registry, cell.loss, cell.loss_params, self.context, seed=_seed(cell.seed, "loss", split.name))
            if isinstance(loss, torch.nn.Module):
                loss = loss.to(self.device)
        state = ("continued" if continued else "fresh") if isinstance(loss, torch.nn.Module) else "none"
        extra = unlabelled_rows(split, self.manifests) if hasattr(model, "combine_loss") else None
        return {"model": model, "loss": loss, "state": state, "x": _gather(xs, split.finetune),
                "y": _gather(self.ys["loss"], split.finetune), "n": size(split.finetune),
                "seed": _seed(cell.seed, split.name),
                "unlabelled": xs[extra[0]][extra[1]] if extra and extra[1] else None}

    def _finetune_settings(self, n: int) -> dict:
        tr = self.cell.training
        return {"steps": tr["finetune_steps"], "batch_size": n, "lr": tr["finetune_lr"],
                "weight_decay": tr["weight_decay"]}

    def finetuned(self, split: Split, xs: dict, model, pretrained_loss):
        """A copy of ``model`` fine-tuned on ``split.finetune``; returns it and how the loss started."""
        if not self.loss_spec.trains:  # nothing is trained, so nothing to freeze: the head refits the support
            return model, "none"
        if split.name in self.fine_tuned:
            return self.fine_tuned.pop(split.name)
        job = self._finetune_setup(split, xs, model, pretrained_loss)
        info = fit(job["model"], job["x"], job["y"], job["loss"], seed=job["seed"], unlabelled=job["unlabelled"],
                   **self._finetune_settings(job["n"]))
        self.timings["finetune"] += info["seconds"]
        return job["model"], job["state"]

    def _finetune_together(self, splits) -> None:
        if not self._batchable("loss"):
            return
        # A fine-tuned model is kept under its split's name (its seed's source): only for unique names.
        names = Counter(split.name for split in splits)
        groups: dict = {}
        for split in splits:
            if split.finetune is not None and names[split.name] == 1 and split.name not in self.fine_tuned:
                groups.setdefault((size(split.finetune), split.frozen_layers), []).append(split)
        for (n, _), members in groups.items():
            if len(members) < 2:
                continue
            jobs = []
            for split in members:
                xs = self.features(split)
                jobs.append(self._finetune_setup(split, xs, *self.trained_on(split, xs)))
            infos = fit_many([j["model"] for j in jobs], [j["x"] for j in jobs], [j["y"] for j in jobs],
                             [j["loss"] for j in jobs], seeds=[j["seed"] for j in jobs], batchable=True,
                             unlabelled=[j["unlabelled"] for j in jobs], **self._finetune_settings(n))
            self.timings["finetune"] += sum(info["seconds"] for info in infos)
            for split, job in zip(members, jobs):
                self.fine_tuned[split.name] = (job["model"], job["state"])

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
                "episode_hash": episode_hash(split), "sentence_overlap": sentence_overlap(split, self.manifests)}
        return found

    def evaluate(self, split: Split) -> dict:
        """Train (or reuse), fine-tune, score and measure one split."""
        cell = self.cell
        facts = self.facts(split)
        xs = self.features(split)
        model, loss = self.trained_on(split, xs)
        loss_state = "none"
        if split.finetune is not None:
            model, loss_state = self.finetuned(split, xs, model, loss)
        start = time.perf_counter()
        x_sup, y_sup = _gather(xs, split.support), _gather(self.classes, split.support)
        test = list(split.test.indices)
        x_test = xs[split.test.domain][test]
        head = get_head(self.registry, cell.head, cell.head_params)
        pred = head(model, x_test, x_sup, y_sup, len(self.labels), rule=cell.decision)
        self.timings["scoring"] += time.perf_counter() - start
        truth = self.classes[split.test.domain][test].cpu().numpy()
        metrics = classification_metrics(truth, pred.cpu().numpy(), self.labels)
        # UAR averages recall over the classes present, so a test set lacking some is easier: flagged here,
        # left out of the cell's summary and of the leaderboards.
        missing = [label for i, label in enumerate(self.labels) if not (truth == i).any()]
        if self.targets["loss"] != ("emotion",):
            import pandas as pd

            support_rows = pd.concat([self.manifests[p.domain].iloc[list(p.indices)] for p in parts(split.support)])
            if self.device != "cpu":  # the ridge probe reads embeddings as numpy arrays
                model, x_sup, x_test = copy.deepcopy(model).cpu(), x_sup.cpu(), x_test.cpu()
            metrics["continuous"] = continuous_metrics(model, x_sup, x_test, support_rows,
                                                       self.manifests[split.test.domain].iloc[test], self.targets["loss"])
        counts = np.bincount(y_sup.cpu().numpy(), minlength=len(self.labels))
        present = counts[counts > 0]
        return {
            "name": split.name, "info": dict(split.info), "hash": facts["hash"], "episode_hash": facts["episode_hash"],
            "frozen_layers": split.frozen_layers,
            "sizes": {"train": len(split.train.indices), "support": size(split.support), "test": len(test),
                      "finetune": size(split.finetune)},
            "support_counts": {label: int(c) for label, c in zip(self.labels, counts)},
            "support_balanced": bool(len(present) == len(self.labels) and present.min() == present.max()),
            "loss_state": loss_state,
            "speaker_overlap": list(facts["speaker_overlap"]),
            "sentence_overlap": list(facts["sentence_overlap"]),
            "missing_test_classes": missing,
            "metrics": metrics,
        }


class _Targets:
    """Stands in for a loss object when only its declared ``targets`` matter."""

    def __init__(self, targets: tuple):
        self.targets = targets


def evaluate_cell(cell: Cell, data: dict, registry, model_cache=None, hashes: dict | None = None,
                  split_filter=None, tuning_store=None, device: str = "cpu") -> dict:
    """Run every split of ``cell``; ``data = {"source"/"target": (manifest, X)}`` already label-filtered.

    ``model_cache`` (a :class:`~ser_bench.model.model_cache.DiskModelCache`) shares trained models (and the
    trained state of their loss) between cells; ``hashes`` maps each domain to its manifest hash (part
    of the cache key). ``split_filter(splits) -> splits`` may reorder or select splits (tests use it to
    show that order does not matter). Returns the ``splits``, ``summary`` and ``timings`` parts of a result.

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
    return {"splits": out, "summary": summarise(out), "timings": run.timings, **extra}


def _tuned(cell: Cell, data: dict, registry, hashes: dict, store, device: str = "cpu"):
    """Tune ``cell`` (when it asks for trials) and set its validation speakers aside: the cell as it
    will be evaluated, the data and hashes without those speakers, and the result's extra parts."""
    from dataclasses import replace

    from ser_bench.running.tuning import apply, tune, validation_plan, without_speakers

    val_splits, reserved = validation_plan(cell, data, registry)

    def scorer(trial_cell):
        trial = _CellRun(trial_cell, data, registry, None, hashes, device)  # trial models are never cached
        return lambda split: trial.evaluate(split)["metrics"]["uar"]

    if cell.tuning.get("trials"):
        record = tune(cell, data, registry, val_splits, store=store, evaluate_split=scorer)
        final = apply(cell, record["best_values"])
    else:
        record = {"trials": 0, "validation_splits": [s.name for s in val_splits]}
        final = cell
    record["reserved_target_speakers"] = sorted(reserved)
    data, hashes = without_speakers(data, hashes, reserved)
    as_run = replace(final, tuning={**cell.tuning, "trials": 0})
    return final, data, hashes, {"tuning": record, "params_as_run": as_run.as_dict()}
