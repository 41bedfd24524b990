"""ser_bench.model.embedding_metrics: retrieval / clustering metrics of an embedding, and the invariance probe."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from ser_bench.model.embedding_metrics import invariance_probe, retrieval_metrics

NUMBERS = ("precision_at_1", "r_precision", "map_at_r", "nmi", "ami")


def _circle(degrees, radii=None):
    """2-d embeddings at the given angles; the radii differ so that only the L2-normalised direction counts."""
    theta = np.deg2rad(np.asarray(degrees, dtype=float))
    radii = np.arange(1, len(theta) + 1, dtype=float) if radii is None else np.asarray(radii, dtype=float)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1) * radii[:, None]


def _unit32(x):
    x = np.asarray(x, dtype=np.float64)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _leave_one_out(x, labels):
    """Plain numpy P@1, R-precision and MAP@R (Musgrave et al. 2020) over the queries whose class has another
    clip; also the smallest distance gap, among each query's R + 1 nearest, between a relevant and an
    irrelevant clip next to each other (float32 rounding could swap a closer pair and change the numbers)."""
    u = _unit32(x).astype(np.float64)
    d = np.sqrt(np.maximum(((u[:, None, :] - u[None, :, :]) ** 2).sum(-1), 0.0))
    p1, rp, ap, gaps = [], [], [], []
    for i in range(len(u)):
        others = np.delete(np.arange(len(u)), i)
        order = others[np.argsort(d[i, others], kind="stable")]
        relevant = labels[order] == labels[i]
        r = int(relevant.sum())
        if r == 0:
            continue
        top = relevant[:r]
        p1.append(float(relevant[0]))
        rp.append(top.mean())
        ap.append(sum(top[:j + 1].sum() / (j + 1) for j in range(r) if top[j]) / r)
        dist = d[i, order[:r + 1]]
        flips = relevant[1:r + 1] != relevant[:r]
        gaps.append(np.diff(dist)[flips].min() if flips.any() else np.inf)
    return float(np.mean(p1)), float(np.mean(rp)), float(np.mean(ap)), float(min(gaps))


# ---------------------------------------------------------------- retrieval_metrics

def test_module_imports_no_heavy_library():
    code = ("import sys, ser_bench.model.embedding_metrics; "
            "print(sorted(m for m in ('torch', 'sklearn', 'pytorch_metric_learning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_hand_computed_case():
    # Six clips on the unit circle (angles in degrees, radii 1..6, removed by L2 normalisation); the chord
    # distance grows with the angle between two clips, and no query has two others at the same angle.
    #   angle  0   10   25   45   70   100
    #   class  A   A    B    A    B    B       -> every class has 3 clips: R = 2 for every query, k = 2
    # query  neighbours by angle gap       top R=2  P@1  R-precision  AP@R = (1/R) * sum of precision@i at hits
    #   0    10A(10) 25B(25) 45A ...        A B      1    1/2          (1/2)(1/1)       = 1/2
    #   10   0A(10)  25B(15) 45A(35) ...    A B      1    1/2          (1/2)(1/1)       = 1/2
    #   25   10A(15) 45A(20) 0A(25) 70B ... A A      0    0            0
    #   45   25B(20) 70B(25) 10A(35) ...    B B      0    0            0
    #   70   45A(25) 100B(30) 25B(45) ...   A B      0    1/2          (1/2)(1/2)       = 1/4
    #   100  70B(30) 45A(55) 25B(75) ...    B A      1    1/2          (1/2)(1/1)       = 1/2
    # P@1 = 3/6 = 1/2; R-precision = (4 * 1/2)/6 = 1/3; MAP@R = (1/2 + 1/2 + 1/4 + 1/2)/6 = 7/4/6 = 7/24
    x = _circle([0, 10, 25, 45, 70, 100])
    out = retrieval_metrics(x, np.array(list("AABABB")))
    assert out["precision_at_1"] == pytest.approx(1 / 2, abs=1e-12)
    assert out["r_precision"] == pytest.approx(1 / 3, abs=1e-12)
    assert out["map_at_r"] == pytest.approx(float(Fraction(7, 24)), abs=1e-12)
    assert (out["k"], out["k_value"], out["n"]) == ("max_bin_count", 2, 6)
    assert out["distance"] == "euclidean on L2-normalised embeddings"
    assert all(isinstance(out[key], float) for key in NUMBERS)


def test_hand_computed_case_with_a_single_clip_class():
    # The same six clips and a seventh, of class C alone, at 3 degrees. C has no other clip (R = 0), so it is
    # not a query; it stays a reference, the nearest (wrong) neighbour of the clips at 0 and 10:
    #   0    3C(3)  10A(10)   top 2: C A   P@1 0, R-precision 1/2, AP@R (1/2)(1/2) = 1/4
    #   10   3C(7)  0A(10)    top 2: C A   P@1 0, R-precision 1/2, AP@R (1/2)(1/2) = 1/4
    #   25, 45, 70, 100: the clip at 3 degrees is farther than their two nearest, as before
    #   (25: 10 at 15, 45 at 20, then 3 at 22): 0/0/0, 0/0/0, 0/(1/2)/(1/4), 1/(1/2)/(1/2)
    # P@1 = 1/6; R-precision = (4 * 1/2)/6 = 1/3; MAP@R = (1/4 + 1/4 + 1/4 + 1/2)/6 = 5/24; k = 3 - 1 = 2
    x = _circle([0, 10, 25, 45, 70, 100, 3])
    out = retrieval_metrics(x, np.array(list("AABABBC")))
    assert out["precision_at_1"] == pytest.approx(1 / 6, abs=1e-12)
    assert out["r_precision"] == pytest.approx(1 / 3, abs=1e-12)
    assert out["map_at_r"] == pytest.approx(float(Fraction(5, 24)), abs=1e-12)
    assert out["k_value"] == 2 and out["n"] == 7
    assert out["nmi"] is not None and out["ami"] is not None  # all seven clips are clustered, C included


@pytest.mark.parametrize("seed, n, dims, classes, singles", [(0, 60, 8, 3, 0), (4, 90, 16, 5, 2), (2, 40, 4, 2, 1)])
def test_equals_a_numpy_leave_one_out_and_sklearn_clustering(seed, n, dims, classes, singles):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score

    rng = np.random.default_rng(seed)
    labels = np.concatenate([rng.integers(0, classes, n - singles), classes + np.arange(singles)])
    x = rng.normal(size=(n, dims)) + 0.8 * rng.normal(size=(classes + singles, dims))[labels]
    x *= rng.uniform(0.5, 3.0, size=(n, 1))  # norms differ; only directions count
    p1, rp, map_r, gap = _leave_one_out(x, labels)
    assert gap > 2e-6, "near-tie in the data: float32 rounding could reorder it"
    out = retrieval_metrics(x, labels, seed=seed)
    assert out["precision_at_1"] == pytest.approx(p1, abs=1e-12)
    assert out["r_precision"] == pytest.approx(rp, abs=1e-12)
    assert out["map_at_r"] == pytest.approx(map_r, abs=1e-12)
    assert out["k_value"] == np.bincount(labels).max() - 1
    clusters = KMeans(classes + singles, n_init=3, random_state=seed).fit_predict(_unit32(x))
    assert out["nmi"] == pytest.approx(normalized_mutual_info_score(labels, clusters), abs=1e-12)
    assert out["ami"] == pytest.approx(adjusted_mutual_info_score(labels, clusters), abs=1e-12)


def test_string_labels_equal_integer_labels():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, 50)
    x = rng.normal(size=(50, 8)) + codes[:, None]
    assert retrieval_metrics(x, np.array(["ang", "hap", "neu"])[codes]) == retrieval_metrics(x, codes)


def test_perfectly_separated_classes_score_one():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(4), [5, 8, 12, 20])
    centres = np.eye(16)[:4] * 10
    out = retrieval_metrics(centres[labels] + 0.01 * rng.normal(size=(len(labels), 16)), labels)
    assert {key: out[key] for key in NUMBERS} == pytest.approx(dict.fromkeys(NUMBERS, 1.0))
    assert out["k_value"] == 19


def test_collapsed_embedding_scores_about_chance():
    # every clip at the same point: the query must not count as its own neighbour, and ties must not follow
    # clip order (here sorted by class), else this would look like a good embedding
    labels = np.repeat([0, 1, 2], [30, 30, 40])
    out = retrieval_metrics(np.ones((100, 16)), labels)
    chance_rp = (2 * 30 * 29 + 40 * 39) / (100 * 99)  # expected R-precision of a random ranking, 0.333
    assert out["r_precision"] == pytest.approx(chance_rp, abs=0.06)
    assert out["precision_at_1"] < 0.6 and out["map_at_r"] < 0.25
    assert out["nmi"] == pytest.approx(0.0, abs=1e-12) and out["ami"] == pytest.approx(0.0, abs=1e-12)


def test_same_seed_same_result():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, 80)
    x = rng.normal(size=(80, 8))
    assert retrieval_metrics(x, labels, seed=7) == retrieval_metrics(x, labels, seed=7)


@pytest.mark.parametrize("x, labels", [
    (np.zeros((0, 4)), np.array([], dtype=int)),  # no clip
    (np.ones((1, 4)), np.array([0])),  # one clip
    (np.random.default_rng(6).normal(size=(10, 4)), np.zeros(10, dtype=int)),  # one class
    (np.random.default_rng(7).normal(size=(5, 4)), np.arange(5)),  # every clip a class of its own
])
def test_undefined_cases_give_none(x, labels):
    out = retrieval_metrics(x, labels)
    assert all(out[key] is None for key in NUMBERS) and out["k_value"] is None
    assert out["n"] == len(labels) and out["k"] == "max_bin_count"


def test_two_clips_two_classes_and_one_shared_class():
    # three clips, classes A A B: A's clips retrieve each other first, B is a reference only
    out = retrieval_metrics(_circle([0, 20, 90]), np.array(list("AAB")))
    assert out["precision_at_1"] == out["r_precision"] == out["map_at_r"] == 1.0
    assert out["k_value"] == 1


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_embeddings_raise(bad):
    x = np.random.default_rng(8).normal(size=(10, 4))
    x[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        retrieval_metrics(x, np.arange(10) % 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        invariance_probe(x, np.arange(10) % 2)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="one entry per clip"):
        retrieval_metrics(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="2-d"):
        retrieval_metrics(np.zeros(5), np.zeros(5))


# ---------------------------------------------------------------- invariance_probe

def test_probe_decodes_a_perfectly_encoded_identity():
    rng = np.random.default_rng(10)
    identity = np.repeat([f"spk{i}" for i in range(6)], 12)
    codes = np.unique(identity, return_inverse=True)[1]
    x = np.concatenate([np.eye(6)[codes] * 3, rng.normal(size=(len(codes), 10))], axis=1)
    out = invariance_probe(x, identity)
    assert out is not None
    assert out["above_chance"] == pytest.approx(1.0, abs=1e-9)
    assert out["balanced_accuracy"] == pytest.approx(1.0, abs=1e-9)
    assert (out["chance"], out["identities"], out["clips"], out["folds"]) == (pytest.approx(1 / 6), 6, 72, 3)
    assert out["probe"] == "ridge classifier on standardised embeddings, 3-fold cross-validated (stratified folds)"


def test_probe_on_random_embeddings_is_about_chance():
    rng = np.random.default_rng(11)
    out = invariance_probe(rng.normal(size=(400, 16)), rng.integers(0, 5, 400), seed=3)
    assert out is not None and out["chance"] == pytest.approx(0.2)
    assert abs(out["above_chance"]) < 0.08


def _speaker_offsets(seed=12, corpora=2, speakers=8, clips=15, dims=64):
    """Corpus carried only by per-speaker random offsets: decodable from memorised speakers, not across them."""
    rng = np.random.default_rng(seed)
    speaker = np.repeat(np.arange(corpora * speakers), clips)
    corpus = speaker // speakers
    x = 3 * rng.normal(size=(corpora * speakers, dims))[speaker] + rng.normal(size=(len(speaker), dims))
    return x, np.array(["crema", "ravdess", "iemocap"])[corpus], speaker


def test_probe_groups_make_folds_speaker_disjoint():
    x, corpus, speaker = _speaker_offsets()
    within = invariance_probe(x, corpus)
    across = invariance_probe(x, corpus, groups=speaker)
    assert within is not None and across is not None
    assert within["above_chance"] > 0.9  # the probe has seen every speaker's offset
    assert abs(across["above_chance"]) < 0.35  # held-out speakers' offsets say nothing about the corpus
    assert across["probe"].endswith("3-fold cross-validated (speaker-disjoint folds)")


def test_probe_groups_are_never_split(monkeypatch):
    import sklearn.model_selection

    seen = []
    original = sklearn.model_selection.StratifiedGroupKFold.split

    def recording_split(self, x, y=None, groups=None):
        for train, test in original(self, x, y, groups):
            seen.append((set(groups[train]), set(groups[test])))
            yield train, test

    monkeypatch.setattr(sklearn.model_selection.StratifiedGroupKFold, "split", recording_split)
    x, corpus, speaker = _speaker_offsets(seed=13, corpora=3, speakers=4)
    assert invariance_probe(x, corpus, groups=speaker) is not None
    assert len(seen) == 3
    assert all(not (train & test) for train, test in seen)


def test_probe_reduces_folds_and_drops_single_clip_identities():
    rng = np.random.default_rng(14)
    identity = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 3])  # 3 has one clip: left out; 0 has two: 2 folds
    out = invariance_probe(rng.normal(size=(10, 4)), identity, folds=5)
    assert out is not None
    assert (out["identities"], out["clips"], out["folds"]) == (3, 9, 2)
    assert out["chance"] == pytest.approx(1 / 3)
    assert "2-fold" in out["probe"]


def test_probe_with_groups_reduces_folds_to_the_groups_of_an_identity():
    x, corpus, speaker = _speaker_offsets(seed=15, speakers=2)
    out = invariance_probe(x, corpus, groups=speaker, folds=5)
    assert out is not None and out["folds"] == 2


@pytest.mark.parametrize("identity, groups", [
    (np.zeros(12, dtype=int), None),  # one identity
    (np.arange(12), None),  # every identity a single clip: none left
    (np.repeat([0, 1], [11, 1]), None),  # identity 1 has a single clip: one identity left
    (np.repeat([0, 1], 6), np.repeat([0, 1], 6)),  # each identity in a single group
    (np.repeat([0, 1], 6), np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2])),  # identity 1 in one group only
])
def test_probe_returns_none_when_it_cannot_be_estimated(identity, groups):
    x = np.random.default_rng(16).normal(size=(12, 4))
    assert invariance_probe(x, identity, groups=groups) is None


def test_probe_argument_errors():
    x = np.random.default_rng(17).normal(size=(12, 4))
    with pytest.raises(ValueError, match="folds"):
        invariance_probe(x, np.arange(12) % 2, folds=1)
    with pytest.raises(ValueError, match="groups"):
        invariance_probe(x, np.arange(12) % 2, groups=np.arange(11))


@pytest.mark.parametrize("classes", [2, 3, 22])
def test_the_ridge_probe_predicts_what_the_scikit_learn_pipeline_predicts(classes):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ser_bench.model.embedding_metrics import ridge_probe

    rng = np.random.default_rng(classes)
    codes = np.arange(300) % classes
    x = rng.normal(size=(300, 16)) + codes[:, None] * rng.normal(size=16) * 0.3
    x[:, 3] = 2.0  # a constant feature, which the scaler leaves unscaled
    pipeline = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0)).fit(x[:200], codes[:200])
    assert (ridge_probe(x[:200], codes[:200], x[200:], classes) == pipeline.predict(x[200:])).all()
