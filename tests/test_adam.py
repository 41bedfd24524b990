"""ser_bench.model.adam trains bit for bit as torch.optim.Adam does on the CPU, without importing torch._dynamo.

fit uses it on the CPU because torch.optim's methods import TorchDynamo on their first call (about
1.3 s in every worker process); these tests hold it to torch's numbers for every built-in loss.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ser_bench.model import adam
from ser_bench.model.adam import Adam
from ser_bench.model.training import fit, freeze_layers
from ser_bench.plugin_api.types import LossContext

CONTEXT = LossContext(num_classes=4, embedding_dim=16, input_dim=24)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# pml needs a pytorch-metric-learning loss named: ArcFace, whose class weights the optimiser trains too
LOSS_PARAMS = {"pml": {"variant": "ArcFaceLoss"}}


def trained(registry, loss_name, encoder_name, *, frozen=0, weight_decay=1e-3, unlabelled=None):
    """Weights of a model (and its loss's parameters) after fit, from fixed seeds and data."""
    torch.manual_seed(3)
    model = registry.get("encoders", encoder_name).build(input_dim=CONTEXT.input_dim)
    freeze_layers(model, frozen)
    spec = registry.get("losses", loss_name)
    params = LOSS_PARAMS.get(loss_name, {})
    loss = spec.build(context=CONTEXT, **params) if spec.needs_context else spec.build(**params)
    gen = torch.Generator().manual_seed(5)
    y = torch.randint(4, (90,), generator=gen)
    x = torch.randn(90, CONTEXT.input_dim, generator=gen) + y[:, None] * 0.5
    fit(model, x, y, loss, epochs=3, batch_size=32, lr=1e-2, weight_decay=weight_decay, seed=11,
        unlabelled=unlabelled)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    if isinstance(loss, torch.nn.Module):
        state.update({f"loss.{k}": v.clone() for k, v in loss.state_dict().items()})
    return state


def both(monkeypatch, registry, *args, **kwargs):
    ours = trained(registry, *args, **kwargs)
    monkeypatch.setattr(adam, "Adam", torch.optim.Adam)  # fit imports the name when it trains
    theirs = trained(registry, *args, **kwargs)
    monkeypatch.undo()
    return ours, theirs


def loss_encoder_pairs(registry):
    """Every built-in loss trained by gradient, with an encoder it trains (the Siamese one where it can)."""
    out = []
    for entry in registry.entries("losses"):
        if not getattr(entry.spec, "trains", True):
            continue
        kinds = entry.spec.encoder_kinds
        out.append((entry.spec.name, "siamese-mlp" if "siamese" in kinds else "mlp"))
    return out


def test_every_loss_trains_bit_for_bit_as_with_torch_optim_adam(registry, monkeypatch):
    pairs = loss_encoder_pairs(registry)
    assert len(pairs) >= 9
    for loss_name, encoder_name in pairs:
        for frozen, decay in ((0, 1e-3), (1, 0.0)):
            ours, theirs = both(monkeypatch, registry, loss_name, encoder_name, frozen=frozen, weight_decay=decay)
            assert ours.keys() == theirs.keys()
            unequal = [k for k in ours if not torch.equal(ours[k], theirs[k])]
            assert not unequal, f"{loss_name} on {encoder_name} (frozen {frozen}, decay {decay}): {unequal} differ"
            # and the training moved the weights (the comparison is not of two untouched models)
            assert any(not torch.equal(ours[k], trained_untouched) for k, trained_untouched in
                       _initial(registry, encoder_name).items() if k in ours)


def _initial(registry, encoder_name):
    torch.manual_seed(3)
    return dict(registry.get("encoders", encoder_name).build(input_dim=CONTEXT.input_dim).state_dict())


def test_an_encoder_with_its_own_objective_trains_as_with_torch_optim_adam(registry, monkeypatch):
    gen = torch.Generator().manual_seed(9)
    unlabelled = torch.randn(40, CONTEXT.input_dim, generator=gen)
    ours, theirs = both(monkeypatch, registry, "contrastive", "dae", unlabelled=unlabelled)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_parameter_without_a_gradient_is_skipped_as_torch_skips_it():
    """A step where a parameter has no gradient: no update, no weight decay, its step count unchanged."""
    def run(optimiser_class):
        torch.manual_seed(0)
        a, b = torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))
        optimiser = optimiser_class([a, b], lr=0.05, weight_decay=0.01)
        for step in range(7):
            optimiser.zero_grad()
            loss = (a.sum(1) ** 2).mean() + ((b ** 3).sum() if step % 3 == 0 else 0.0)
            loss.backward()
            optimiser.step()
        return a.detach().clone(), b.detach().clone()

    (a1, b1), (a2, b2) = run(Adam), run(torch.optim.Adam)
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    torch.manual_seed(0)
    _, b0 = torch.randn(5, 3), torch.randn(3)
    assert not torch.equal(b1, b0)  # b was updated on the steps it had a gradient


def test_complex_parameters_are_refused_with_what_to_use():
    with pytest.raises(ValueError, match="torch.optim.Adam"):
        Adam([torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))])


def test_training_in_a_fresh_process_does_not_import_torch_dynamo():
    code = (
        "import sys, torch\n"
        "from ser_bench.model.training import fit\n"
        "model = torch.nn.Sequential(torch.nn.Linear(6, 4))\n"
        "x, y = torch.randn(20, 6), torch.arange(20) % 4\n"
        "info = fit(model, x, y, lambda m, xb, yb: torch.nn.functional.cross_entropy(m(xb), yb), epochs=2,"
        " batch_size=8)\n"
        "assert info['steps'] == 6, info\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_model_cache_key_covers_the_optimiser_code(registry, tiny_cell_data, monkeypatch):
    """The optimiser's step decides the trained weights: its source is part of every cached model's key,
    as fit's and the loss's are (an edit to ser_bench/model/adam.py retrains, never serves stale models)."""
    import inspect

    from ser_bench.plugin_api.types import ProtocolData
    from ser_bench.running import evaluation, pretraining
    from ser_bench.running.cells import Cell, resolve

    from .conftest import FAST_TRAINING, TINY

    seen = []
    real = pretraining.code_fingerprint
    monkeypatch.setattr(pretraining, "code_fingerprint",
                        lambda *functions: seen.append([inspect.getsourcefile(f) for f in functions]) or real(*functions))
    cell = resolve(Cell(protocol="idt", loss="bce_pair", target="sim-ravdess", training=dict(FAST_TRAINING),
                        dataset_params=TINY), registry)
    run = evaluation._CellRun(cell, tiny_cell_data, registry, model_cache=object(), hashes={"target": "h"})
    split = registry.get("protocols", "idt").splits(ProtocolData(target=run.manifests["target"]), seed=0)[0]
    assert run._plan(split)["key"] is not None
    assert any(path.endswith("ser_bench/model/adam.py") for path in seen[-1]), seen
