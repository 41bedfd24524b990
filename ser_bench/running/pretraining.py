"""Pre-training a cell's models: one model per distinct training set, built and trained from that set and
the cell seed alone, together with the others where encoder and loss are batchable, through the model
cache when the run has one.

:class:`Pretraining` is a part of :class:`~ser_bench.running.evaluation._CellRun` (a mixin): it reads the
run's ``cell``, ``registry``, ``encoder``, ``input_dim``, ``context``, ``stages``, ``labels``, ``ys``,
``device``, ``model_cache``, ``hashes`` and ``features()``, and fills ``trained`` and ``timings``.
"""
from __future__ import annotations

import hashlib
import time
import zlib

from ser_bench.errors import DivergedError
from ser_bench.model.adam import adam_update
from ser_bench.model.batched import fit_many
from ser_bench.model.model_cache import code_fingerprint, model_key
from ser_bench.model.seeding import seed_torch
from ser_bench.model.training import fit
from ser_bench.model.twins import has_batched_twin
from ser_bench.plugin_api.registry import base_name
from ser_bench.plugin_api.types import LossContext, Split

# Bumped when what a cached model entry holds changes (2: the loss's own trained state is stored too;
# 3: a checksum beside every entry, so entries written before are never read).
CACHE_FORMAT = 3

__all__ = ["Pretraining", "build_loss", "derived_seed", "model_bundle", "CACHE_FORMAT"]


def derived_seed(*parts_) -> int:
    """A seed for one purpose of one cell (``derived_seed(cell.seed, "init", domain, rows)``): CRC-32 of the parts."""
    return zlib.crc32("|".join(map(str, parts_)).encode())


def build_loss(registry, name: str, params: dict, context: LossContext, seed: int | None = None):
    """The loss object for ``name`` (``name:variant`` allowed), given the run-time context.

    With ``seed``, the global torch generator is seeded first, so a loss with its own parameters
    (a softmax layer, proxies) starts from weights that depend on that seed alone.
    """
    if seed is not None:

        seed_torch(int(seed))
    spec = registry.get("losses", base_name(name))
    return spec.build(context=context, **params) if spec.needs_context else spec.build(**params)


def model_bundle(model, loss_obj):
    """One module holding an encoder and, when it has parameters, the loss trained with it."""
    import torch

    modules = {"model": model}
    if isinstance(loss_obj, torch.nn.Module):
        modules["loss"] = loss_obj
    return torch.nn.ModuleDict(modules)


class Pretraining:
    """Training from scratch on a split's training set (see the module docstring)."""

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

        cell, tr = self.cell, self.cell.training
        stage = "pretrain" if split.finetune is not None else "loss"
        loss_name, loss_params = self.stages[stage]
        domain, idx = split.train.domain, list(split.train.indices)
        rows = hashlib.sha1(repr(idx).encode()).hexdigest()
        loss_spec = self.registry.get("losses", base_name(loss_name))

        def build():  # initialised on the CPU (the same weights on every device), then moved
            seed_torch(derived_seed(cell.seed, "init", domain, rows))
            model = self.encoder.build(input_dim=self.input_dim, **cell.encoder_params)
            loss = build_loss(self.registry, loss_name, loss_params, self.context,
                              seed=derived_seed(cell.seed, "loss", domain, rows))
            return model_bundle(model, loss).to(self.device), loss

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
        return {"stage": stage, "domain": domain, "idx": idx, "seed": derived_seed(cell.seed, "train", domain, rows),
                "build": build, "key": key, "trains": loss_spec.trains}

    def _fit_settings(self) -> dict:
        tr = self.cell.training
        return {k: tr[k] for k in ("epochs", "batch_size", "lr", "weight_decay")}

    def _train(self, split: Split, xs: dict):
        plan = self._plan(split)
        domain, idx, stage = plan["domain"], plan["idx"], plan["stage"]

        def train(bundle, loss):
            try:
                info = fit(bundle["model"], xs[domain][idx], self.ys[stage][domain][idx], loss, seed=plan["seed"],
                           **self._fit_settings())
            except DivergedError as exc:
                raise exc.within(self.training_of(stage, split)) from None
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

    def training_of(self, stage: str, split: Split) -> str:
        """Which method trained what, for messages: ``"bce_pair (pre-training, siamese-mlp) on split 'k2-r0-f0'"``."""
        name = self.stages[stage][0]
        role = "pre-training" if stage == "pretrain" and split.finetune is not None else "training"
        return f"{name} ({role}, encoder {self.cell.encoder}) on split {split.name!r}"

    def _batchable(self, stage: str) -> bool:
        """Whether the encoder and the loss of ``stage`` (``"pretrain"`` or ``"loss"``) train batched."""
        spec = self.registry.get("losses", base_name(self.stages[stage][0]))
        return has_batched_twin(spec) and self.encoder.batchable

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
        try:
            infos = fit_many([b["model"] for b, _ in bundles],
                             [x[plan["domain"]][plan["idx"]] for x, (_, _, plan) in zip(xs, members)],
                             [self.ys[plan["stage"]][plan["domain"]][plan["idx"]] for _, _, plan in members],
                             [loss for _, loss in bundles], seeds=[plan["seed"] for _, _, plan in members],
                             batchable=True, **self._fit_settings())
        except DivergedError as exc:
            _, split, plan = members[exc.index or 0]
            raise exc.within(self.training_of(plan["stage"], split)) from None
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
                        trained[k] = model_bundle(model, loss)
                bundle.load_state_dict(trained.pop(key).state_dict())

            start = time.perf_counter()
            bundle = self.model_cache.get_or_train(plan["key"], make, train)
            self.timings["model_cache"] = self.timings.get("model_cache", 0.0) + time.perf_counter() - start
            self.trained[key] = (bundle["model"], bundle["loss"] if "loss" in bundle else built["loss"])
