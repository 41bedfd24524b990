"""The ssl feature on tiny random models loaded the way a user's checkpoint is: shapes, every supported
family, padding invariance, bfloat16 against float32, the cache and its key, the errors a user meets."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

pytest.importorskip("transformers")

from ser_bench.data.audio import resample  # noqa: E402
from ser_bench.data.features import extract_features  # noqa: E402
from ser_bench.errors import SerBenchError  # noqa: E402
from ser_bench.plugin_kit.testing import _speech_like  # noqa: E402
from ser_bench_plugins.features import ssl_extractor  # noqa: E402
from ser_bench_plugins.features.ssl_model import checkpoint_sha256  # noqa: E402
from ser_bench_plugins.features.ssl_tiny import save_tiny_model  # noqa: E402

RATE = 16000


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: this machine's cores are shared, and tiny models gain nothing from more."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A tiny random WavLM with the base models' group-norm feature encoder, saved as a user's would be."""
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-wavlm")


@pytest.fixture(scope="module")
def spec(registry):
    return registry.get("features", "ssl")


def _params(spec, model, **given):
    return spec.resolve(**{**spec.params, "model": str(model), "device": "cpu", **given})


def _clips(*seconds):
    return [_speech_like(RATE, s, seed=i) for i, s in enumerate(seconds)]


def test_resolved_parameters_name_the_model_exactly(spec, tiny):
    params = _params(spec, tiny)
    assert params == {"model": str(tiny.resolve()), "revision": "", "sha256": checkpoint_sha256(tiny),
                      "layers": [2], "pooling": "mean", "dtype": "float32", "device": "cpu"}
    assert spec.resolve(**params) == params  # resolving is idempotent: a resolved cell resolves to itself
    assert _params(spec, tiny, layers=-1)["layers"] == [2] and _params(spec, tiny, layers="stack")["layers"] == [0, 1, 2]
    with pytest.raises(SerBenchError, match="hidden states 0..2"):
        _params(spec, tiny, layers=5)
    with pytest.raises(SerBenchError, match="mean or mean\\+std"):
        _params(spec, tiny, pooling="max")


@pytest.mark.parametrize("layers, pooling, dim", [(None, "mean", 32), ([0, 2], "mean", 64), ("stack", "mean+std", 192)])
def test_shapes_follow_layers_and_pooling(spec, tiny, layers, pooling, dim):
    params = _params(spec, tiny, layers=layers, pooling=pooling)
    extractor = spec.build(**params)
    assert spec.dim_of(**params) == dim == len(extractor.columns)
    vectors = extractor.batch(_clips(0.5, 1.5, 3.0), RATE)
    assert [v.shape for v in vectors] == [(dim,)] * 3 and all(v.dtype == np.float32 for v in vectors)
    if pooling == "mean+std":  # each layer's block: its 32 means, then its 32 standard deviations (>= 0)
        assert (np.stack(vectors).reshape(3, 3, 2, 32)[:, :, 1] >= 0).all()


@pytest.mark.parametrize("family, norm", [("wavlm", "group"), ("wavlm", "layer"), ("wav2vec2", "group"),
                                          ("hubert", "layer"), ("data2vec-audio", "layer")])
def test_a_clip_gets_the_same_features_whatever_batch_it_is_in(spec, tmp_path, family, norm):
    model = save_tiny_model(tmp_path / family, family=family, norm=norm)
    extractor = spec.build(**_params(spec, model, layers="stack", pooling="mean+std"))
    short, mid, long = _clips(0.4, 1.3, 6.0)
    alone = extractor.batch([short], RATE)[0]
    for batch, at in (([short, long], 0), ([long, mid, short], 2)):  # padded to 15 times its length
        got = extractor.batch(batch, RATE)[at]
        assert np.abs(got - alone).max() <= 1e-4 * np.abs(alone).max()


@pytest.mark.parametrize("family, norm", [("wavlm", "group"), ("data2vec-audio", "layer")])
def test_without_the_padding_fixes_a_batch_moves_a_short_clip(spec, tmp_path, family, norm):
    """Undo the group-norm model's per-clip first convolution, or data2vec-audio's re-masking between
    positional convolutions, and a short clip batched with a long one moves by far more than the
    tolerance above (about 40-50 %): the invariance test is not vacuous."""
    extractor = spec.build(**_params(spec, save_tiny_model(tmp_path / family, family=family, norm=norm),
                                     layers="stack"))
    short, long = _clips(0.4, 6.0)
    alone = extractor.batch([short], RATE)[0]
    if norm == "group":
        convs = extractor.model.feature_extractor.conv_layers
        convs[0] = convs[0].inner  # the stock layer: the whole padded batch normalised together
    else:
        for layer in extractor.model.encoder.pos_conv_embed.layers:
            layer._forward_hooks.clear()  # padded frames left as the convolutions make them
    leaked = extractor.batch([short, long], RATE)[0]
    assert np.linalg.norm(leaked - alone) > 0.1 * np.linalg.norm(alone)


def test_bfloat16_matches_float32_within_two_percent(spec, tiny):
    """Stated tolerance: per clip, the relative L2 distance of bfloat16 (autocast) features to float32
    ones is below 2 % (measured on the tiny model: 0.3 %) and the cosine similarity above 0.999."""
    clips = _clips(0.5, 1.0, 2.0, 3.0)
    exact = np.stack(spec.build(**_params(spec, tiny, layers="stack", pooling="mean+std")).batch(clips, RATE))
    half = np.stack(spec.build(**_params(spec, tiny, layers="stack", pooling="mean+std", dtype="bfloat16"))
                    .batch(clips, RATE))
    relative = np.linalg.norm(half - exact, axis=1) / np.linalg.norm(exact, axis=1)
    cosine = (half * exact).sum(1) / np.linalg.norm(half, axis=1) / np.linalg.norm(exact, axis=1)
    assert relative.max() < 0.02 and cosine.min() > 0.999
    assert relative.max() > 0  # bfloat16 did run: the numbers are not float32's
    assert _params(spec, tiny, dtype="auto")["dtype"] == "float32"  # no GPU here: auto is float32


def _wavs(folder: Path, seconds) -> pd.DataFrame:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, clip in enumerate(_clips(*seconds)):
        paths.append(str(folder / f"clip{i}.wav"))
        sf.write(paths[-1], clip, RATE)
    return pd.DataFrame({"path": paths})


def test_second_run_reads_the_cache_without_loading_the_model_and_a_changed_model_misses(
        spec, tmp_path, ctx, monkeypatch):
    model = save_tiny_model(tmp_path / "model")
    manifest = _wavs(tmp_path / "audio", (0.5, 1.0, 1.5, 2.0, 2.5))
    before = _params(spec, model)
    first = extract_features(manifest, spec, before, ctx)
    assert first.cache_hits == 0 and first.values.shape == (5, 32) and np.isfinite(first.values).all()

    def no_loading(self, *args, **kwargs):
        raise AssertionError("the model was loaded although every clip is cached")

    monkeypatch.setattr(ssl_extractor.SSLExtractor, "__init__", no_loading)
    second = extract_features(manifest, spec, before, ctx)
    assert second.cache_hits == 5 and np.array_equal(first.values, second.values)
    other_layer = extract_features(manifest, spec, _params(spec, model, layers=0), ctx)
    assert other_layer.cache_hits == 5  # every layer was stored by the first extraction
    monkeypatch.undo()
    save_tiny_model(model, seed=1)  # new weights in the same folder: its hash changes, and so the key
    after = _params(spec, model)
    assert after["sha256"] != before["sha256"]
    third = extract_features(manifest, spec, after, ctx)
    assert third.cache_hits == 0 and not np.allclose(third.values, first.values)


def test_cuda_is_needed_only_for_clips_not_cached(spec, tiny, tmp_path, ctx):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    params = _params(spec, tiny, device="cuda")  # a cell may name cuda: its features may all be cached
    assert params["device"] == "cuda" and params["dtype"] == "float32"
    with pytest.raises(SerBenchError, match="sees no CUDA device. Use --device cpu"):
        extract_features(_wavs(tmp_path / "audio", (1.0,)), spec, params, ctx)


def test_a_given_sha256_that_no_longer_matches_is_refused(spec, tiny):
    with pytest.raises(SerBenchError, match="has changed"):
        _params(spec, tiny, sha256="0" * 64)


def test_a_missing_model_names_the_id_and_how_to_fetch_it(spec, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(SerBenchError) as info:
        _params(spec, "microsoft/wavlm-base-plus")
    message = str(info.value)
    for part in ("'microsoft/wavlm-base-plus'", "hf download microsoft/wavlm-base-plus", "HF_HUB_OFFLINE=1",
                 "never downloads", "ssl.model=/path/to/folder"):
        assert part in message
    with pytest.raises(SerBenchError, match="holds no config.json"):
        _params(spec, tmp_path)


def test_a_hub_id_is_read_from_the_local_cache_offline_with_its_commit(spec, tiny, tmp_path, monkeypatch):
    """The hub cache's layout (blobs named by their SHA-256, a snapshot per commit, refs/main), as
    ``hf download`` leaves it: the id resolves offline, records the commit, and hashes like the folder."""
    import hashlib

    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-wavlm"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for file in tiny.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copy(file, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / file.name)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    params = _params(spec, "tiny-org/tiny-wavlm")
    assert params["model"] == "tiny-org/tiny-wavlm" and params["revision"] == commit
    assert params["sha256"] == checkpoint_sha256(tiny)
    vector = spec.build(**params)(_clips(1.0)[0], RATE)
    assert np.allclose(vector, spec.build(**_params(spec, tiny))(_clips(1.0)[0], RATE))


def test_clips_shorter_than_the_receptive_field_are_named(spec, tiny, tmp_path, ctx):
    manifest = _wavs(tmp_path / "audio", (1.0,))
    short = tmp_path / "audio" / "blip.wav"
    sf.write(short, 0.1 * np.random.default_rng(0).standard_normal(200), RATE)  # 200 samples < 320
    manifest = pd.concat([manifest, pd.DataFrame({"path": [str(short)]})], ignore_index=True)
    with pytest.raises(SerBenchError) as info:
        extract_features(manifest, spec, _params(spec, tiny), ctx)
    assert "blip.wav: 200 samples" in str(info.value) and "receptive field of feature 'ssl' (320 samples" in str(info.value)
    ctx.skip_bad_files = True
    matrix = extract_features(manifest, spec, _params(spec, tiny), ctx)
    assert list(matrix.skipped) == [1] and np.isfinite(matrix.values[0]).all()


def test_audio_is_mixed_to_mono_and_resampled_to_the_models_rate(spec, tmp_path, ctx):
    model = save_tiny_model(tmp_path / "model-8k")
    config = json.loads((model / "preprocessor_config.json").read_text())
    (model / "preprocessor_config.json").write_text(json.dumps({**config, "sampling_rate": 8000}))
    left, right = _clips(1.2, 1.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], 1), RATE)
    params = _params(spec, model)
    extractor = spec.build(**params)
    assert extractor.sample_rate == 8000
    got = extract_features(pd.DataFrame({"path": [str(path)]}), spec, params, ctx).values[0]
    mono = resample(sf.read(path, dtype="float32")[0].mean(1), RATE, 8000)
    assert np.allclose(got, extractor.batch([mono], 8000)[0], atol=1e-5)


def test_batches_run_longest_first_within_their_bounds():
    from ser_bench.data.batching import plan_batches

    lengths = [5, 90, 30, 30, 200, 10, 60, 1, 75, 40]
    plan = plan_batches(lengths, batch_size=3, batch_samples=150)
    assert sorted(i for batch in plan for i in batch) == list(range(len(lengths)))
    order = [lengths[i] for batch in plan for i in batch]
    assert order == sorted(lengths, reverse=True)
    for batch in plan:
        assert len(batch) <= 3 and (len(batch) == 1 or len(batch) * lengths[batch[0]] <= 150)
    assert plan[0] == [4]  # one clip longer than the bound runs alone


def test_a_long_extraction_says_how_long_it_will_take(spec, tiny, tmp_path, ctx, monkeypatch):
    from ser_bench.data import batching

    monkeypatch.setattr(batching, "SAY_ETA_AFTER", 0.0)  # every job counts as long here
    manifest = _wavs(tmp_path / "audio", [0.5 + 0.1 * i for i in range(12)])  # two batches of at most 8
    from ser_bench.errors import SerBenchWarning

    with pytest.warns(SerBenchWarning, match="will take about"):
        extract_features(manifest, spec, _params(spec, tiny), ctx)
    (said,) = [w for w in ctx.warnings if "will take about" in w]
    assert said.startswith("features ssl: extracting 12 clips") and " on cpu " in said and "clips/s" in said


def test_loading_a_checkpoint_draws_no_bar_of_its_own_and_leaves_transformers_as_it_was(tiny, capfd):
    """ser-bench's extraction bar is the only one (and -q silences it); a user's transformers setting is
    restored after loading."""
    from transformers.utils import logging as hf_logging

    from ser_bench_plugins.features.ssl_model import load

    assert hf_logging.is_progress_bar_enabled()
    capfd.readouterr()
    load(tiny)
    out, err = capfd.readouterr()
    assert "Loading weights" not in out + err
    assert hf_logging.is_progress_bar_enabled()
