"""Fine-tuning a cell's few-shot episodes: a copy of the pre-trained model per episode, its first layers
frozen as the split says, trained on the episode's labelled clips (together where encoder and loss are
batchable), with the loss continued from pre-training when both stages use the same one.

:class:`FineTuning` is a part of :class:`~ser_bench.running.evaluation._CellRun` (a mixin): it reads the
run's ``cell``, ``registry``, ``context``, ``stages``, ``loss_spec``, ``manifests``, ``ys``, ``device``,
``features()``, ``trained_on()`` and ``_batchable()``, and fills ``fine_tuned`` and ``timings``.
"""
from __future__ import annotations

from collections import Counter

from ser_bench.errors import DivergedError
from ser_bench.model.batched import fit_many
from ser_bench.model.copying import copy_module
from ser_bench.model.training import fit, freeze_layers
from ser_bench.plugin_api.types import Split
from ser_bench.running.pretraining import build_loss, derived_seed
from ser_bench.running.splits import gather, size, unlabelled_rows

__all__ = ["FineTuning"]


class FineTuning:
    """Few-shot fine-tuning of a pre-trained model (see the module docstring)."""

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
            loss = build_loss(self.registry, cell.loss, cell.loss_params, self.context,
                              seed=derived_seed(cell.seed, "loss", split.name))
            if isinstance(loss, torch.nn.Module):
                loss = loss.to(self.device)
        state = ("continued" if continued else "fresh") if isinstance(loss, torch.nn.Module) else "none"
        extra = unlabelled_rows(split, self.manifests) if hasattr(model, "combine_loss") else None
        return {"model": model, "loss": loss, "state": state, "x": gather(xs, split.finetune),
                "y": gather(self.ys["loss"], split.finetune), "n": size(split.finetune),
                "seed": derived_seed(cell.seed, split.name),
                "unlabelled": xs[extra[0]][extra[1]] if extra and extra[1] else None}

    def finetuning_of(self, split: Split) -> str:
        """``"ratio_distance (fine-tuning, encoder siamese-mlp) on split 'k2-r0-f1'"``, for messages."""
        return f"{self.cell.loss} (fine-tuning, encoder {self.cell.encoder}) on split {split.name!r}"

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
        try:
            info = fit(job["model"], job["x"], job["y"], job["loss"], seed=job["seed"], unlabelled=job["unlabelled"],
                       **self._finetune_settings(job["n"]))
        except DivergedError as exc:
            raise exc.within(self.finetuning_of(split)) from None
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
            try:
                infos = fit_many([j["model"] for j in jobs], [j["x"] for j in jobs], [j["y"] for j in jobs],
                                 [j["loss"] for j in jobs], seeds=[j["seed"] for j in jobs], batchable=True,
                                 unlabelled=[j["unlabelled"] for j in jobs], **self._finetune_settings(n))
            except DivergedError as exc:
                raise exc.within(self.finetuning_of(members[exc.index or 0])) from None
            self.timings["finetune"] += sum(info["seconds"] for info in infos)
            for split, job in zip(members, jobs):
                self.fine_tuned[split.name] = (job["model"], job["state"])
