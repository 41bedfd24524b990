"""Conformance checks for plugin authors: call them from your plugin's tests.

    from ser_bench.testing import check_loss
    def test_my_loss():
        check_loss("my_loss")

Each check raises ``AssertionError`` with a message saying what the plugin got wrong.
"""
from __future__ import annotations

import json

from .manager import PluginSettings, load_registry


def _registry(registry):
    return registry or load_registry(PluginSettings.from_env())


def _encoder_for(registry, kinds, input_dim=8):
    for entry in registry.entries("encoders"):
        if entry.spec.kind in kinds:
            return entry.spec.build(input_dim=input_dim, **entry.spec.params)
    raise AssertionError(f"no registered encoder of kind {kinds} to test the loss with")


def check_loss(name: str, registry=None) -> None:
    """A loss gives a finite scalar whose gradients reach the encoder (and its own weights, if it has
    any), copes with a batch of one class or one sample, is deterministic under a seed, and has
    JSON-serialisable parameters. ``name`` may carry a variant (``pml:ArcFaceLoss``)."""
    import torch

    from .evaluation import build_loss
    from .registry import variant
    from .types import LossContext

    registry = _registry(registry)
    spec = registry.get("losses", name)
    params = {**spec.params, **({"variant": variant(name)} if variant(name) else {})}
    json.dumps(params)

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
        assert logits.shape == (5, 5), f"encoder {name!r}: pair_logits must broadcast to (Q, S), got {tuple(logits.shape)}"
        assert hasattr(model, "feature_layers"), f"encoder {name!r}: Siamese encoders need feature_layers()"


def check_dataset(name: str, ctx, registry=None, **params) -> None:
    """A dataset's manifest has the required columns, one speaker and one emotion per clip, known labels."""
    from .labels import VOCABULARY

    spec = _registry(registry).get("datasets", name)
    json.dumps(dict(spec.params))
    manifest = spec.load(ctx, **{**spec.params, **params})
    missing = {"path", "speaker", "emotion", "corpus"} - set(manifest.columns)
    assert not missing, f"dataset {name!r}: manifest lacks columns {sorted(missing)}"
    assert len(manifest), f"dataset {name!r}: empty manifest"
    unknown = set(manifest["emotion"]) - set(VOCABULARY)
    assert not unknown, f"dataset {name!r}: emotions {sorted(unknown)} are not in the common vocabulary"
    assert manifest["path"].is_unique, f"dataset {name!r}: duplicate paths in the manifest"
    assert manifest["speaker"].notna().all(), f"dataset {name!r}: clips without a speaker"
