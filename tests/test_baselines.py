"""The strong baselines (logreg, linear_svm, softmax_mlp) as ordinary plugins, and encoder auto resolution."""
from __future__ import annotations

import pytest
import torch

from ser_bench.running.cells import Cell, resolve
from ser_bench.errors import ProtocolError, SerBenchError
from ser_bench.model.heads import get_head
from ser_bench.model.training import fit, freeze_layers
from ser_bench.plugin_api.types import LossContext


def blobs(n_per_class, seed, classes=4, dim=20, spread=1.0):
    """Gaussian clusters 6 standard deviations apart (centres on the axes, scaled)."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    centres = 6.0 * torch.eye(dim)[:classes] / 2 ** 0.5
    return centres[y] + spread * torch.randn(len(y), dim, generator=gen), y


@pytest.mark.parametrize("loss", ["logreg", "linear_svm"])
def test_fitted_baselines_classify_separable_clusters(registry, loss):
    spec = registry.get("losses", loss)
    assert not spec.trains and spec.default_encoder == "identity"
    model = registry.get("encoders", spec.default_encoder).build(input_dim=20)
    x_sup, y_sup = blobs(30, seed=0)
    x_test, y_test = blobs(50, seed=1)
    pred = get_head(registry, spec.default_head)(model, x_test, x_sup, y_sup, 4, rule="mean")
    assert pred.dtype == torch.long and (pred == y_test).float().mean() > 0.9


def test_the_two_fitted_baselines_differ_only_in_their_head(registry):
    logreg, svm = registry.get("losses", "logreg"), registry.get("losses", "linear_svm")
    assert (logreg.default_head, svm.default_head) == ("linear", "linear_svm")
    assert registry.get("heads", "linear").params["C"] == registry.get("heads", "linear_svm").params["C"]


def test_a_fitted_baseline_refuses_to_be_trained_by_gradient(registry):
    marker = registry.get("losses", "logreg").build()
    with pytest.raises(SerBenchError, match="nothing to train by gradient"):
        marker(None, torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))


def test_softmax_mlp_trains_an_mlp_that_the_linear_head_reads(registry):
    spec = registry.get("losses", "softmax_mlp")
    assert spec.trains and spec.default_encoder == "mlp" and spec.default_head == "linear"
    torch.manual_seed(0)
    model = registry.get("encoders", "mlp").build(input_dim=20)
    loss = spec.build(context=LossContext(num_classes=4, embedding_dim=16, input_dim=20), **spec.params)
    x, y = blobs(30, seed=0)
    before = loss(model, x, y).item()
    fit(model, x, y, loss, epochs=20, batch_size=32, lr=1e-2)
    assert loss(model, x, y).item() < before / 2
    x_test, y_test = blobs(50, seed=1)
    pred = get_head(registry, "linear")(model, x_test, x, y, 4)
    assert (pred == y_test).float().mean() > 0.9


def test_identity_encoder_has_nothing_to_train_or_freeze(registry):
    model = registry.get("encoders", "identity").build(input_dim=5)
    x = torch.randn(3, 5)
    assert torch.equal(model.embed(x), x) and not list(model.parameters()) and model.feature_layers() == []
    freeze_layers(model, 0)
    with pytest.raises(ProtocolError, match="cannot freeze 1 layers"):
        freeze_layers(model, 1)


@pytest.mark.parametrize("loss, encoder, head", [
    ("logreg", "identity", "linear"), ("linear_svm", "identity", "linear_svm"), ("softmax_mlp", "mlp", "linear"),
    ("bce_pair", "siamese-mlp", "siamese"), ("ratio_distance", "siamese-mlp", "siamese"),
    ("cross_entropy", "siamese-mlp", "linear"), ("triplet", "siamese-mlp", "prototype"),
])
def test_encoder_auto_is_the_loss_default_and_is_what_the_cell_records(registry, loss, encoder, head):
    cell = resolve(Cell("oodt", loss, "sim-ravdess", source="sim-crema"), registry)
    assert (cell.encoder, cell.head, cell.skip_reason) == (encoder, head, "")
    assert cell.as_dict()["encoder"] == encoder
    explicit = resolve(Cell("oodt", loss, "sim-ravdess", source="sim-crema", encoder=encoder), registry)
    assert explicit.cell_id() == cell.cell_id()


def test_a_head_that_does_not_fit_a_baseline_is_a_recorded_skip(registry):
    cell = resolve(Cell("idt", "logreg", "sim-ravdess", head="siamese"), registry)
    assert "siamese head needs a Siamese encoder trained with a pair loss" in cell.skip_reason
    cell = resolve(Cell("idt", "logreg", "sim-ravdess", encoder="siamese-mlp"), registry)
    assert "trains embedding encoders, not the siamese encoder" in cell.skip_reason
    # Any embedding head can read the features.
    for head in ("prototype", "knn", "linear_svm"):
        assert not resolve(Cell("idt", "logreg", "sim-ravdess", head=head), registry).skip_reason


@pytest.mark.slow
def test_baselines_run_idt_and_oodt_on_the_same_splits_as_any_loss(registry, ctx, tiny_corpora, tmp_path):
    from ser_bench.results.store import load_results
    from ser_bench.running.runner import run

    from .conftest import FAST_TRAINING, TINY

    cells = [resolve(Cell(protocol, loss, "sim-ravdess", source="sim-crema" if protocol == "oodt" else None,
                          training=FAST_TRAINING, dataset_params=TINY), registry)
             for protocol in ("idt", "oodt") for loss in ("logreg", "linear_svm", "bce_pair")]
    report = run(cells, registry, ctx, tmp_path, executor="serial")
    assert not report.failed, report.failed
    results = {(r.params.protocol, r.params.loss): r for r in load_results(tmp_path)}
    assert results["idt", "logreg"].params.encoder == "identity"
    for protocol in ("idt", "oodt"):
        hashes = {loss: [s.hash for s in results[protocol, loss].splits]
                  for loss in ("logreg", "linear_svm", "bce_pair")}
        assert hashes["logreg"] == hashes["linear_svm"] == hashes["bce_pair"], protocol
    folds = results["idt", "logreg"].splits
    assert sum(s.metrics.accuracy for s in folds) / len(folds) > 0.4  # chance is 0.25
