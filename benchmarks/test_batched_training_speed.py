"""Training the 24 fold models of one leave-one-speaker-out cell one at a time (``fit``) against all
together (``fit_many``, ser_bench.model.batched). Goal (issue 12, item 3): >= 10x on CPU.

The shape of IDT on RAVDESS with 4 emotions: 24 folds of 736 training clips x 64 features (is09-64),
siamese-mlp 64-32-16, 60 epochs of 6 batches (batch 128), weight decay 1e-4, on one core as every
ser-bench worker trains. Every round builds the 24 models afresh (seeded) and trains them; the batched
models are checked to equal the one-at-a-time ones bit for bit.

Run: ``.venv/bin/pytest benchmarks/test_batched_training_speed.py --benchmark-only --benchmark-enable``.
Quote the medians of one run and their ratio (in each batched test's ``extra_info`` with
``--benchmark-json``, and printed with ``-s``); machines here are shared and noisy.
"""
from __future__ import annotations

import copy

import pytest
import torch

from ser_bench.model.batched import fit_many
from ser_bench.model.training import DEFAULT_TRAINING, fit
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.types import LossContext

FOLDS, ROWS, FEATURES, CLASSES = 24, 736, 64, 4
SETTINGS = {"epochs": DEFAULT_TRAINING["epochs"], "batch_size": DEFAULT_TRAINING["batch_size"],
            "lr": DEFAULT_TRAINING["lr"], "weight_decay": DEFAULT_TRAINING["weight_decay"]}
ROUNDS = 3
medians: dict = {}
weights: dict = {}


@pytest.fixture(scope="module")
def folds():
    """24 training sets of 736 clips x 64 features with a class signal, and the registry."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    sets = []
    for _ in range(FOLDS):
        y = torch.arange(ROWS) % CLASSES
        x = torch.randn(ROWS, FEATURES, generator=gen)
        x[:, :CLASSES] += 1.5 * torch.eye(CLASSES)[y]
        sets.append((x, y))
    yield sets, load_registry(PluginSettings(entry_points=False))
    torch.set_num_threads(threads)


def fresh(registry, loss_name):
    """The 24 untrained (model, loss) pairs, each seeded as a fold's would be."""
    encoder, spec = registry.get("encoders", "siamese-mlp"), registry.get("losses", loss_name)
    context = LossContext(num_classes=CLASSES, embedding_dim=16, input_dim=FEATURES)
    out = []
    for fold in range(FOLDS):
        torch.manual_seed(1000 + fold)
        out.append((encoder.build(input_dim=FEATURES), spec.build(context=context) if spec.needs_context else spec.build()))
    return out


def state(pairs):
    return [{**model.state_dict(), **(loss.state_dict() if isinstance(loss, torch.nn.Module) else {})}
            for model, loss in pairs]


@pytest.mark.parametrize("loss_name,how", [("cross_entropy", "one_at_a_time"), ("cross_entropy", "batched"),
                                           ("bce_pair", "one_at_a_time"), ("bce_pair", "batched")])
def test_train_24_fold_models(benchmark, folds, loss_name, how):
    sets, registry = folds
    seeds = list(range(FOLDS))
    trained = []

    def setup():
        return (fresh(registry, loss_name),), {}

    def one_at_a_time(pairs):
        for (model, loss), (x, y), seed in zip(pairs, sets, seeds):
            fit(model, x, y, loss, seed=seed, **SETTINGS)
        trained.append(pairs)

    def together(pairs):
        fit_many([m for m, _ in pairs], [x for x, _ in sets], [y for _, y in sets], [lo for _, lo in pairs],
                 seeds=seeds, batchable=True, **SETTINGS)
        trained.append(pairs)

    benchmark.pedantic(one_at_a_time if how == "one_at_a_time" else together, setup=setup, rounds=ROUNDS,
                       iterations=1)
    medians[loss_name, how] = benchmark.stats.stats.median
    weights.setdefault(loss_name, {})[how] = state(trained[0])
    benchmark.extra_info["models"] = FOLDS
    if how == "batched" and (loss_name, "one_at_a_time") in medians:
        ratio = medians[loss_name, "one_at_a_time"] / medians[loss_name, "batched"]
        benchmark.extra_info["speedup_over_one_at_a_time"] = round(ratio, 2)
        print(f"\n{loss_name}: one at a time {medians[loss_name, 'one_at_a_time']:.2f} s, batched "
              f"{medians[loss_name, 'batched']:.2f} s (medians of {ROUNDS}): {ratio:.1f}x")
        alone, together_ = weights[loss_name]["one_at_a_time"], weights[loss_name]["batched"]
        assert all(torch.equal(a[k], b[k]) for a, b in zip(alone, together_) for k in a), "not the same models"


EPISODES, SHOTS = 30, 16  # few-shot: k = 4 speakers x 4 emotions, fine-tuned full batch


@pytest.mark.parametrize("how", ["one_at_a_time", "batched"])
def test_finetune_30_fewshot_episodes(benchmark, folds, how):
    """Where overhead is all there is: 30 episodes of 16 labelled clips fine-tuned with ratio_distance
    (60 full-batch steps, first layer frozen), each from its own copy of a pre-trained model."""
    from ser_bench.model.training import freeze_layers

    _, registry = folds
    gen = torch.Generator().manual_seed(1)
    shots = [(torch.randn(SHOTS, FEATURES, generator=gen), torch.arange(SHOTS) % CLASSES) for _ in range(EPISODES)]
    torch.manual_seed(0)
    pretrained = registry.get("encoders", "siamese-mlp").build(input_dim=FEATURES)
    loss = registry.get("losses", "ratio_distance").build()
    settings = {"steps": DEFAULT_TRAINING["finetune_steps"], "batch_size": SHOTS, "lr": DEFAULT_TRAINING["finetune_lr"],
                "weight_decay": DEFAULT_TRAINING["weight_decay"]}
    trained = []

    def setup():
        models = []
        for _ in range(EPISODES):
            model = copy.deepcopy(pretrained)
            freeze_layers(model, 1)
            models.append(model)
        return (models,), {}

    def one_at_a_time(models):
        for model, (x, y), seed in zip(models, shots, range(EPISODES)):
            fit(model, x, y, loss, seed=seed, **settings)
        trained.append(models)

    def together(models):
        fit_many(models, [x for x, _ in shots], [y for _, y in shots], [loss] * EPISODES, seeds=list(range(EPISODES)),
                 batchable=True, **settings)
        trained.append(models)

    benchmark.pedantic(one_at_a_time if how == "one_at_a_time" else together, setup=setup, rounds=ROUNDS,
                       iterations=1)
    medians["finetune", how] = benchmark.stats.stats.median
    weights.setdefault("finetune", {})[how] = [m.state_dict() for m in trained[0]]
    if how == "batched":
        ratio = medians["finetune", "one_at_a_time"] / medians["finetune", "batched"]
        benchmark.extra_info["speedup_over_one_at_a_time"] = round(ratio, 2)
        print(f"\nfine-tuning {EPISODES} episodes: one at a time {medians['finetune', 'one_at_a_time']:.2f} s, batched "
              f"{medians['finetune', 'batched']:.2f} s (medians of {ROUNDS}): {ratio:.1f}x")
        alone, together_ = weights["finetune"]["one_at_a_time"], weights["finetune"]["batched"]
        assert all(torch.equal(a[k], b[k]) for a, b in zip(alone, together_) for k in a), "not the same models"
