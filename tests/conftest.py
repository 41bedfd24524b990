"""Shared fixtures: a small simulated source and target, generated once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Small enough for seconds, big enough for every protocol: 4 actors each.
TINY = {"sim-ravdess": {"speakers": 4}, "sim-crema": {"speakers": 4}}
FAST_TRAINING = {"epochs": 3, "batch_size": 64, "finetune_steps": 5}


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test, as every ser-bench worker trains (batched training and the
    optimiser are compared bit for bit there); the caller's setting is back afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def registry():
    return load_registry(PluginSettings(entry_points=False))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture()
def ctx(cache_dir, tmp_path) -> RunContext:
    return RunContext(data_dirs=[tmp_path / "no-data"], cache_dir=cache_dir, workers=2)


@pytest.fixture(scope="session")
def tiny_corpora(registry, cache_dir):
    """Manifests of the tiny simulated corpora (generated once)."""
    c = RunContext(data_dirs=[], cache_dir=cache_dir, workers=2)
    return {name: registry.get("datasets", name).load(c, **params) for name, params in TINY.items()}


@pytest.fixture(scope="module")
def tiny_cell_data(registry, tiny_corpora, cache_dir):
    """``{"source": (manifest, features), "target": ...}`` of the tiny sim-crema -> sim-ravdess pair,
    prepared as a run prepares them (is09-64, four emotions): what ``evaluate_cell`` takes as ``data``."""
    from ser_bench.running.corpora import prepare_corpus

    ctx = RunContext(data_dirs=[], cache_dir=cache_dir, workers=2)
    out = {}
    for role, name in (("source", "sim-crema"), ("target", "sim-ravdess")):
        corpus = prepare_corpus(name, "is09-64", ("anger", "happiness", "sadness", "fear"), TINY[name], registry, ctx)
        out[role] = (corpus.manifest, corpus.features)
    return out
