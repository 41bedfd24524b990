"""One few-shot cell's worth of work, the trained-model cache, and feature extraction throughput.

Run: ``make benchmark``. Quote medians and ratios from one run (machines here are shared and noisy).
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.types import ProtocolData
from ser_bench.model.copying import copy_module
from ser_bench.model.decision import predict
from ser_bench.model.heads import sklearn_probe, standardised_probe
from ser_bench.data.features import extract_features
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.model.model_cache import DiskModelCache
from ser_bench.model.training import DEFAULT_TRAINING, fit, freeze_layers
from ser_bench_plugins.encoders.siamese_mlp import build as build_siamese
from ser_bench_plugins.losses.bce_pair import build as build_bce
from ser_bench_plugins.losses.ratio_distance import build as build_ratio


@pytest.fixture(scope="module")
def episode():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    pretrained = build_siamese(64)
    shots_x, shots_y = torch.randn(16, 64), torch.arange(16) % 4
    test_x = torch.randn(700, 64)
    return pretrained, shots_x, shots_y, test_x


@pytest.mark.parametrize("loss", ["bce_pair", "ratio_distance"])
def test_one_fewshot_episode_finetune_and_score_700(benchmark, episode, loss):
    """4 speakers x 4 emotions = 16 labelled clips, 60 fine-tuning steps, 700 test clips scored (one core)."""
    pretrained, shots_x, shots_y, test_x = episode
    loss_fn = (build_bce if loss == "bce_pair" else build_ratio)()

    def one_episode():
        model = copy.deepcopy(pretrained)
        freeze_layers(model, 1)
        fit(model, shots_x, shots_y, loss_fn, steps=DEFAULT_TRAINING["finetune_steps"], batch_size=16, lr=1e-3)
        return predict(model, test_x, shots_x, shots_y, 4)

    predictions = benchmark(one_episode)
    assert predictions.shape == (700,)


@pytest.mark.parametrize("copier", ["deepcopy", "copy_module"])
def test_copy_of_the_pretrained_model_per_episode(benchmark, episode, copier):
    """The copy each fine-tuned episode starts from (3600 in a one-seed feng2020): the two give equal copies."""
    pretrained = episode[0]
    copied = benchmark(copy.deepcopy if copier == "deepcopy" else copy_module, pretrained)
    assert all(torch.equal(a, b) for a, b in zip(copied.state_dict().values(), pretrained.state_dict().values()))


@pytest.mark.parametrize("way", ["pipeline", "steps"])
def test_linear_probe_of_one_episode(benchmark, way):
    """The linear head on a k = 20 support (80 clips, 16-dim embeddings) and 512 test clips: through a
    scikit-learn pipeline (as before) or step by step (standardised_probe now); the same predictions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    gen = torch.Generator().manual_seed(0)
    y = torch.arange(80) % 4
    x_s = torch.randn(80, 16, generator=gen) + y[:, None] * 0.3
    x_t = torch.randn(512, 16, generator=gen)
    identity = torch.nn.Identity()
    identity.embed = lambda x: x

    def run():
        if way == "pipeline":
            return sklearn_probe(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), identity, x_t, x_s, y)
        return standardised_probe(LogisticRegression(max_iter=1000), identity, x_t, x_s, y)

    assert benchmark(run).shape == (512,)


def test_fewshot_splits_of_one_cell(benchmark):
    """The episodes of one few-shot cell (k = 20, 10 repeats, 3 frozen settings) on 24 speakers x 32 clips."""
    import pandas as pd

    spec = load_registry(PluginSettings(entry_points=False)).get("protocols", "fewshot")
    emotions = ["anger", "happiness", "sadness", "fear"]
    target = pd.DataFrame([{"speaker": f"a{s}", "emotion": e} for s in range(24) for e in emotions for _ in range(8)])
    source = pd.DataFrame([{"speaker": f"s{s}", "emotion": e} for s in range(90) for e in emotions for _ in range(14)])
    data = ProtocolData(target=target, source=source)
    splits = benchmark(spec.splits, data, seed=0, k=[20], frozen=[0, 1, 2], repeats=10, source_support=8)
    assert len(splits) == 30


def test_pretraining_cold(benchmark, tmp_path):
    """Training the source model (5000 clips, 60 epochs) from scratch, on one core."""
    x, y = torch.randn(5000, 64), torch.arange(5000) % 4
    loss = build_bce()

    def cold():
        model = build_siamese(64)
        fit(model, x, y, loss, epochs=DEFAULT_TRAINING["epochs"], batch_size=128, lr=1e-3, seed=0)
        return model

    benchmark.pedantic(cold, rounds=1, iterations=1)


def test_pretraining_from_cache(benchmark, tmp_path):
    """The same model read from the disk cache (what every fine-tuning cell after the first does)."""
    cache = DiskModelCache(tmp_path)
    cache.get_or_train("key", lambda: build_siamese(64), lambda m: None)
    model = benchmark(cache.get_or_train, "key", lambda: build_siamese(64), lambda m: None)
    assert cache.hits >= 1 and model is not None


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """480 real sim-ravdess clips (generated once)."""
    registry = load_registry(PluginSettings(entry_points=False))
    cache = tmp_path_factory.mktemp("sim")
    manifest = registry.get("datasets", "sim-ravdess").load(RunContext(cache_dir=cache, workers=2), speakers=8)
    return registry.get("features", "is09-64"), manifest.iloc[:480].reset_index(drop=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_feature_extraction_throughput(benchmark, clips, tmp_path, workers):
    """is09-64 on 480 clips with an empty cache each round: compare the medians of workers=1 and 2."""
    spec, manifest = clips
    rounds = iter(range(100))

    def extract():
        cache = tmp_path / f"cache{next(rounds)}"
        return extract_features(manifest, spec, None, RunContext(cache_dir=cache, workers=workers))

    result = benchmark.pedantic(extract, rounds=2, iterations=1)
    assert result.cache_hits == 0 and not np.isnan(result.values).any()
    benchmark.extra_info["clips"] = len(manifest)
