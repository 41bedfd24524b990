"""The loss zoo against hand-computed values on tiny batches, heads, and the DAE objective."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ser_bench.model.heads import get_head
from ser_bench.model.training import fit
from ser_bench.plugin_api.types import LossContext

Z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])  # unit vectors
Y = torch.tensor([0, 0, 1])
D01, D02, D12 = math.sqrt(0.8), 2.0, math.sqrt(3.2)


class Identity(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def embed(self, x):
        return x + 0 * self.dummy


def loss_value(registry, name, z=Z, y=Y, context=None, **params):
    spec = registry.get("losses", name)
    params = {**spec.params, **params}
    fn = spec.build(context=context, **params) if spec.needs_context else spec.build(**params)
    return fn(Identity(), z, y).item()


def test_contrastive(registry):
    # Ordered positive pairs (0,1),(1,0): d = sqrt(0.8); negatives beyond the margin contribute 0.
    assert loss_value(registry, "contrastive") == pytest.approx(D01, rel=1e-4)
    # neg_margin 1.9: negative pairs (1,2),(2,1) give 1.9 - sqrt(3.2); non-zero terms are averaged.
    assert loss_value(registry, "contrastive", neg_margin=1.9) == pytest.approx(D01 + 1.9 - D12, rel=1e-4)


def test_triplet_without_miner(registry):
    # Triplets (0,1,2): 0.894 - 2 + 1 < 0; (1,0,2): 0.894 - 1.789 + 1 = 0.106.
    value = loss_value(registry, "triplet", margin=1.0, miner=None)
    assert value == pytest.approx(D01 - D12 + 1.0, rel=1e-4)


def test_supcon(registry):
    tau = 1.0  # a temperature at which float32 keeps both anchors' terms
    s01, s02, s12 = 0.6, -1.0, -0.6
    anchor0 = -math.log(math.exp(s01 / tau) / (math.exp(s01 / tau) + math.exp(s02 / tau)))
    anchor1 = -math.log(math.exp(s01 / tau) / (math.exp(s01 / tau) + math.exp(s12 / tau)))
    assert loss_value(registry, "supcon", temperature=tau) == pytest.approx((anchor0 + anchor1) / 2, rel=1e-4)


def test_multi_similarity_without_miner(registry):
    a, b, base = 2.0, 50.0, 0.5
    s = {(0, 1): 0.6, (0, 2): -1.0, (1, 2): -0.6}
    sim = lambda i, j: s[(min(i, j), max(i, j))]  # noqa: E731
    terms = []
    for i in range(3):
        pos = [j for j in range(3) if j != i and Y[j] == Y[i]]
        neg = [j for j in range(3) if Y[j] != Y[i]]
        pos_term = math.log1p(sum(math.exp(-a * (sim(i, j) - base)) for j in pos)) / a if pos else 0.0
        neg_term = math.log1p(sum(math.exp(b * (sim(i, j) - base)) for j in neg)) / b if neg else 0.0
        terms.append(pos_term + neg_term)
    assert loss_value(registry, "multi_similarity", miner=None) == pytest.approx(np.mean(terms), rel=1e-4)


def test_pml_adapter_matches_the_named_loss_and_trains_proxy_weights(registry):
    context = LossContext(num_classes=2, embedding_dim=2, input_dim=2)
    assert loss_value(registry, "pml", context=context, variant="ContrastiveLoss") == pytest.approx(D01, rel=1e-4)
    torch.manual_seed(0)  # ArcFace's class weights start from the global generator: not from what ran before
    loss = registry.get("losses", "pml").build(context=context, variant="ArcFaceLoss")
    before = [p.detach().clone() for p in loss.parameters()]
    assert before, "ArcFace has class weights"
    model = torch.nn.Linear(2, 2)
    model.embed = model.forward
    fit(model, Z, Y, loss, steps=3, batch_size=3, lr=0.1)
    assert any(not torch.equal(b, p) for b, p in zip(before, loss.parameters()))


def test_cross_entropy_by_hand(registry):
    loss = registry.get("losses", "cross_entropy").build(LossContext(2, 2, 2))
    with torch.no_grad():
        loss.classifier.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        loss.classifier.bias.zero_()
    logits = Z.numpy()
    expected = np.mean([-(logits[i, Y[i]] - np.log(np.exp(logits[i]).sum())) for i in range(3)])
    assert loss(Identity(), Z, Y).item() == pytest.approx(expected, rel=1e-5)


def test_continuous_slope_by_hand(registry):
    z = torch.tensor([[0.0], [1.0], [3.0]])
    y = torch.tensor([0.0, 0.5, 1.0])
    # dy = (-0.5, -1, -0.5), dz = (-1, -3, -2): b = 4.5 / 1.5 = 3; residuals 3dy - dz = (-0.5, 0, 0.5).
    assert loss_value(registry, "continuous_slope", z=z, y=y) == pytest.approx(2 + 0.5 / 3)
    assert loss_value(registry, "continuous_slope", z=z, y=y, difference="norm") == pytest.approx(2 + 0.5 / 3)
    # Signed mean vs norm differ once the embedding direction disagrees with the label order.
    z2 = torch.tensor([[0.0, 0.0], [1.0, -3.0], [2.0, 2.0]])
    signed = loss_value(registry, "continuous_slope", z=z2, y=y)
    norm = loss_value(registry, "continuous_slope", z=z2, y=y, difference="norm")
    assert signed != pytest.approx(norm)
    assert loss_value(registry, "continuous_slope", z=z, y=torch.zeros(3)) == 0.0
    assert registry.get("losses", "continuous_slope").build(dimension="both").targets == ("arousal", "valence")


def test_log_ratio_by_hand(registry):
    z = torch.tensor([[0.0], [1.0], [3.0]])
    y = torch.tensor([0.0, 0.5, 1.0])
    # D_z: 1, 9, 4; D_y: 0.25, 1, 0.25 -> e01 = log 4, e02 = log 9, e12 = log 16.
    expected = (math.log(4 / 9) ** 2 + math.log(4 / 16) ** 2 + math.log(9 / 16) ** 2) / 3
    assert loss_value(registry, "log_ratio", z=z, y=y) == pytest.approx(expected, rel=1e-4)


def test_dae_objective_is_the_log_of_the_weighted_sum(registry):
    torch.manual_seed(0)
    dae = registry.get("encoders", "dae").build(input_dim=6, noise=0.0, reconstruction_weight=0.3)
    x, extra = torch.randn(4, 6), torch.randn(3, 6)
    metric = torch.tensor(0.8)
    everything = torch.cat([x, extra])
    z = everything
    for block in dae.blocks:
        z = block(z)
    reconstruction = (dae.decoder(z) - everything).pow(2).mean()
    expected = torch.log(0.3 * reconstruction + 0.7 * metric)
    assert dae.combine_loss(x, metric, extra).item() == pytest.approx(expected.item(), rel=1e-5)
    assert dae.embed(x).shape == (4, 8) and len(dae.feature_layers()) == 4


def test_embedding_heads_on_separable_clusters(registry):
    support = torch.tensor([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0], [0.0, 5.0], [0.1, 5.1]])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    queries = torch.tensor([[0.1, 0.1], [4.9, 5.2], [0.0, 4.8]])
    model = Identity()
    for name in ("prototype", "knn", "linear", "linear_svm"):
        assert get_head(registry, name)(model, queries, support, labels, 3).tolist() == [0, 1, 2], name


def test_log_ratio_closed_form_equals_the_explicit_triplet_mean(registry):
    torch.manual_seed(3)
    z, y = torch.randn(9, 4), torch.rand(9, 2)
    from ser_bench_plugins.losses.log_ratio import log_ratio_loss

    eps = 1e-6
    log_dz = torch.log(torch.cdist(z, z).pow(2) + eps)
    log_dy = torch.log(torch.cdist(y, y).pow(2) + eps)
    terms = [((log_dz[a, i] - log_dz[a, j]) - (log_dy[a, i] - log_dy[a, j])) ** 2
             for a in range(9) for i in range(9) for j in range(9) if len({a, i, j}) == 3]
    assert log_ratio_loss(z, y, eps).item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-4)
