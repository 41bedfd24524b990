"""Support-set scoring and pair losses: vectorised against one-pair-at-a-time (same numbers, timed).

Run: ``make benchmark`` (or ``pytest benchmarks --benchmark-only --benchmark-enable``).
"""
from __future__ import annotations

import pytest
import torch
from naive import naive_class_scores, naive_pair_bce

from ser_bench.model.decision import class_scores
from ser_bench_plugins.encoders.siamese_mlp import build
from ser_bench_plugins.losses.bce_pair import build as build_bce


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build(64).eval()
    return model, torch.randn(700, 64), torch.randn(80, 64), torch.arange(80) % 4


def test_vectorised_scoring_700x80(benchmark, setup):
    model, xq, xs, ys = setup
    scores = benchmark(class_scores, model, xq, xs, ys, 4)
    assert torch.allclose(scores[:20], naive_class_scores(model, xq[:20], xs, ys, 4), atol=1e-4)


def test_naive_scoring_700x80(benchmark, setup):
    model, xq, xs, ys = setup
    benchmark.pedantic(naive_class_scores, args=(model, xq, xs, ys, 4), rounds=1, iterations=1)


def test_vectorised_pair_bce_batch128(benchmark, setup):
    model, xq, _, _ = setup
    y = torch.arange(128) % 4
    loss = build_bce(balance=False)
    benchmark(lambda: loss(model, xq[:128], y))
    assert loss(model, xq[:24], y[:24]).item() == pytest.approx(naive_pair_bce(model, xq[:24], y[:24]).item(), rel=1e-5)


def test_naive_pair_bce_batch128(benchmark, setup):
    model, xq, _, _ = setup
    y = torch.arange(128) % 4
    benchmark.pedantic(naive_pair_bce, args=(model, xq[:128], y), rounds=1, iterations=1)
