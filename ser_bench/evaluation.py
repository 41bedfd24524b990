"""Running one cell: protocol splits -> (cached) training -> fine-tuning -> support-set scoring -> metrics."""
from __future__ import annotations

import copy
import hashlib
import time
import zlib

import numpy as np

from .cells import Cell
from .decision import predict
from .errors import ProtocolError
from .metrics import classification_metrics, mean_ci95
from .model_cache import model_key
from .normalise import normalise
from .training import fit, freeze_layers
from .types import ProtocolData, Split


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


def _trained_model(cell, split, xs, ys, encoder, pretrain_fn, loss_fn, hashes, model_cache, timings):
    """The model trained on ``split.train``: from the disk cache when an identical one exists."""
    import torch

    is_pretraining = split.finetune is not None
    loss_name, loss_params = ((cell.pretrain_loss, cell.pretrain_loss_params) if is_pretraining
                              else (cell.loss, cell.loss_params))
    domain, idx = split.train.domain, list(split.train.indices)
    tr = cell.training

    def build():
        torch.manual_seed(_seed(cell.seed, "init"))
        return encoder.build(input_dim=xs[domain].shape[1], **cell.encoder_params)

    def train(model):
        info = fit(model, xs[domain][idx], ys[domain][idx], pretrain_fn if is_pretraining else loss_fn,
                   epochs=tr["epochs"], batch_size=tr["batch_size"], lr=tr["lr"],
                   weight_decay=tr["weight_decay"], seed=_seed(cell.seed, "train"))
        timings["train"] += info["seconds"]

    if model_cache is None:
        model = build()
        train(model)
        return model
    key = model_key(data=hashes.get(domain), rows=hashlib.sha1(repr(idx).encode()).hexdigest(),
                    feature=cell.feature, encoder=cell.encoder, encoder_params=cell.encoder_params,
                    loss=loss_name, loss_params=loss_params, labels=list(cell.labels), normalise=cell.normalise,
                    training={k: tr[k] for k in ("epochs", "batch_size", "lr", "weight_decay")}, seed=cell.seed)
    start = time.perf_counter()
    model = model_cache.get_or_train(key, build, train)
    timings["model_cache"] = timings.get("model_cache", 0.0) + time.perf_counter() - start
    return model


def evaluate_cell(cell: Cell, data: dict, registry, model_cache=None, hashes: dict | None = None) -> dict:
    """Run every split of ``cell``; ``data = {"source"/"target": (manifest, X)}`` already label-filtered.

    ``model_cache`` (a :class:`~ser_bench.model_cache.DiskModelCache`) shares trained models between
    cells; ``hashes`` maps each domain to its manifest hash (part of the cache key).
    Returns the ``splits``, ``summary`` and ``timings`` parts of a result.
    """
    hashes = hashes or {}
    import torch

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
    loss_fn = registry.get("losses", cell.loss).build(**cell.loss_params)
    pretrain_fn = registry.get("losses", cell.pretrain_loss).build(**cell.pretrain_loss_params)
    ys = {d: torch.tensor(m["emotion"].map(label_index).to_numpy(), dtype=torch.long) for d, m in manifests.items()}
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
            trained[key] = _trained_model(cell, split, xs, ys, encoder, pretrain_fn, loss_fn, hashes,
                                          model_cache, timings)
        model = trained[key]
        finetune_info = None
        if split.finetune is not None:
            model = copy.deepcopy(model)
            freeze_layers(model, split.frozen_layers)
            idx = list(split.finetune.indices)
            finetune_info = fit(model, xs[split.finetune.domain][idx], ys[split.finetune.domain][idx], loss_fn,
                                steps=cell.training["finetune_steps"], batch_size=len(idx),
                                lr=cell.training["finetune_lr"], weight_decay=cell.training["weight_decay"],
                                seed=_seed(cell.seed, split.name))
            timings["finetune"] += finetune_info["seconds"]
        ts = time.perf_counter()
        sup, test = list(split.support.indices), list(split.test.indices)
        pred = predict(model, xs[split.test.domain][test], xs[split.support.domain][sup],
                       ys[split.support.domain][sup], len(labels), cell.decision)
        timings["scoring"] += time.perf_counter() - ts
        metrics = classification_metrics(ys[split.test.domain][test].numpy(), pred.numpy(), labels)
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
