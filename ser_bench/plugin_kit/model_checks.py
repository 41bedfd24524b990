"""Conformance checks of the model side: losses, encoders and heads (what trains and what predicts).

Plugin authors import them from :mod:`ser_bench.plugin_kit.testing`, which holds every kind's check;
they live here apart from the checks of data, protocols, executors and recipes.
"""
from __future__ import annotations

import json
from typing import Any

from ser_bench.plugin_api.manager import PluginSettings, load_registry


def _registry(registry):
    return registry or load_registry(PluginSettings.from_env())


def _encoder_for(registry, kinds, input_dim=8):
    for entry in registry.entries("encoders"):
        if entry.spec.kind in kinds:
            model = entry.spec.build(input_dim=input_dim, **entry.spec.params)
            if any(True for _ in model.parameters()):  # a loss must be tested on something it can train
                return model
    raise AssertionError(f"no registered trainable encoder of kind {kinds} to test the loss with")


def _blobs(n_per_class=12, classes=(0, 1, 2), dim=8, seed=0):
    """Well separated Gaussian clusters: (x, y) with ``n_per_class`` clips of each class."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    centres = 6.0 * torch.eye(dim)[: max(classes) + 1]
    y = torch.tensor([c for c in classes for _ in range(n_per_class)])
    return centres[y] + torch.randn(len(y), dim, generator=gen), y


def _check_defaults(registry, spec) -> None:
    """``encoder="auto"`` and ``head="auto"`` of a loss give a cell that runs, not a skipped one."""
    from ser_bench.model.heads import incompatibility

    encoder_name = spec.default_encoder or registry.default("encoders").name
    encoder, head = registry.get("encoders", encoder_name), registry.get("heads", spec.default_head)
    reason = incompatibility(head, spec, encoder)
    assert reason is None, f"loss {spec.name!r}: its default encoder and head do not fit: {reason}"


def _check_fitted_by_head(name, spec, registry, loss_fn) -> None:
    """A method with nothing to train: its build gives an object, and its head does the learning."""
    import torch

    from ser_bench.model.heads import get_head

    assert loss_fn is not None, f"loss {name!r} (trains=False): build() must return an object, not None"
    encoder = registry.get("encoders", spec.default_encoder or registry.default("encoders").name)
    torch.manual_seed(0)
    model = encoder.build(input_dim=8, **encoder.params)
    x, y = _blobs()
    pred = get_head(registry, spec.default_head)(model, x[1::2], x[::2], y[::2], 3, rule="mean")
    accuracy = (pred == y[1::2]).float().mean().item()
    assert accuracy > 0.9, (f"loss {name!r} (trains=False) with its default encoder and head reaches only "
                            f"{accuracy:.2f} accuracy on well separated clusters")


def check_loss(name: str, registry=None) -> None:
    """A loss gives a finite scalar whose gradients reach the encoder (and its own weights, if it has
    any), copes with a batch of one class or one sample, is deterministic under a seed, and has
    JSON-serialisable parameters. ``name`` may carry a variant (``pml:ArcFaceLoss``).

    Every loss's default encoder and head must exist and fit it. A loss with ``trains=False`` (a method
    fitted by its head alone) needs no gradient: its ``build`` must return an object, and its default
    head on its default encoder must classify well separated clusters."""
    import torch

    from ser_bench.running.pretraining import build_loss
    from ser_bench.plugin_api.registry import variant
    from ser_bench.plugin_api.types import LossContext

    registry = _registry(registry)
    spec = registry.get("losses", name)
    params = {**spec.params, **({"variant": variant(name)} if variant(name) else {})}
    json.dumps(params)
    _check_defaults(registry, spec)
    if not spec.trains:
        context = LossContext(num_classes=3, embedding_dim=8, input_dim=8)
        return _check_fitted_by_head(name, spec, registry, build_loss(registry, name, params, context))

    def value(x, y, seed=0):
        torch.manual_seed(seed)
        model = _encoder_for(registry, spec.encoder_kinds)
        with torch.no_grad():
            dim = model.embed(x[:1]).shape[1]
        loss_fn = build_loss(registry, name, params, LossContext(num_classes=4, embedding_dim=dim, input_dim=8))
        targets = tuple(getattr(loss_fn, "targets", ("emotion",)))
        if targets != ("emotion",):  # continuous labels in [-1, 1], one column per target
            y = torch.linspace(-1, 1, len(y))[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
            y = y if len(targets) == 1 else torch.stack([y, y.flip(0)], 1)
        return model, loss_fn, loss_fn(model, x, y)

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 8, generator=gen)
    y = torch.tensor([0, 1, 2, 3] * 3)
    model, loss_fn, out = value(x, y)
    assert out.dim() == 0, f"loss {name!r} must return a scalar, got shape {tuple(out.shape)}"
    assert torch.isfinite(out), f"loss {name!r} is not finite on a random batch: {out}"
    try:
        out.backward()
    except RuntimeError as exc:
        raise AssertionError(f"loss {name!r}: no gradient reaches the encoder ({exc})") from None
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads), f"loss {name!r}: no gradient reaches the encoder"
    if isinstance(loss_fn, torch.nn.Module) and any(True for _ in loss_fn.parameters()):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in loss_fn.parameters()), \
            f"loss {name!r}: its own weights get no gradient"
    for xb, yb, what in ((x[:4], torch.zeros(4, dtype=torch.long), "one class"), (x[:1], y[:1], "one sample")):
        _, _, o = value(xb, yb)
        assert torch.isfinite(o), f"loss {name!r} is not finite on a batch with {what}: {o}"
    assert value(x, y, 3)[2].item() == value(x, y, 3)[2].item(), f"loss {name!r} is not deterministic under a seed"
    from ser_bench.model.twins import has_batched_twin

    if has_batched_twin(spec):
        _check_batched(name, params, registry)


def _check_batched(name: str, params: dict, registry) -> None:
    """A loss with a batched twin (:mod:`ser_bench.model.twins`) trains, with every batchable encoder it fits,
    three models together (``fit_many``) to exactly the weights training each alone (``fit``) gives: bit for
    bit, on one thread."""
    import torch

    from ser_bench.model.batched import fit_many
    from ser_bench.model.training import fit
    from ser_bench.plugin_api.types import LossContext
    from ser_bench.running.pretraining import build_loss

    spec = registry.get("losses", name)
    encoders = [e.spec for e in registry.entries("encoders") if e.spec.batchable and e.spec.kind in spec.encoder_kinds]
    assert encoders, f"loss {name!r} has a batched twin but no registered batchable encoder fits it"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        # 21 clips in batches of 8 (8, 7, 6...: odd shapes), three epochs, with weight decay.
        data = [(torch.randn(21, 8, generator=gen), torch.randint(4, (21,), generator=gen)) for _ in range(3)]
        for encoder in encoders:
            runs = []
            for _ in range(2):
                pairs = []
                for i in range(3):
                    torch.manual_seed(i)
                    model = encoder.build(input_dim=8, **encoder.params)
                    with torch.no_grad():
                        dim = model.embed(data[0][0][:1]).shape[1]
                    pairs.append((model, build_loss(registry, name, params, LossContext(4, dim, 8), seed=10 + i)))
                runs.append(pairs)
            settings: dict[str, Any] = {"epochs": 3, "batch_size": 8, "lr": 1e-2, "weight_decay": 1e-3}
            assert callable(getattr(runs[1][0][1], "batched", None)), \
                f"loss {name!r} is marked batched_twin but what build returns has no batched(model, x, y)"
            for (model, loss), (x, y), seed in zip(runs[0], data, range(3)):
                fit(model, x, y, loss, seed=seed, **settings)
            fit_many([m for m, _ in runs[1]], [x for x, _ in data], [y for _, y in data], [lo for _, lo in runs[1]],
                     seeds=list(range(3)), batchable=True, **settings)
            for (alone, loss_alone), (together, loss_together) in zip(*runs):
                states = [dict(alone.state_dict()), dict(together.state_dict())]
                for state, loss in zip(states, (loss_alone, loss_together)):
                    if isinstance(loss, torch.nn.Module):
                        state.update({f"loss.{k}": v for k, v in loss.state_dict().items()})
                differ = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
                assert not differ, (f"loss {name!r} has a batched twin, but with encoder {encoder.name!r} training "
                                    f"together changes {differ} from training each model alone")
    finally:
        torch.set_num_threads(threads)


def check_encoder(name: str, registry=None) -> None:
    """An encoder builds for any input size, embeds a batch, and (Siamese) scores broadcast pairs."""
    import torch

    spec = _registry(registry).get("encoders", name)
    json.dumps(dict(spec.params))
    model = spec.build(input_dim=10, **spec.params)
    z = model.embed(torch.randn(5, 10))
    assert z.dim() == 2 and z.shape[0] == 5, f"encoder {name!r}: embed must return (batch, dim), got {tuple(z.shape)}"
    if spec.kind == "siamese":
        logits = model.pair_logits(z[:, None, :], z[None, :, :])
        assert logits.shape == (5, 5), \
            f"encoder {name!r}: pair_logits must broadcast to (Q, S), got {tuple(logits.shape)}"
        assert hasattr(model, "feature_layers"), f"encoder {name!r}: Siamese encoders need feature_layers()"
    if spec.batchable:
        _check_stacks(name, spec)


def _check_stacks(name: str, spec) -> None:
    """An encoder declaring ``batchable``: two copies stacked embed (and score pairs) as each alone."""
    import torch

    from ser_bench.model.stacked import stack_modules

    assert not hasattr(spec.build(input_dim=10, **spec.params), "combine_loss"), \
        f"encoder {name!r} declares batchable but has combine_loss (its own objective is not batched)"
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(spec.build(input_dim=10, **spec.params))
    try:
        stacked = stack_modules(models)
    except ValueError as exc:
        raise AssertionError(f"encoder {name!r} declares batchable but cannot be stacked: {exc}") from None
    x = torch.randn(2, 5, 10, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batched training is used, and bit for bit, on one thread
    try:
        with torch.no_grad():  # each model alone gets fresh tensors (a slice may start unaligned: other bits)
            z = stacked.embed(x)
            pairs = stacked.pair_logits(z[:, :3], z[:, 2:]) if spec.kind == "siamese" else None
            for m, model in enumerate(models):
                assert torch.equal(z[m], model.embed(x[m].clone())), \
                    f"encoder {name!r}: stacked embed differs from alone"
                if pairs is not None:
                    assert torch.equal(pairs[m], model.pair_logits(z[m, :3].clone(), z[m, 2:].clone())), \
                        f"encoder {name!r}: stacked pair_logits differs from alone"
    finally:
        torch.set_num_threads(threads)


class _Features:
    """The features as the embedding, for checking heads apart from any encoder."""

    def embed(self, x):
        return x


def check_head(name: str, registry=None) -> None:
    """A head returns one class index (``torch.long``) per test clip, predicts only classes present in
    the support set, copes with a single support class, is deterministic whatever the global seeds,
    accepts both decision rules, and (embedding heads) classifies well separated clusters."""
    import numpy as np
    import torch

    from ser_bench.model.heads import NEEDS, get_head

    registry = _registry(registry)
    spec = registry.get("heads", name)
    json.dumps(dict(spec.params))
    assert spec.needs in NEEDS, f"head {name!r}: needs must be one of {NEEDS}, not {spec.needs!r}"
    predict = get_head(registry, name)
    if spec.needs == "pair":
        torch.manual_seed(0)
        model = _encoder_for(registry, ("siamese",))
    else:
        model = _Features()
    x, y = _blobs(classes=(0, 2, 3))  # class 1 of 4 has no support clips
    x_sup, y_sup, x_test, y_test = x[::2], y[::2], x[1::2], y[1::2]

    def run(x_support, y_support, seed=0, rule="mean"):
        torch.manual_seed(seed)
        np.random.seed(seed)
        return predict(model, x_test, x_support, y_support, 4, rule=rule)

    pred = run(x_sup, y_sup)
    assert isinstance(pred, torch.Tensor) and pred.dtype == torch.long, \
        f"head {name!r} must return a LongTensor, got {type(pred).__name__} {getattr(pred, 'dtype', '')}"
    assert pred.shape == (len(x_test),), f"head {name!r}: expected shape ({len(x_test)},), got {tuple(pred.shape)}"
    assert set(pred.tolist()) <= {0, 2, 3}, f"head {name!r} predicts classes absent from the support set"
    assert torch.equal(pred, run(x_sup, y_sup, seed=1)), f"head {name!r} is not deterministic"
    run(x_sup, y_sup, rule="sum")
    single = run(x_sup[y_sup == 2], y_sup[y_sup == 2])
    assert single.tolist() == [2] * len(x_test), f"head {name!r}: a support set of one class must predict it"
    if spec.needs == "embedding":
        accuracy = (pred == y_test).float().mean().item()
        assert accuracy > 0.9, f"head {name!r} reaches only {accuracy:.2f} accuracy on well separated clusters"
