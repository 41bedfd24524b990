"""ssl extraction: length-sorted batches against one clip at a time (same numbers, timed).

Run: ``.venv/bin/python -m pytest benchmarks/test_ssl_extraction.py --benchmark-only --benchmark-enable``.
The clips are real RAVDESS from ``../shared/data/ravdess-16k`` when it is there (the first 64 of the
label set's emotions, decoded before timing), else speech-like signals of the same lengths (2.5-5 s).
Random-init models (speed does not depend on the weights), saved and loaded like a user's checkpoint:

- the tiny model of the tests, one torch thread (this machine's two cores are shared): what batching
  saves in the fixed cost of a forward pass. Goal (issue 13): batched >= 5x one clip at a time.
- a base-size WavLM (12 layers, 768 wide, its default config) on every core, 16 clips: what a user's
  CPU run costs, in clips/s. Slow (a minute or two); it is what the README quotes.
- the same on CUDA, fp32 and bf16, over every clip, when a GPU is there (skipped otherwise).

Quote the medians and their ratio from one run: machines here are shared and noisy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from ser_bench.data.audio import load_audio  # noqa: E402
from ser_bench.data.batching import plan_batches  # noqa: E402
from ser_bench.plugin_api.manager import PluginSettings, load_registry  # noqa: E402
from ser_bench.plugin_kit.testing import _speech_like  # noqa: E402
from ser_bench_plugins.features.ssl_tiny import save_tiny_model  # noqa: E402

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
RATE = 16000
EMOTIONS = ("03", "04", "05", "06")  # happy, sad, angry, fearful: the default label set


def _clips(n: int) -> list:
    paths = sorted(p for p in RAVDESS.glob("Actor_*/*.flac") if p.name.split("-")[2] in EMOTIONS)[:n]
    if paths:
        return [load_audio(p, RATE) for p in paths]
    rng = np.random.default_rng(0)
    return [_speech_like(RATE, float(s), seed=i) for i, s in enumerate(rng.uniform(2.5, 5.0, n))]


def _extractor(folder: Path, device: str = "cpu", dtype: str = "float32"):
    spec = load_registry(PluginSettings(entry_points=False)).get("features", "ssl")
    return spec.build(**spec.resolve(**{**spec.params, "model": str(folder), "device": device, "dtype": dtype}))


def one_at_a_time(extractor, clips):
    return [extractor.batch([clip], RATE)[0] for clip in clips]


def batched(extractor, clips):
    out = [None] * len(clips)
    for batch in plan_batches([len(c) for c in clips], extractor.batch_size, extractor.batch_samples):
        for i, vector in zip(batch, extractor.batch([clips[i] for i in batch], RATE)):
            out[i] = vector
    return out


@pytest.fixture(scope="module")
def threads():
    import torch

    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, threads):
    threads.set_num_threads(1)
    extractor = _extractor(save_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-wavlm"))
    clips = _clips(64)
    assert np.allclose(np.stack(batched(extractor, clips)), np.stack(one_at_a_time(extractor, clips)), atol=1e-4)
    return extractor, clips


def test_tiny_one_clip_at_a_time(benchmark, tiny):
    benchmark.pedantic(one_at_a_time, args=tiny, rounds=7, iterations=1, warmup_rounds=1)


def test_tiny_length_sorted_batches(benchmark, tiny):
    benchmark.pedantic(batched, args=tiny, rounds=7, iterations=1, warmup_rounds=1)


def _base(folder: Path):
    """A base-size WavLM with random weights (transformers' default WavLMConfig is WavLM-Base)."""
    import transformers

    model = transformers.WavLMModel(transformers.WavLMConfig())
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def base_cpu(tmp_path_factory, threads):
    import os

    threads.set_num_threads(os.cpu_count() or 1)
    return _extractor(_base(tmp_path_factory.mktemp("base") / "wavlm-base-random")), _clips(16)


def test_base_cpu_one_clip_at_a_time(benchmark, base_cpu):
    benchmark.pedantic(one_at_a_time, args=base_cpu, rounds=1, iterations=1)


def test_base_cpu_length_sorted_batches(benchmark, base_cpu):
    benchmark.pedantic(batched, args=base_cpu, rounds=1, iterations=1)


@pytest.fixture(scope="module")
def base_cuda(tmp_path_factory, threads):
    if not threads.cuda.is_available():
        pytest.skip("no CUDA device here")
    return _base(tmp_path_factory.mktemp("base-cuda") / "wavlm-base-random"), _clips(1440)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_base_cuda_length_sorted_batches(benchmark, base_cuda, dtype):
    folder, clips = base_cuda
    extractor = _extractor(folder, "cuda", dtype)
    batched(extractor, clips[:64])  # warm-up: kernels chosen, memory allocated
    benchmark.pedantic(batched, args=(extractor, clips), rounds=3, iterations=1)
    benchmark.extra_info["clips_per_s"] = len(clips) / benchmark.stats.stats.median


def test_base_cuda_one_clip_at_a_time(benchmark, base_cuda):
    folder, clips = base_cuda
    extractor = _extractor(folder, "cuda")
    one_at_a_time(extractor, clips[:16])
    benchmark.pedantic(one_at_a_time, args=(extractor, clips[:256]), rounds=1, iterations=1)
    benchmark.extra_info["clips_per_s"] = 256 / benchmark.stats.stats.median
