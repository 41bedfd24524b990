"""Every registered built-in of every kind passes its conformance check, and the checks catch what
they are for: parametrised over the registry, so a new built-in is checked without a new test."""
from __future__ import annotations

import pytest

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.plugin_kit.testing import (CHECKS, FACTORIES, check_channel, check_dataset, check_defaults,
                                          check_encoder, check_executor, check_feature, check_head, check_loss,
                                          check_protocol, check_recipe)
from ser_bench.plugin_api.types import SPEC_TYPES

from .conftest import TINY

REGISTRY = load_registry(PluginSettings(entry_points=False))

# Executors that start worker processes or a cluster take seconds to start (torch in each worker).
IN_PROCESS_EXECUTORS = {"serial"}


def test_every_kind_has_a_check():
    assert set(CHECKS) == set(SPEC_TYPES) == set(FACTORIES)


@pytest.mark.parametrize("kind, name", [(e.kind, e.spec.name) for e in REGISTRY.entries()])
def test_declared_defaults_are_the_factorys(kind, name):
    check_defaults(kind, name, REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.names("protocols"))
def test_protocol_conformance(name):
    check_protocol(name, REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.names("features"))
def test_feature_conformance(name):
    try:
        check_feature(name, REGISTRY)
    except ImportError as exc:  # an optional dependency (transformers for ssl) is not installed, saying so
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", [n if n in IN_PROCESS_EXECUTORS else pytest.param(n, marks=pytest.mark.slow)
                                  for n in REGISTRY.names("executors")])
def test_executor_conformance(name):
    if name == "ray":
        pytest.importorskip("ray")
    check_executor(name, REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.names("recipes"))
def test_recipe_conformance(name):
    check_recipe(name, REGISTRY)


@pytest.mark.parametrize("name", REGISTRY.names("channels"))
def test_channel_conformance(name):
    try:
        check_channel(name, REGISTRY)
    except SerBenchError as exc:  # a codec this PyAV build lacks is refused up front, saying so
        pytest.skip(str(exc))


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


# Real corpora are not here to load: their defaults are checked above, their parsing in test_loaders.
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


def _leaky_splits(data, seed: int):
    """Leave-one-speaker-out, except that the held-out speaker's first clip is also trained on."""
    from ser_bench.plugin_api.types import Split, Subset

    speakers = data.target["speaker"].astype(str).tolist()
    out = []
    for held in sorted(set(speakers)):
        test = tuple(i for i, s in enumerate(speakers) if s == held)
        train = tuple(i for i, s in enumerate(speakers) if s != held) + test[:1]
        out.append(Split(name=f"leaky-{held}", train=Subset("target", train), support=Subset("target", train),
                         test=Subset("target", test[1:])))
    return out


def _protocol(splits, **fields):
    from ser_bench.plugin_api.types import ProtocolSpec

    return _with("protocols", ProtocolSpec(name="broken", splits=splits, summary="broken", **fields))


def test_broken_protocols_fail_conformance():
    import random

    from ser_bench.plugin_api.types import Split, Subset

    idt = REGISTRY.get("protocols", "idt")
    with pytest.raises(AssertionError, match="leaks speakers"):
        check_protocol("broken", _protocol(_leaky_splits))
    out_of_range = lambda data, seed: [Split(name="x", train=Subset("target", (0,)), support=Subset("target", (0,)),  # noqa: E731
                                             test=Subset("target", (len(data.target),)))]
    with pytest.raises(AssertionError, match="out of range"):
        check_protocol("broken", _protocol(out_of_range))
    shuffled = lambda data, seed: random.sample(idt.splits(data, seed), 3)  # noqa: E731
    with pytest.raises(AssertionError, match="not deterministic"):
        check_protocol("broken", _protocol(shuffled))
    with pytest.raises(AssertionError, match="data.source is None"):  # uses a source it did not ask for
        check_protocol("broken", _protocol(REGISTRY.get("protocols", "oodt").splits))
    everyone = lambda data, seed, speakers=0: idt.splits(data, seed)  # noqa: E731
    with pytest.raises(AssertionError, match="validation touches every target speaker"):
        check_protocol("broken", _protocol(idt.splits, validation=everyone))


def test_a_feature_of_the_wrong_size_or_with_nan_fails_conformance():
    import numpy as np

    from ser_bench.plugin_api.types import FeatureSpec

    class Extractor:
        columns = ["mean", "peak"]

        def __init__(self, value):
            self.value = value

        def __call__(self, signal, sample_rate):
            return np.array([float(np.mean(signal)), self.value])

    def feature(value, dim=2):
        spec = FeatureSpec(name="broken", build=lambda: Extractor(value), summary="broken", version="1", dim=dim)
        return _with("features", spec)

    check_feature("broken", feature(1.0))
    with pytest.raises(AssertionError, match="not finite"):
        check_feature("broken", feature(float("nan")))
    with pytest.raises(AssertionError, match="2 columns, dim 3"):
        check_feature("broken", feature(1.0, dim=3))


def test_an_executor_that_loses_a_failure_fails_conformance():
    from ser_bench.plugin_api.types import ExecutorSpec

    class Swallowing:
        def __init__(self, workers=None):
            pass

        def map_unordered(self, fn, items):
            for item in items:
                try:
                    yield item, fn(item)
                except Exception:
                    continue

        def close(self):
            pass

    with pytest.raises(AssertionError, match="not each of 0..5 once"):
        check_executor("broken", _with("executors", ExecutorSpec(name="broken", build=Swallowing, summary="broken")))


def test_defaults_written_twice_that_drift_fail_conformance():
    from dataclasses import replace

    ratio = REGISTRY.get("losses", "ratio_distance")
    with pytest.raises(AssertionError, match="declares delta=0.2 but build"):
        check_defaults("losses", "drifted", _with("losses", replace(ratio, name="drifted",
                                                                      params={**ratio.params, "delta": 0.2})))
    with pytest.raises(AssertionError, match="declares weight=1 but build"):  # an int is another setting
        check_defaults("losses", "drifted", _with("losses", replace(ratio, name="drifted",
                                                                      params={**ratio.params, "weight": 1})))
    with pytest.raises(AssertionError, match="does not declare"):
        check_defaults("losses", "drifted", _with("losses", replace(ratio, name="drifted", params={})))
    with pytest.raises(AssertionError, match="does not take the declared parameters"):
        check_defaults("losses", "drifted", _with("losses", replace(ratio, name="drifted",
                                                                      params={**ratio.params, "margin": 1.0})))
