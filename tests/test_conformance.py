"""Every registered loss, encoder, head and (simulated) dataset passes the conformance checks."""
from __future__ import annotations

import pytest

from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_api.testing import check_dataset, check_encoder, check_head, check_loss

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


@pytest.mark.parametrize("name", REGISTRY.names("heads"))
def test_head_conformance(name):
    check_head(name, REGISTRY)


@pytest.mark.parametrize("name", [n for n in REGISTRY.names("datasets") if REGISTRY.get("datasets", n).simulated])
def test_simulated_dataset_conformance(name, ctx):
    check_dataset(name, ctx, REGISTRY, **TINY.get(name, {"speakers": 2}))


def test_a_broken_loss_fails_conformance():
    from dataclasses import replace

    from ser_bench.plugin_api.registry import Entry, Registry

    registry = Registry()
    for entry in REGISTRY.entries():
        registry.add(entry)
    spec = replace(REGISTRY.get("losses", "bce_pair"), name="detached",
                   build=lambda **_: (lambda model, x, y: model.embed(x).sum().detach() * 0 + 1.0))
    registry.add(Entry("losses", spec, "test", "test", "0"))
    with pytest.raises(AssertionError, match="no gradient|requires_grad|does not require grad"):
        check_loss("detached", registry)


def _with(kind, spec):
    from ser_bench.plugin_api.registry import Entry, Registry

    registry = Registry()
    for entry in REGISTRY.entries():
        registry.add(entry)
    registry.add(Entry(kind, spec, "test", "test", "0"))
    return registry


def _nearest_with_a_defect(defect):
    """A nearest-neighbour head, correct except for ``defect``."""
    def predict(model, x_test, x_support, y_support, n_classes, **_):
        import torch

        pred = y_support[torch.cdist(x_test, x_support).argmin(1)]
        if defect == "absent class":
            pred[0] = n_classes - 1 if n_classes - 1 not in y_support else 1
        elif defect == "single class" and len(torch.unique(y_support)) == 1:
            pred = torch.zeros_like(pred)
        elif defect == "random":
            pred = y_support[torch.randint(0, len(y_support), (len(pred),))]
        elif defect == "float":
            pred = pred.float()
        return pred
    return predict


@pytest.mark.parametrize("defect, message", [
    ("absent class", "absent from the support"), ("single class", "one class must predict it"),
    ("random", "not deterministic"), ("float", "LongTensor"),
])
def test_broken_heads_fail_conformance(defect, message):
    from ser_bench.plugin_api.types import HeadSpec

    registry = _with("heads", HeadSpec(name="broken", predict=_nearest_with_a_defect(defect), summary="broken"))
    with pytest.raises(AssertionError, match=message):
        check_head("broken", registry)


def test_a_fitted_baseline_must_say_what_its_build_returns_and_fit_its_defaults():
    from dataclasses import replace

    logreg = REGISTRY.get("losses", "logreg")
    with pytest.raises(AssertionError, match="must return an object"):
        check_loss("none", _with("losses", replace(logreg, name="none", build=lambda: None)))
    with pytest.raises(AssertionError, match="siamese head needs"):
        check_loss("paired", _with("losses", replace(logreg, name="paired", default_head="siamese")))


def test_a_correct_nearest_neighbour_head_passes():
    from ser_bench.plugin_api.types import HeadSpec

    check_head("fine", _with("heads", HeadSpec(name="fine", predict=_nearest_with_a_defect(None), summary="fine")))
