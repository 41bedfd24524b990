"""Running one cell: protocol splits -> (cached) training -> fine-tuning -> support-set scoring -> metrics."""
from __future__ import annotations

import copy
import hashlib
import time
import zlib

import numpy as np

from .cells import Cell
from .errors import ProtocolError
from .heads import HEADS
from .metrics import classification_metrics, continuous_metrics, mean_ci95
from .model_cache import code_fingerprint, model_key
from .normalise import normalise
from .registry import base_name
from .training import fit, freeze_layers
from .types import LossContext, ProtocolData, Split


def split_hash(split: Split) -> str:
    """SHA-1 of a split's index sets: equal hashes mean identical data."""
    h = hashlib.sha1()
    for part in (split.train, split.finetune, split.support, split.test):
        h.update(repr((part.domain, part.indices) if part else None).encode())
    return h.hexdigest()[:16]


def check_speaker_disjoint(split: Split, manifests: dict) -> list[str]:
    """Speakers on both the training side and the test side of a split (same domain).

    Raises :class:`ProtocolError` when there are any, unless the split allows overlap by design
    (``info["speaker_overlap_allowed"]``), in which case they are returned to be recorded.
    """
    test_speakers = set(manifests[split.test.domain]["speaker"].astype(str).iloc[list(split.test.indices)])
    seen = set()
    for part in (split.train, split.finetune, split.support):
        if part is not None and part.domain == split.test.domain:
            seen |= set(manifests[part.domain]["speaker"].astype(str).iloc[list(part.indices)])
    overlap = sorted(seen & test_speakers)
    if overlap and not split.info.get("speaker_overlap_allowed"):
        raise ProtocolError(f"split {split.name!r} leaks speakers into its test set: {overlap[:10]}")
    return overlap


def sentence_overlap(split: Split, manifests: dict) -> list[str]:
    """Sentences (texts) heard on both sides of a split within one corpus; reported, not an error."""
    test = manifests[split.test.domain]
    if "sentence" not in test:
        return []
    seen = set()
    for part in (split.train, split.finetune, split.support):
        if part is not None and part.domain == split.test.domain:
            seen |= set(test["sentence"].iloc[list(part.indices)].dropna().astype(str))
    return sorted(seen & set(test["sentence"].iloc[list(split.test.indices)].dropna().astype(str)))


def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def build_loss(registry, name: str, params: dict, context: LossContext):
    """The loss object for ``name`` (``name:variant`` allowed), given the run-time context."""
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


def _trained_model(cell, split, xs, ys, encoder, losses, hashes, model_cache, timings, registry):
    """The model trained on ``split.train``: from the disk cache when an identical one exists."""
    import torch

    stage = "pretrain" if split.finetune is not None else "loss"
    loss_name, loss_params = ((cell.pretrain_loss, cell.pretrain_loss_params) if stage == "pretrain"
                              else (cell.loss, cell.loss_params))
    domain, idx = split.train.domain, list(split.train.indices)
    tr = cell.training

    def build():
        torch.manual_seed(_seed(cell.seed, "init"))
        return encoder.build(input_dim=xs[domain].shape[1], **cell.encoder_params)

    def train(model):
        info = fit(model, xs[domain][idx], ys[stage][domain][idx], losses[stage], epochs=tr["epochs"],
                   batch_size=tr["batch_size"], lr=tr["lr"], weight_decay=tr["weight_decay"],
                   seed=_seed(cell.seed, "train"))
        timings["train"] += info["seconds"]

    if model_cache is None:
        model = build()
        train(model)
        return model
    key = model_key(data=hashes.get(domain), rows=hashlib.sha1(repr(idx).encode()).hexdigest(),
                    feature=cell.feature, encoder=cell.encoder, encoder_params=cell.encoder_params,
                    loss=loss_name, loss_params=loss_params, labels=list(cell.labels), normalise=cell.normalise,
                    training={k: tr[k] for k in ("epochs", "batch_size", "lr", "weight_decay")}, seed=cell.seed,
                    code=code_fingerprint(encoder.build, fit, registry.get("losses", loss_name).build))
    start = time.perf_counter()
    model = model_cache.get_or_train(key, build, train)
    timings["model_cache"] = timings.get("model_cache", 0.0) + time.perf_counter() - start
    return model


def _unlabelled(split: Split, manifests: dict) -> list[int]:
    """Clips of the fine-tuning speakers that are neither labelled nor tested: free unlabelled data."""
    if split.finetune is None:
        return []
    frame = manifests[split.finetune.domain]
    speakers = set(frame["speaker"].iloc[list(split.finetune.indices)])
    excluded = set(split.finetune.indices) | (set(split.test.indices) if split.test.domain == split.finetune.domain
                                               else set())
    return [i for i in np.flatnonzero(frame["speaker"].isin(speakers).to_numpy()) if i not in excluded]


def evaluate_cell(cell: Cell, data: dict, registry, model_cache=None, hashes: dict | None = None) -> dict:
    """Run every split of ``cell``; ``data = {"source"/"target": (manifest, X)}`` already label-filtered.

    ``model_cache`` (a :class:`~ser_bench.model_cache.DiskModelCache`) shares trained models between
    cells; ``hashes`` maps each domain to its manifest hash (part of the cache key).
    Returns the ``splits``, ``summary`` and ``timings`` parts of a result.
    """
    import torch

    hashes = hashes or {}
    t0 = time.perf_counter()
    labels = list(cell.labels)
    label_index = {c: i for i, c in enumerate(labels)}
    manifests = {d: m for d, (m, _) in data.items()}
    protocol = registry.get("protocols", cell.protocol)
    pdata = ProtocolData(target=manifests["target"], source=manifests.get("source"))
    splits = protocol.splits(pdata, seed=cell.seed, **cell.protocol_params)
    if not splits:
        raise ProtocolError(f"protocol {cell.protocol!r} produced no splits for target {cell.target!r}")
    encoder = registry.get("encoders", cell.encoder)
    input_dim = next(iter(data.values()))[1].shape[1]
    probe = encoder.build(input_dim=input_dim, **cell.encoder_params)
    with torch.no_grad():
        embedding_dim = int(probe.embed(torch.zeros(2, input_dim)).shape[1])
    context = LossContext(num_classes=len(labels), embedding_dim=embedding_dim, input_dim=input_dim)
    losses = {"loss": build_loss(registry, cell.loss, cell.loss_params, context),
              "pretrain": build_loss(registry, cell.pretrain_loss, cell.pretrain_loss_params, context)}
    classes = {d: torch.tensor(m["emotion"].map(label_index).to_numpy(), dtype=torch.long)
               for d, m in manifests.items()}
    ys = {stage: {d: training_targets(m, obj, label_index) for d, m in manifests.items()}
          for stage, obj in losses.items()}
    head = HEADS[cell.head]
    trained: dict = {}
    normalised: dict = {}  # identical training sets train once per cell
    timings = {"train": 0.0, "finetune": 0.0, "scoring": 0.0}
    out = []
    for split in splits:
        overlap = check_speaker_disjoint(split, manifests)
        key = (split.train.domain, split.train.indices)
        if key not in normalised:  # normalisation depends only on the training set
            normalised[key] = {d: torch.as_tensor(x) for d, x in
                               normalise(data, split.train.domain, split.train.indices, cell.normalise).items()}
        xs = normalised[key]
        if key not in trained:
            trained[key] = _trained_model(cell, split, xs, ys, encoder, losses, hashes, model_cache, timings,
                                          registry)
        model = trained[key]
        if split.finetune is not None:
            model = copy.deepcopy(model)
            freeze_layers(model, split.frozen_layers)
            domain, idx = split.finetune.domain, list(split.finetune.indices)
            unlabelled = _unlabelled(split, manifests) if hasattr(model, "combine_loss") else []
            info = fit(model, xs[domain][idx], ys["loss"][domain][idx], copy.deepcopy(losses["loss"]),
                       steps=cell.training["finetune_steps"], batch_size=len(idx), lr=cell.training["finetune_lr"],
                       weight_decay=cell.training["weight_decay"], seed=_seed(cell.seed, split.name),
                       unlabelled=xs[domain][unlabelled] if unlabelled else None)
            timings["finetune"] += info["seconds"]
        ts = time.perf_counter()
        sup, test = list(split.support.indices), list(split.test.indices)
        x_sup, x_test = xs[split.support.domain][sup], xs[split.test.domain][test]
        pred = head(model, x_test, x_sup, classes[split.support.domain][sup], len(labels), rule=cell.decision)
        timings["scoring"] += time.perf_counter() - ts
        metrics = classification_metrics(classes[split.test.domain][test].numpy(), pred.numpy(), labels)
        targets = tuple(getattr(losses["loss"], "targets", ("emotion",)))
        if targets != ("emotion",):
            metrics["continuous"] = continuous_metrics(model, x_sup, x_test, manifests[split.support.domain].iloc[sup],
                                                       manifests[split.test.domain].iloc[test], targets)
        out.append({
            "name": split.name, "info": dict(split.info), "hash": split_hash(split),
            "frozen_layers": split.frozen_layers,
            "sizes": {"train": len(split.train.indices), "support": len(sup), "test": len(test),
                      "finetune": len(split.finetune.indices) if split.finetune else 0},
            "speaker_overlap": overlap,
            "sentence_overlap": sentence_overlap(split, manifests),
            "metrics": metrics,
        })
    timings["total"] = time.perf_counter() - t0
    return {"splits": out, "summary": summarise(out), "timings": timings}


def summarise(splits: list[dict]) -> dict:
    """Mean and 95 % CI of UAR over repeats (settings averaged within a repeat) or over folds."""
    groups: dict = {}
    for s in splits:
        groups.setdefault(s["info"].get("repeat", s["name"]), []).append(s["metrics"]["uar"])
    per_unit = [float(np.mean(v)) for v in groups.values()]
    mean, lo, hi = mean_ci95(per_unit)
    return {
        "uar": mean, "uar_ci95": [lo, hi], "n_units": len(per_unit), "n_splits": len(splits),
        "accuracy": float(np.mean([s["metrics"]["accuracy"] for s in splits])),
        "macro_f1": float(np.mean([s["metrics"]["macro_f1"] for s in splits])),
    }
