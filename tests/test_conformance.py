"""Every registered loss, encoder and (simulated) dataset passes the conformance checks."""
from __future__ import annotations

import pytest

from ser_bench.manager import PluginSettings, load_registry
from ser_bench.testing import check_dataset, check_encoder, check_loss

from .conftest import TINY

REGISTRY = load_registry(PluginSettings(entry_points=False))


# The pml adapter is checked through a loss with its own weights (they must reach the optimiser).
VARIANTS = {"pml": ["pml:ArcFaceLoss", "pml:CircleLoss"]}


@pytest.mark.parametrize("name", [v for n in REGISTRY.names("losses") for v in VARIANTS.get(n, [n])])
def test_loss_conformance(name):
    check_loss(name, REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.names("encoders"))
def test_encoder_conformance(name):
    check_encoder(name, REGISTRY)


@pytest.mark.parametrize("name", [n for n in REGISTRY.names("datasets") if REGISTRY.get("datasets", n).simulated])
def test_simulated_dataset_conformance(name, ctx):
    check_dataset(name, ctx, REGISTRY, **TINY.get(name, {"speakers": 2}))


def test_a_broken_loss_fails_conformance():
    from dataclasses import replace

    from ser_bench.registry import Entry, Registry

    registry = Registry()
    for entry in REGISTRY.entries():
        registry.add(entry)
    spec = replace(REGISTRY.get("losses", "bce_pair"), name="detached",
                   build=lambda **_: (lambda model, x, y: model.embed(x).sum().detach() * 0 + 1.0))
    registry.add(Entry("losses", spec, "test", "test", "0"))
    with pytest.raises(AssertionError, match="no gradient|requires_grad|does not require grad"):
        check_loss("detached", registry)
