"""A split is the unit of state: results do not depend on fold order, the model cache or other splits.

Each test here failed on 0.1: the loss object (a softmax layer, ArcFace proxies) was built once per
cell and trained fold after fold, the cache stored the encoder without the loss it was trained with,
and fine-tuning started from an untrained copy of the loss.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from ser_bench.running import evaluation
from ser_bench.running.cells import Cell, resolve
from ser_bench.model.model_cache import DiskModelCache

from .conftest import FAST_TRAINING, TINY


@pytest.fixture(scope="module")
def data(tiny_cell_data):
    return tiny_cell_data


def cell(registry, protocol, loss, **kw):
    return resolve(Cell(protocol=protocol, loss=loss, target="sim-ravdess",
                        source=None if protocol == "idt" else "sim-crema", training=dict(FAST_TRAINING),
                        dataset_params=TINY, **kw), registry)


def by_name(body):
    return {s.name: (s.metrics.uar, s.metrics.confusion, s.loss_state) for s in body.splits}


def only(data, role="target"):
    return {k: v for k, v in data.items() if k == role or role == "all"}


@pytest.mark.parametrize("loss", ["cross_entropy", "pml:ArcFaceLoss"])
def test_idt_folds_are_independent_of_their_order(registry, data, loss):
    c = cell(registry, "idt", loss)
    forward = evaluation.evaluate_cell(c, only(data), registry)
    backward = evaluation.evaluate_cell(c, only(data), registry, split_filter=lambda s: list(reversed(s)))
    assert by_name(forward) == by_name(backward)


def test_a_fold_alone_equals_the_same_fold_in_the_whole_run(registry, data):
    c = cell(registry, "idt", "cross_entropy")
    whole = by_name(evaluation.evaluate_cell(c, only(data), registry))
    last = evaluation.evaluate_cell(c, only(data), registry, split_filter=lambda s: s[-1:])
    (name, value), = by_name(last).items()
    assert whole[name] == value


def test_results_do_not_depend_on_the_model_cache(registry, data, tmp_path):
    c = cell(registry, "fewshot", "cross_entropy", protocol_params={"k": [1], "repeats": 2, "frozen": [0]})
    no_cache = by_name(evaluation.evaluate_cell(c, data, registry))
    cold = DiskModelCache(tmp_path / "models")
    first = by_name(evaluation.evaluate_cell(c, data, registry, model_cache=cold))
    warm = DiskModelCache(tmp_path / "models")
    second = by_name(evaluation.evaluate_cell(c, data, registry, model_cache=warm))
    assert cold.misses == 1 and warm.hits == 1
    assert no_cache == first == second


def test_finetuning_continues_the_loss_trained_on_the_source(registry, data, monkeypatch):
    import torch

    c = cell(registry, "fewshot", "cross_entropy", protocol_params={"k": [1], "repeats": 1, "frozen": [0]})
    assert c.pretrain_loss == "cross_entropy"
    seen = []
    from ser_bench.model.training import fit as real_fit

    def spy(model, x, y, loss_fn, **kw):
        seen.append({k: v.clone() for k, v in loss_fn.state_dict().items()})
        return real_fit(model, x, y, loss_fn, **kw)

    from ser_bench.running import finetuning, pretraining

    monkeypatch.setattr(pretraining, "fit", spy)
    monkeypatch.setattr(finetuning, "fit", spy)
    body = evaluation.evaluate_cell(c, data, registry)
    pretrained_after, finetune_start = seen[0], seen[1]
    assert body.splits[0].loss_state == "continued"
    # What fine-tuning starts from is the classifier as pre-training left it, not a fresh one.
    run = evaluation._CellRun(c, data, registry, None, {})
    split = registry.get("protocols", "fewshot").splits(
        evaluation.ProtocolData(target=data["target"][0], source=data["source"][0]), seed=0, **c.protocol_params)[0]
    _, trained_loss = run.trained_on(split, run.features(split))
    for key, value in trained_loss.state_dict().items():
        assert torch.equal(finetune_start[key], value)
        assert not torch.equal(pretrained_after[key], value)  # and pre-training did change it


def test_a_different_finetuning_loss_starts_fresh_and_says_so(registry, data):
    c = cell(registry, "fewshot", "cross_entropy", pretrain_loss="bce_pair",
             protocol_params={"k": [1], "repeats": 1, "frozen": [0]})
    body = evaluation.evaluate_cell(c, data, registry)
    assert {s.loss_state for s in body.splits} == {"fresh"}


def test_rehearsal_keeps_the_target_draw_and_adds_source_clips(registry, data):
    plain = cell(registry, "fewshot", "bce_pair", protocol_params={"k": [2], "repeats": 2, "frozen": [0]})
    mixed = replace(plain, protocol_params={**plain.protocol_params, "rehearsal": 3, "source_support": 2})
    a = evaluation.evaluate_cell(plain, data, registry).splits
    b = evaluation.evaluate_cell(mixed, data, registry).splits
    for x, y in zip(a, b):
        assert x.episode_hash == y.episode_hash and x.hash != y.hash
        assert y.sizes["finetune"] == x.sizes["finetune"] + 3 * 4
        assert y.sizes["support"] == x.sizes["support"] + 2 * 4
        assert y.sizes["test"] == x.sizes["test"]


def test_support_counts_are_recorded(registry, data):
    c = cell(registry, "oodt", "bce_pair")
    split, = evaluation.evaluate_cell(c, data, registry).splits
    counts = data["source"][0]["emotion"].value_counts().to_dict()
    assert split.support_counts == {k: counts[k] for k in c.labels}
    assert split.support_balanced == (len(set(counts.values())) == 1)


def test_unbalanced_support_the_sum_rule_starves_the_largest_class_and_the_default_does_not(registry, data):
    import numpy as np

    manifest, x = data["source"]
    rng = np.random.default_rng(0)
    keep = (manifest["emotion"] == "anger").to_numpy() | (rng.random(len(manifest)) < 0.25)
    source = (manifest[keep].reset_index(drop=True), x[keep])
    unbalanced = {"source": source, "target": data["target"]}
    c = cell(registry, "oodt", "bce_pair")
    assert c.decision == "mean"  # the default; the paper's sum is asked for by name
    predicted = {}
    for rule in ("sum", "mean"):
        split, = evaluation.evaluate_cell(replace(c, decision=rule), unbalanced, registry).splits
        assert split.support_balanced is False
        predicted[rule] = np.asarray(split.metrics.confusion).sum(0)[0]  # clips predicted as anger
    assert predicted["sum"] == 0 < predicted["mean"]
