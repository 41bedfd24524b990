"""The layer-wise view end to end on the simulated corpora with a tiny random model: one cell per layer
from one extraction, recorded settings, the table and the figure, the layer-weighted encoder, the CLI."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")

from ser_bench.cli.main import main  # noqa: E402
from ser_bench.reporting.layers import feature_lines, layer_section, layer_tables  # noqa: E402
from ser_bench.reporting.html import to_html  # noqa: E402
from ser_bench.reporting.leaderboard import to_markdown  # noqa: E402
from ser_bench.results.store import load_results  # noqa: E402
from ser_bench.running.grid import Grid, expand  # noqa: E402
from ser_bench.running.runner import run  # noqa: E402
from ser_bench_plugins.features.ssl_tiny import save_tiny_model  # noqa: E402

from .conftest import FAST_TRAINING, TINY  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-wavlm")


def _grid(tiny, **overrides):
    base = {"training": FAST_TRAINING, "dataset_params": TINY,
            "feature_params": {"ssl": {"model": str(tiny), "layers": "all", "device": "cpu"}}}
    kwargs = dict(protocols=["oodt", "idt"], losses=["logreg"], targets=["sim-ravdess"], sources=["sim-crema"],
                  features=["ssl"], base=base)
    kwargs.update(overrides)
    return Grid(**kwargs)


@pytest.mark.slow  # an end-to-end run (12 cells with the second run), as the project marks those
def test_layers_all_runs_one_cell_per_layer_from_one_extraction(registry, ctx, tiny_corpora, tiny, tmp_path):
    features = ctx.cache_dir / "features"
    before = set(features.glob("ssl-*")) if features.is_dir() else set()
    cells = expand(_grid(tiny), registry)
    assert sorted((c.protocol, c.feature_params["layers"][0]) for c in cells) == \
        [(p, layer) for p in ("idt", "oodt") for layer in (0, 1, 2)]
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert len(report.ran) == 6 and not report.failed, report.failed
    results = load_results(tmp_path)
    for r in results:  # every result says exactly which model, layer, pooling, dtype and device
        assert set(r.params.feature_params) == {"model", "revision", "sha256", "layers", "pooling", "dtype", "device"}
        assert r.params.feature_params["model"] == str(tiny.resolve())
        assert (r.params.feature_params["device"], r.params.feature_params["dtype"]) == ("cpu", "float32")
    # Every layer came from one cache row per clip: one folder, a pack per corpus, holding all three layers.
    folders = sorted(set(features.glob("ssl-*")) - before)
    clips = sum(d.clips_used for d in next(r for r in results if r.params.protocol == "oodt").data.values())
    assert len(folders) == 1 and sum(len(np.load(p)) for p in folders[0].rglob("*.npy")) == clips
    again = run(expand(_grid(tiny), registry), registry, ctx, tmp_path, executor="serial")
    assert len(again.already_done) == 6 and not again.ran

    ((title, setting, table),) = layer_tables(results)
    assert list(table.index) == [0, 1, 2] and list(table.columns) == ["oodt", "idt"]
    assert ((table >= 0) & (table <= 100)).all().all()
    lines = layer_section(results, tmp_path / "figures")
    assert "## UAR % by layer" in lines and (tmp_path / "figures" / "layers.png").stat().st_size > 1000
    board = to_markdown(results)
    assert "## UAR % by layer" in board and "logreg (layers=0)" in board and "logreg (layers=2)" in board
    page = to_html(results)
    assert page.count("<b>UAR by layer: ssl") == 1 and 'alt="UAR by layer: ssl' in page
    (line,) = feature_lines(results)
    assert "layers: 0 | 1 | 2" in line and "device=cpu" in line and "dtype=float32" in line


def test_a_changed_model_is_another_cell(registry, tiny, tmp_path):
    model = save_tiny_model(tmp_path / "model")
    before = {c.cell_id() for c in expand(_grid(model, protocols=["idt"], sources=[None]), registry)}
    save_tiny_model(model, seed=1)
    after = {c.cell_id() for c in expand(_grid(model, protocols=["idt"], sources=[None]), registry)}
    assert len(before) == len(after) == 3 and not before & after


def test_layer_weighted_encoder_trains_on_the_stacked_layers(registry, ctx, tiny_corpora, tiny, tmp_path):
    grid = _grid(tiny, protocols=["idt"], sources=[None], losses=["cross_entropy"], encoders=["layer-weighted"])
    grid.base["feature_params"]["ssl"]["layers"] = "stack"
    (cell,) = expand(grid, registry)
    assert cell.feature_params["layers"] == [0, 1, 2] and cell.encoder_params["layers"] == [0, 1, 2]
    encoder = registry.get("encoders", "layer-weighted").build(input_dim=3 * 32, **cell.encoder_params)
    assert encoder.layer_weights().tolist() == pytest.approx([1 / 3] * 3)
    report = run([cell], registry, ctx, tmp_path, executor="serial")
    assert len(report.ran) == 1 and not report.failed, report.failed
    assert report.ran[0].params.encoder_params["layers"] == [0, 1, 2] and 0 <= report.ran[0].summary["uar"] <= 1


def test_layer_weighted_encoder_learns_to_weight_the_informative_layer(registry):
    """Three stacked layers of which only the middle one tells the classes apart: trained through a
    linear classifier, the mix moves most of its weight onto that layer."""
    import torch

    gen = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    layers = [torch.randn(120, 8, generator=gen) for _ in range(3)]
    layers[1] = layers[1] * 0.3 + 3.0 * torch.nn.functional.one_hot(y, 8).float()
    x = torch.stack(layers, 1).flatten(1)
    encoder = registry.get("encoders", "layer-weighted").build(input_dim=24, layers=[0, 1, 2])
    head = torch.nn.Linear(16, 3)
    optimiser = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=0.02)
    for _ in range(150):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(head(encoder.embed(x)), y).backward()
        optimiser.step()
    weights = encoder.layer_weights()
    assert weights.sum().item() == pytest.approx(1.0) and weights.argmax().item() == 1 and weights[1] > 0.5


@pytest.mark.slow
def test_the_command_line_runs_a_layerwise_board(tiny_corpora, cache_dir, tiny, tmp_path, capsys):
    code = main(["-q", "run", "--protocol", "idt", "--loss", "logreg", "--target", "sim-ravdess", "--seed", "0",
                 "--dataset-param", "sim-ravdess.speakers=4", "--feature", "ssl", "--feature-param",
                 f"ssl.model={tiny}", "--feature-param", "ssl.layers=all", "--feature-param", "pooling=mean+std",
                 "--device", "cpu", "--executor", "serial", "--workers", "1", "--cache-dir", str(cache_dir),
                 "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "## UAR % by layer" in out and "pooling=mean+std" in out and "device=cpu" in out


@pytest.mark.parametrize("args, message", [
    (["--feature", "ssl", "--feature-param", "ssl.layrs=3"], "Did you mean 'layers'"),
    (["--feature", "is09-64", "--feature-param", "ssl.layers=3"], "'ssl' is not a feature of this run"),
    (["--feature", "ssl", "--feature-param", "ssl.model=nobody/no-such-model"], "hf download nobody/no-such-model"),
])
def test_the_command_line_refuses_what_cannot_run_before_any_work(tmp_path, capsys, args, message):
    code = main(["-q", "run", "--protocol", "idt", "--loss", "logreg", "--target", "sim-ravdess",
                 "--results", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), *args])
    assert code == 2 and message in capsys.readouterr().err
