"""Training many models at once (ser_bench.model.batched) gives each model exactly what training it alone gives.

Equality here is bit for bit (``torch.equal`` on every weight), on one thread as every ser-bench worker
trains: a split's result must not depend on which other splits were trained beside it, nor on whether
its model was trained batched, one by one, or read from the model cache.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ser_bench.model import batched
from ser_bench.model.batched import fit_many
from ser_bench.model.twins import batched_twin, has_batched_twin
from ser_bench.model.stacked import StackedAdam, stack_modules, stacked_linear_class
from ser_bench.model.batched_losses import bce_with_logits_mean
from ser_bench.model.training import fit, freeze_layers
from ser_bench.plugin_api.registry import Registry
from ser_bench.plugin_api.types import LossContext
from ser_bench.running import evaluation
from ser_bench.running.cells import Cell, resolve

from .conftest import FAST_TRAINING, TINY

CONTEXT = LossContext(num_classes=4, embedding_dim=16, input_dim=24)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def batchable_pairs(registry):
    """Every (loss, encoder) of the registry that trains batched: both specs declare it, kinds agree."""
    encoders = [e.spec for e in registry.entries("encoders") if e.spec.batchable]
    return [(loss.spec.name, encoder.name) for loss in registry.entries("losses") if has_batched_twin(loss.spec)
            for encoder in encoders if encoder.kind in loss.spec.encoder_kinds]


def make(registry, loss_name, encoder_name, seed, frozen=0, **loss_params):
    torch.manual_seed(seed)
    model = registry.get("encoders", encoder_name).build(input_dim=CONTEXT.input_dim)
    freeze_layers(model, frozen)
    spec = registry.get("losses", loss_name)
    loss = spec.build(context=CONTEXT, **loss_params) if spec.needs_context else spec.build(**loss_params)
    return model, loss


def data(n, seed, classes=4):
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(classes, (n,), generator=gen)
    return torch.randn(n, CONTEXT.input_dim, generator=gen) + y[:, None] * 0.5, y


def weights(model, loss):
    state = dict(model.state_dict())
    if isinstance(loss, torch.nn.Module):
        state.update({f"loss.{k}": v for k, v in loss.state_dict().items()})
    return state


def assert_same(alone, together):
    for (model_a, loss_a), (model_b, loss_b) in zip(alone, together):
        a, b = weights(model_a, loss_a), weights(model_b, loss_b)
        assert a.keys() == b.keys()
        unequal = [k for k in a if not torch.equal(a[k], b[k])]
        assert not unequal, f"differ from training alone: {unequal}"


def train_both(registry, loss_name, encoder_name, sizes, frozen=0, settings=None, **loss_params):
    """Train one model per entry of ``sizes`` (its rows) alone with fit and together with fit_many."""
    settings = settings or {"epochs": 2, "batch_size": 8}
    sets = [data(n, 100 + i) for i, n in enumerate(sizes)]
    seeds = [7 + i for i in range(len(sizes))]
    alone = [make(registry, loss_name, encoder_name, i, frozen, **loss_params) for i in range(len(sizes))]
    infos_alone = [fit(m, x, y, lo, seed=s, lr=1e-2, weight_decay=1e-3, **settings)
                   for (m, lo), (x, y), s in zip(alone, sets, seeds)]
    together = [make(registry, loss_name, encoder_name, i, frozen, **loss_params) for i in range(len(sizes))]
    infos_together = fit_many([m for m, _ in together], [x for x, _ in sets], [y for _, y in sets],
                              [lo for _, lo in together], seeds=seeds, batchable=True, lr=1e-2, weight_decay=1e-3,
                              **settings)
    return alone, together, infos_alone, infos_together


def test_every_batchable_builtin_is_covered(registry):
    pairs = batchable_pairs(registry)
    assert {loss for loss, _ in pairs} >= {"cross_entropy", "softmax_mlp", "bce_pair", "ratio_distance"}
    assert {encoder for _, encoder in pairs} >= {"siamese-mlp", "mlp"}


@pytest.mark.parametrize("settings", [{"epochs": 2, "batch_size": 8}, {"epochs": 2, "batch_size": 48},
                                      {"steps": 5, "batch_size": 37}])
def test_each_batchable_loss_trains_bit_for_bit_as_alone(registry, settings):
    # 37 rows in batches of 8: 5 batches of 7 or 8 rows (odd shapes, per-model loops and copies); of
    # 48: one batch of 37 (aligned shapes, PyTorch's own batched products); full batch as fine-tuning.
    for loss_name, encoder_name in batchable_pairs(registry):
        alone, together, infos_alone, infos_together = train_both(
            registry, loss_name, encoder_name, [37, 37, 37], settings=settings)
        assert_same(alone, together)
        assert [i["steps"] for i in infos_alone] == [i["steps"] for i in infos_together]
        assert [i["last_loss"] for i in infos_alone] == [i["last_loss"] for i in infos_together], loss_name


@pytest.mark.parametrize("frozen", [1, 2])
@pytest.mark.parametrize("loss_name", ["cross_entropy", "ratio_distance"])
def test_frozen_layers_stay_frozen_and_the_rest_trains_as_alone(registry, loss_name, frozen):
    alone, together, _, _ = train_both(registry, loss_name, "siamese-mlp", [20, 20, 20, 20], frozen=frozen,
                                       settings={"steps": 6, "batch_size": 20})
    assert_same(alone, together)
    untouched = make(registry, loss_name, "siamese-mlp", 0, frozen)[0]
    for layer, trained in zip(untouched.feature_layers()[:frozen], together[0][0].feature_layers()[:frozen]):
        for before, after in zip(layer.parameters(), trained.parameters()):
            assert torch.equal(before, after) and not after.requires_grad


def test_label_smoothing_and_an_unbalanced_pair_loss(registry):
    assert_same(*train_both(registry, "cross_entropy", "mlp", [30, 30], label_smoothing=0.2)[:2])
    assert_same(*train_both(registry, "bce_pair", "siamese-mlp", [30, 30], balance=False)[:2])


def test_batches_of_one_kind_of_pair_and_of_one_clip(registry):
    # 3-clip batches of 4 classes often hold no same-class pair: ratio_term's early return, per model.
    assert_same(*train_both(registry, "ratio_distance", "siamese-mlp", [9, 9, 9],
                            settings={"epochs": 3, "batch_size": 3})[:2])
    # One-clip batches: pair losses return 0 and the decision layers get no gradient (nor an update).
    assert_same(*train_both(registry, "bce_pair", "siamese-mlp", [5, 5], settings={"epochs": 2, "batch_size": 1})[:2])


def test_unequal_sizes_train_in_groups_and_a_lone_model_alone(registry, monkeypatch):
    groups = []
    real = batched._fit_group

    def spy(models, *args, **kwargs):
        groups.append(len(models))
        return real(models, *args, **kwargs)

    monkeypatch.setattr(batched, "_fit_group", spy)
    alone, together, _, _ = train_both(registry, "cross_entropy", "siamese-mlp", [30, 41, 30, 17, 41, 30])
    assert_same(alone, together)
    assert sorted(groups) == [2, 3]  # 30 x 3 and 41 x 2 together; 17 alone through fit


def test_a_model_gets_the_same_bits_whatever_its_company(registry):
    """The same model (data, seed) trained in groups of 2 and of 5, at different places in each."""
    x, y = data(40, 0)

    def train(position, count):
        pairs = [make(registry, "bce_pair", "siamese-mlp", 50 + i) for i in range(count)]
        pairs[position] = make(registry, "bce_pair", "siamese-mlp", 0)
        sets = [data(40, 60 + i) for i in range(count)]
        sets[position] = (x, y)
        seeds = [90 + i for i in range(count)]
        seeds[position] = 3
        fit_many([m for m, _ in pairs], [s[0] for s in sets], [s[1] for s in sets], [lo for _, lo in pairs],
                 seeds=seeds, batchable=True, epochs=2, batch_size=16)
        return pairs[position]

    first = train(1, 2)
    for position, count in [(0, 2), (4, 5), (2, 5)]:
        assert_same([first], [train(position, count)])


def test_stacked_linear_equals_linear_forward_and_backward_across_shapes():
    """Every path of StackedLinear (PyTorch's batched op, the aligned bmm, one addmm per model) against
    nn.Linear with autograd, on shapes around the measured limits (sides of 1, under 16, small products)."""
    stacked_linear = stacked_linear_class()
    gen = torch.Generator().manual_seed(0)
    # (5, 7, 17), (7, 7, 1), (3, 33, 5): slices of a plain [3, rows, inner] tensor start unaligned, and
    # MKL then rounds differently: the copies into aligned slabs are what keeps these equal.
    for rows, inner, cols in [(123, 64, 64), (123, 16, 4), (37, 24, 1), (1, 16, 16), (7, 3, 5), (5, 8, 16),
                              (40, 16, 16), (122, 32, 16), (2, 64, 8), (5, 7, 17), (7, 7, 1), (3, 33, 5)]:
        layers = [torch.nn.Linear(inner, cols) for _ in range(3)]
        x = torch.randn(3, rows, inner, generator=gen)
        grad = torch.randn(3, rows, cols, generator=gen)
        expected = []
        for layer, xm, gm in zip(layers, x, grad):
            xm = xm.clone().requires_grad_()
            out = layer(xm)
            out.backward(gm.clone())
            expected.append((out.detach(), xm.grad, layer.weight.grad, layer.bias.grad))
        stacked = stacked_linear(layers)
        xs = x.clone().requires_grad_()
        out = stacked(xs)
        out.backward(grad)
        for m, (y, gx, gw, gb) in enumerate(expected):
            assert torch.equal(out[m], y) and torch.equal(xs.grad[m], gx), (rows, inner, cols)
            assert torch.equal(stacked.weight.grad[m], gw), (rows, inner, cols)
            assert torch.equal(stacked.bias.grad[m], gb), (rows, inner, cols)


def test_pair_bce_gradients_per_model_equal_the_lone_ones():
    """sigmoid's vector and scalar code round differently: each model's rows must end where a lone
    tensor's do (1001 and 7503 pairs leave a scalar tail; 7503 is a batch of 123 clips)."""
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    for pairs in (1001, 7503):
        logits = torch.randn(5, pairs, generator=gen) * 4
        target = (torch.rand(5, pairs, generator=gen) > 0.7).float()
        weight = torch.rand(5, pairs, generator=gen) + 0.5
        stacked = logits.clone().requires_grad_()
        bce_with_logits_mean(stacked, target, weight).sum().backward()
        for m in range(5):
            alone = logits[m].clone().requires_grad_()
            F.binary_cross_entropy_with_logits(alone, target[m], weight=weight[m]).backward()
            assert torch.equal(stacked.grad[m], alone.grad)


def test_stacked_adam_steps_as_torch_adam_on_each_model():
    shapes = [(64, 64), (64,), (4, 16), (4,), (1, 16), (1,), (7, 3)]
    gen = torch.Generator().manual_seed(0)
    alone = [[torch.nn.Parameter(torch.randn(*shape, generator=gen)) for shape in shapes] for _ in range(3)]
    stacked = [torch.nn.Parameter(torch.stack([models[i].detach() for models in alone])) for i in range(len(shapes))]
    optimisers = [torch.optim.Adam(params, lr=1e-2, weight_decay=1e-3) for params in alone]
    together = StackedAdam(stacked, lr=1e-2, weight_decay=1e-3)
    for step in range(20):
        grads = [torch.randn(3, *shape, generator=gen) for shape in shapes]
        skip = step % 7 == 3  # a step where the last parameter gets no gradient: skipped, not decayed
        for m, params in enumerate(alone):
            for i, p in enumerate(params):
                p.grad = None if skip and i == len(shapes) - 1 else grads[i][m].clone()
        for i, p in enumerate(stacked):
            p.grad = None if skip and i == len(shapes) - 1 else grads[i].clone()
        for optimiser in optimisers:
            optimiser.step()
        together.step()
    for m, params in enumerate(alone):
        for i, p in enumerate(params):
            assert torch.equal(stacked[i][m], p), (m, shapes[i])


def test_a_loss_that_is_not_batchable_trains_one_by_one(registry, monkeypatch):
    import ser_bench.model.training as training

    calls = []
    real = training.fit

    def spy(model, *args, **kwargs):
        calls.append(model)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(training, "fit", spy)
    monkeypatch.setattr(batched, "_fit_group", lambda *a, **k: pytest.fail("a non-batchable loss was batched"))
    assert not has_batched_twin(registry.get("losses", "triplet"))  # a miner picks tuples from the data it sees
    models = [make(registry, "triplet", "mlp", i) for i in range(3)]
    sets = [data(20, i) for i in range(3)]
    fit_many([m for m, _ in models], [x for x, _ in sets], [y for _, y in sets], [lo for _, lo in models],
             seeds=[1, 2, 3], batchable=False, epochs=1, batch_size=10)
    assert calls == [m for m, _ in models]


def test_on_more_than_one_thread_each_model_trains_alone(registry, monkeypatch):
    """MKL's threaded kernels round otherwise than its one-thread ones: batching is kept to one thread."""
    monkeypatch.setattr(batched, "_fit_group", lambda *a, **k: pytest.fail("batched on two threads"))
    torch.set_num_threads(2)
    alone, together, _, _ = train_both(registry, "cross_entropy", "siamese-mlp", [20, 20])
    assert_same(alone, together)


def test_what_cannot_be_batched_is_refused_not_guessed(registry):
    dae = [make(registry, "cross_entropy", "dae", i) for i in range(2)]
    sets = [data(10, i) for i in range(2)]
    with pytest.raises(ValueError, match="combine_loss"):
        fit_many([m for m, _ in dae], [x for x, _ in sets], [y for _, y in sets], [lo for _, lo in dae],
                 seeds=[1, 2], batchable=True, epochs=1)
    plain = [make(registry, "triplet", "mlp", i) for i in range(2)]
    with pytest.raises(TypeError, match="batched"):
        fit_many([m for m, _ in plain], [x for x, _ in sets], [y for _, y in sets], [lo for _, lo in plain],
                 seeds=[1, 2], batchable=True, epochs=1)
    with pytest.raises(ValueError, match="nn.Linear"):
        stack_modules([torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3)) for _ in range(2)])


# --- cells: batched evaluation equals one-by-one evaluation, split by split ---------------------------

@pytest.fixture(scope="module")
def cell_data(tiny_cell_data):
    return tiny_cell_data


def one_by_one(registry) -> Registry:
    """The same plugins, none of them batchable."""
    plain = Registry()
    for entry in registry.entries():
        plain.add(replace(entry, spec=replace(entry.spec, batchable=False)) if hasattr(entry.spec, "batchable")
                  else entry)
    return plain


def results(body):
    return {s.name: s for s in body.splits}


CELLS = [
    ("idt", "cross_entropy", {}),
    ("idt", "bce_pair", {}),
    ("fewshot", "ratio_distance", {"pretrain_loss": "bce_pair",
                                   "protocol_params": {"k": [1, 2], "repeats": 2, "frozen": [0, 1]}}),
    ("fewshot", "cross_entropy", {"protocol_params": {"k": [2], "repeats": 3, "frozen": [0, 2]}}),
]


@pytest.mark.parametrize("protocol,loss,extra", CELLS, ids=[f"{p}-{lo}" for p, lo, _ in CELLS])
def test_a_cell_evaluated_batched_equals_it_evaluated_one_by_one(registry, cell_data, monkeypatch, protocol, loss,
                                                                   extra):
    cell = resolve(Cell(protocol=protocol, loss=loss, target="sim-ravdess",
                        source=None if protocol == "idt" else "sim-crema", training=dict(FAST_TRAINING),
                        dataset_params=TINY, **extra), registry)
    data = cell_data if protocol != "idt" else {"target": cell_data["target"]}
    groups = []
    real = batched._fit_group
    monkeypatch.setattr(batched, "_fit_group",
                        lambda models, *a, **k: groups.append(len(models)) or real(models, *a, **k))
    together = evaluation.evaluate_cell(cell, data, registry)
    assert groups and max(groups) >= 2, "nothing was trained batched"
    alone = evaluation.evaluate_cell(cell, data, one_by_one(registry))
    assert results(together) == results(alone)
    # A worker evaluating every third split alone gives the same numbers as the whole cell.
    parts = [evaluation.evaluate_cell(cell, data, registry, split_filter=lambda s, p=p: list(s)[p::3])
             for p in range(3)]
    merged = {name: value for body in parts for name, value in results(body).items()}
    assert merged == results(together)


def test_batched_training_goes_through_the_model_cache_under_the_same_keys(registry, cell_data, tmp_path):
    from ser_bench.model.model_cache import DiskModelCache

    cell = resolve(Cell(protocol="idt", loss="cross_entropy", target="sim-ravdess", training=dict(FAST_TRAINING),
                        dataset_params=TINY), registry)
    data = {"target": cell_data["target"]}
    no_cache = results(evaluation.evaluate_cell(cell, data, registry))
    cold = DiskModelCache(tmp_path / "models")
    assert results(evaluation.evaluate_cell(cell, data, registry, model_cache=cold)) == no_cache
    folds = len(no_cache)
    assert cold.misses == folds and cold.hits == 0
    # Models trained batched serve a run that trains one by one: same keys, same weights.
    warm = DiskModelCache(tmp_path / "models")
    assert results(evaluation.evaluate_cell(cell, data, one_by_one(registry), model_cache=warm)) == no_cache
    assert warm.hits == folds
    # A partly warm cache: what it holds is loaded, the rest is trained (together) and stored.
    entries = sorted((tmp_path / "models").rglob("*.pt"))
    for entry in entries[: folds // 2]:
        entry.unlink()
    partial = DiskModelCache(tmp_path / "models")
    assert results(evaluation.evaluate_cell(cell, data, registry, model_cache=partial)) == no_cache
    assert partial.misses == folds // 2 and partial.hits == folds - folds // 2


# --- conformance: a plugin declaring batchable is checked, and a false claim is caught ----------------

def with_spec(registry, kind, spec) -> Registry:
    from ser_bench.plugin_api.registry import Entry

    out = Registry()
    for entry in registry.entries():
        out.add(entry)
    out.add(Entry(kind, spec, "test", "test", "0"))
    return out


def test_a_loss_claiming_batchable_with_other_numbers_fails_conformance(registry):
    from ser_bench.plugin_kit.testing import check_loss
    from ser_bench_plugins.losses import bce_pair

    @batched_twin
    def build(balance=True):
        loss = bce_pair.build(balance)
        # the classic shortcut: a masked mean over all pairs, equal in exact arithmetic, not in floats
        loss.batched = lambda model, x, y: bce_pair.pair_bce_batched(model, model.embed(x), y, balance) * (1 + 1e-6)
        return loss

    check_loss("bce_pair", registry)  # the real one passes
    fake = replace(registry.get("losses", "bce_pair"), name="nearly", build=build)
    with pytest.raises(AssertionError, match="training each model alone"):
        check_loss("nearly", with_spec(registry, "losses", fake))
    triplet = registry.get("losses", "triplet")
    missing = replace(triplet, name="claims", build=batched_twin(lambda **params: triplet.build(**params)))
    with pytest.raises(AssertionError, match="no batched"):
        check_loss("claims", with_spec(registry, "losses", missing))


def test_an_encoder_claiming_batchable_that_is_not_fails_conformance(registry):
    from ser_bench.plugin_kit.testing import check_encoder

    dae = replace(registry.get("encoders", "dae"), name="dae-batched", batchable=True)
    with pytest.raises(AssertionError, match="combine_loss"):
        check_encoder("dae-batched", with_spec(registry, "encoders", dae))
