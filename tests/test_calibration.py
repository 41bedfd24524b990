"""Calibration metrics (ECE, Brier, NLL), the leave-one-out temperature, and the heads' class probabilities."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ser_bench.model.calibration import (
    CAP,
    brier_score,
    calibration_metrics,
    expected_calibration_error,
    fit_temperature,
    leave_one_out_clips,
    tempered_probabilities,
    temperature_of,
)
from ser_bench.model.heads import get_head, get_probabilities

# Five clips, three classes; every confidence lies inside a bin of width 1/15, none on an edge.
HAND = np.array([
    [0.90, 0.05, 0.05],  # truth 0: confidence 0.90 (bin 13: 13/15 = 0.867 .. 0.933), right
    [0.78, 0.12, 0.10],  # truth 1: confidence 0.78 (bin 11: 0.733 .. 0.800), wrong
    [0.20, 0.70, 0.10],  # truth 1: confidence 0.70 (bin 10: 0.667 .. 0.733), right
    [0.45, 0.30, 0.25],  # truth 2: confidence 0.45 (bin 6: 0.400 .. 0.467), wrong
    [0.11, 0.11, 0.78],  # truth 2: confidence 0.78 (bin 11), right
])
HAND_TRUTH = np.array([0, 1, 1, 2, 2])


def test_ece_by_hand():
    # bin 13: 1 clip, accuracy 1, confidence 0.90 -> gap 0.10
    # bin 11: 2 clips, accuracy 1/2, confidence (0.78 + 0.78) / 2 = 0.78 -> gap 0.28
    # bin 10: 1 clip, accuracy 1, confidence 0.70 -> gap 0.30
    # bin 6:  1 clip, accuracy 0, confidence 0.45 -> gap 0.45
    # ECE = (1 * 0.10 + 2 * 0.28 + 1 * 0.30 + 1 * 0.45) / 5 = 1.41 / 5 = 0.282
    assert expected_calibration_error(HAND, HAND_TRUTH) == pytest.approx(0.282, abs=1e-12)
    # One bin: accuracy 3/5, mean confidence (0.90 + 0.78 + 0.70 + 0.45 + 0.78) / 5 = 3.61 / 5 = 0.722
    # -> ECE = |0.6 - 0.722| = 0.122
    assert expected_calibration_error(HAND, HAND_TRUTH, bins=1) == pytest.approx(0.122, abs=1e-12)


def test_brier_and_nll_by_hand():
    # clip 1: 0.10^2 + 0.05^2 + 0.05^2 = 0.0100 + 0.0025 + 0.0025 = 0.0150
    # clip 2: 0.78^2 + 0.88^2 + 0.10^2 = 0.6084 + 0.7744 + 0.0100 = 1.3928
    # clip 3: 0.20^2 + 0.30^2 + 0.10^2 = 0.0400 + 0.0900 + 0.0100 = 0.1400
    # clip 4: 0.45^2 + 0.30^2 + 0.75^2 = 0.2025 + 0.0900 + 0.5625 = 0.8550
    # clip 5: 0.11^2 + 0.11^2 + 0.22^2 = 0.0121 + 0.0121 + 0.0484 = 0.0726
    # mean = 2.4754 / 5 = 0.49508
    assert brier_score(HAND, HAND_TRUTH) == pytest.approx(0.49508, abs=1e-12)
    metrics = calibration_metrics(HAND, HAND_TRUTH)
    # NLL: -(ln 0.90 + ln 0.12 + ln 0.70 + ln 0.25 + ln 0.78) / 5
    nll = -(math.log(0.90) + math.log(0.12) + math.log(0.70) + math.log(0.25) + math.log(0.78)) / 5
    assert metrics == pytest.approx({"ece": 0.282, "brier": 0.49508, "bins": 15, "nll": nll}, abs=1e-12)
    assert all(isinstance(v, float) for k, v in metrics.items() if k != "bins") and metrics["bins"] == 15


def _reference_ece(p, y, bins):
    """Guo et al. (2017), eq. (3), as a loop over bins (m / bins, (m + 1) / bins]."""
    confidence, predicted = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for m in range(bins):
        inside = (confidence > edges[m]) & (confidence <= edges[m + 1])
        if m == 0:
            inside |= confidence == 0
        if inside.any():
            accuracy = (predicted[inside] == y[inside]).mean()
            total += inside.sum() / len(y) * abs(accuracy - confidence[inside].mean())
    return total


@pytest.mark.parametrize("seed, classes, bins", [(0, 2, 15), (1, 4, 15), (2, 7, 10), (3, 3, 1)])
def test_ece_equals_the_reference_loop(seed, classes, bins):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(classes, 0.5), size=400)
    y = rng.integers(0, classes, size=400)
    assert expected_calibration_error(p, y, bins) == pytest.approx(_reference_ece(p, y, bins), abs=1e-12)


def test_brier_is_twice_scikit_learns_binary_brier():
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(0)
    positive = rng.random(300)
    y = rng.integers(0, 2, size=300)
    p = np.stack([1 - positive, positive], axis=1)
    # scikit-learn's binary Brier is mean (p_1 - y)^2; ours adds (p_0 - (1 - y))^2 = (p_1 - y)^2 per clip.
    assert brier_score(p, y) == pytest.approx(2 * brier_score_loss(y, positive), rel=1e-12)
    assert 0 <= brier_score(p, y) <= 2


def test_metrics_refuse_what_is_not_a_probability():
    p = HAND.copy()
    p[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        calibration_metrics(p, HAND_TRUTH)
    with pytest.raises(ValueError, match="sum to 1"):
        calibration_metrics(HAND * 0.9, HAND_TRUTH)
    with pytest.raises(ValueError, match="class indices"):
        calibration_metrics(HAND, HAND_TRUTH + 1)
    assert calibration_metrics(torch.tensor(HAND), torch.tensor(HAND_TRUTH))["brier"] == pytest.approx(0.49508)


def test_temperature_fitting_recovers_the_temperature_that_drew_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 4.0, size=(5000, 5))
    z = logits / 3.0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p])
    fitted = fit_temperature(logits, labels)
    assert fitted.value == pytest.approx(3.0, rel=0.08) and fitted.clips == 5000 and fitted.fallback == ""
    # -inf marks a class that cannot be predicted; the fit ignores it
    masked = np.concatenate([logits, np.full((5000, 1), -np.inf)], axis=1)
    assert fit_temperature(masked, labels).value == pytest.approx(fitted.value, rel=1e-6)


def test_leave_one_out_clips_skip_single_clip_classes_and_cap_stratified():
    labels = np.array([0, 0, 1, 2, 2, 2])
    assert leave_one_out_clips(labels).tolist() == [0, 1, 3, 4, 5]  # class 1 has one clip
    big = np.repeat([0, 1, 2, 3], [500, 300, 150, 50])
    chosen = leave_one_out_clips(big)
    assert len(chosen) == CAP and np.array_equal(chosen, leave_one_out_clips(big))
    assert np.bincount(big[chosen]).tolist() == [128, 77, 38, 13]  # 256 * (0.5, 0.3, 0.15, 0.05), rounded
    assert not np.array_equal(chosen, leave_one_out_clips(big, seed=1))


def test_the_temperature_falls_back_to_one_where_nothing_can_be_left_out():
    scores = torch.tensor([[-1.0, -2.0, float("-inf")], [-3.0, -0.5, float("-inf")]])
    never = pytest.fail  # left_out is never called without a clip to score
    p = tempered_probabilities(scores, torch.tensor([0, 1]), never)  # each class has one clip
    assert temperature_of(p).value == 1.0 and "two support clips" in temperature_of(p).fallback
    assert torch.allclose(p, torch.softmax(scores.double(), dim=1)) and (p[:, 2] == 0).all()
    single = tempered_probabilities(torch.tensor([[-1.0, float("-inf")]]), torch.tensor([0, 0]), never)
    assert single.tolist() == [[1.0, 0.0]] and "single class" in temperature_of(single).fallback


def test_at_most_cap_support_clips_are_scored_leave_one_out():
    seen = []

    def left_out(index):
        seen.append(index)
        return torch.zeros(len(index), 3)

    y = torch.arange(3).repeat(300)
    tempered_probabilities(torch.zeros(4, 3), y, left_out)
    assert len(seen) == 1 and len(seen[0]) == CAP and seen[0].dtype == torch.long


# --- the heads -------------------------------------------------------------------------------------------

N_CLASSES = 5
ABSENT = 2  # no support clip of class 2


def _data(seed=0, dim=8, per_class=12, spread=2.0):
    """Overlapping Gaussian classes (errors happen), class 2 absent from the support set."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(N_CLASSES, dim, generator=gen)
    y_s = torch.tensor([c for c in range(N_CLASSES) if c != ABSENT]).repeat_interleave(per_class)
    y_s = torch.cat([y_s, torch.tensor([0, 1, 4])])  # unequal classes
    y_t = torch.randint(0, N_CLASSES, (60,), generator=gen)
    x_s = centres[y_s] + spread * torch.randn(len(y_s), dim, generator=gen)
    x_t = centres[y_t] + spread * torch.randn(len(y_t), dim, generator=gen)
    return x_t, x_s, y_s


def _model(registry, head, dim=8):
    torch.manual_seed(0)
    if registry.get("heads", head).needs == "pair":
        return registry.get("encoders", "siamese-mlp").build(input_dim=dim)
    return registry.get("encoders", "identity").build(input_dim=dim)


@pytest.mark.parametrize("head, rule", [("prototype", "mean"), ("knn", "mean"), ("siamese", "mean"),
                                        ("siamese", "sum"), ("linear", "mean")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_agree_with_predict(registry, head, rule, seed):
    x_t, x_s, y_s = _data(seed)
    model = _model(registry, head)
    p = get_probabilities(registry, head)(model, x_t, x_s, y_s, N_CLASSES, rule=rule)
    pred = get_head(registry, head)(model, x_t, x_s, y_s, N_CLASSES, rule=rule)
    assert p.shape == (len(x_t), N_CLASSES) and p.dtype.is_floating_point
    assert torch.allclose(p.sum(1), torch.ones(len(x_t), dtype=p.dtype), atol=1e-6)
    assert (p[:, ABSENT] == 0).all() and (p >= 0).all()
    # A softmax with T > 0 keeps the order of the scores: its argmax is the nearest class mean (prototype),
    # the vote's winner with the half-vote tie break (knn: the softmax is over the votes themselves), the best
    # rule score (siamese); linear: predict_proba of the classifier predict uses.
    assert torch.equal(p.argmax(1), pred)
    calibration_metrics(p, pred)  # valid probabilities for the metrics
    temperature = temperature_of(p)
    if head == "linear":
        assert temperature is None
    else:
        assert 1e-3 <= temperature.value <= 1e3 and temperature.clips == len(y_s) and not temperature.fallback


def _brute_force_left_out(registry, head, model, x_s, y_s, rule):
    """Each support clip scored by the head's own rule against the support set without it."""
    from ser_bench.plugin_kit.helpers import decision_scores, embed

    rows = []
    for i in range(len(y_s)):
        keep = torch.arange(len(y_s)) != i
        xs, ys = x_s[keep], y_s[keep]
        if head == "siamese":
            rows.append(decision_scores(model, x_s[i:i + 1], xs, ys, N_CLASSES, rule)[0])
            continue
        z_s, z_i = embed(model, xs), embed(model, x_s[i:i + 1])
        row = torch.full((N_CLASSES,), float("-inf"))
        if head == "prototype":
            for c in torch.unique(ys):
                row[c] = -torch.linalg.norm(z_i[0] - z_s[ys == c].mean(0))
        else:  # knn, k = 5: votes of the 5 nearest others, +0.5 for the nearest one's class
            order = torch.cdist(z_i, z_s)[0].argsort()[:5]
            row[torch.unique(ys)] = 0.0
            for j in order:
                row[ys[j]] += 1
            row[ys[order[0]]] += 0.5
        rows.append(row)
    return torch.stack(rows)


@pytest.mark.parametrize("head, rule", [("prototype", "mean"), ("knn", "mean"), ("siamese", "mean"),
                                        ("siamese", "sum")])
def test_the_temperature_is_fitted_on_the_support_set_scored_leave_one_out(registry, head, rule):
    x_t, x_s, y_s = _data(3)
    model = _model(registry, head)
    p = get_probabilities(registry, head)(model, x_t, x_s, y_s, N_CLASSES, rule=rule)
    expected = fit_temperature(_brute_force_left_out(registry, head, model, x_s, y_s, rule), y_s)
    assert temperature_of(p).value == pytest.approx(expected.value, rel=1e-4)


@pytest.mark.parametrize("head", ["prototype", "knn", "siamese", "linear"])
def test_a_single_support_class_is_certain_and_no_test_clip_is_no_row(registry, head):
    x_t, x_s, y_s = _data(4)
    model = _model(registry, head)
    probabilities = get_probabilities(registry, head)
    one = y_s == 3
    p = probabilities(model, x_t, x_s[one], y_s[one], N_CLASSES)
    assert torch.equal(p, torch.nn.functional.one_hot(torch.full((len(x_t),), 3), N_CLASSES).to(p.dtype))
    assert probabilities(model, x_t[:0], x_s, y_s, N_CLASSES).shape == (0, N_CLASSES)


def test_bound_parameters_reach_the_probabilities(registry):
    x_t, x_s, y_s = _data(5)
    model = _model(registry, "knn")
    for k in (1, 9):
        p = get_probabilities(registry, "knn", {"k": k})(model, x_t, x_s, y_s, N_CLASSES)
        assert torch.equal(p.argmax(1), get_head(registry, "knn", {"k": k})(model, x_t, x_s, y_s, N_CLASSES))
    strong = get_probabilities(registry, "linear", {"C": 100.0})(model, x_t, x_s, y_s, N_CLASSES)
    weak = get_probabilities(registry, "linear", {"C": 0.001})(model, x_t, x_s, y_s, N_CLASSES)
    assert strong.max(1).values.mean() > weak.max(1).values.mean()  # less regularised, more confident


def test_heads_say_how_their_probabilities_are_made(registry):
    assert get_probabilities(registry, "linear_svm") is None
    assert registry.get("heads", "linear_svm").calibration == ""
    for head in ("prototype", "knn", "siamese", "linear"):
        spec = registry.get("heads", head)
        assert spec.probabilities is not None and spec.calibration and "\n" not in spec.calibration
    assert "predict_proba" in registry.get("heads", "linear").calibration
    assert "leave-one-out" in registry.get("heads", "prototype").calibration
