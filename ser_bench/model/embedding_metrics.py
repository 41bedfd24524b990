"""How good a learned embedding of one split's test clips is, judged without a classifier head.

Two pure functions over numpy arrays, for the caller to run on every evaluation split:

* :func:`retrieval_metrics`: leave-one-out retrieval among the test clips (precision at 1, R-precision,
  MAP@R) and how well k-means recovers the classes (NMI, AMI), computed with pytorch-metric-learning's
  ``AccuracyCalculator`` on the CPU and without faiss;
* :func:`invariance_probe`: how well a cross-validated linear probe decodes a nuisance identity (speaker,
  corpus) from the embedding; lower means more invariant.

torch, scikit-learn and pytorch-metric-learning are imported inside the functions, so importing this
module costs nothing.

References:

* K. Musgrave, S. Belongie, S.-N. Lim (2020). A Metric Learning Reality Check. ECCV. (MAP@R, R-precision,
  and the evaluation protocol of pytorch-metric-learning's ``AccuracyCalculator``,
  https://kevinmusgrave.github.io/pytorch-metric-learning/accuracy_calculation/)
* N. X. Vinh, J. Epps, J. Bailey (2010). Information Theoretic Measures for Clusterings Comparison:
  Variants, Properties, Normalization and Correction for Chance. JMLR 11. (AMI)
* G. Alain, Y. Bengio (2016). Understanding intermediate layers using linear classifier probes.
  arXiv:1610.01644. (linear probes)
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

DISTANCE = "euclidean on L2-normalised embeddings"
_RETRIEVAL_KEYS = ("precision_at_1", "r_precision", "map_at_r", "nmi", "ami")
# AccuracyCalculator's names for the numbers this module returns
_PML_NAMES = {"precision_at_1": "precision_at_1", "r_precision": "r_precision",
              "map_at_r": "mean_average_precision_at_r", "nmi": "NMI", "ami": "AMI"}


def _check(embeddings, labels, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(embeddings)
    y = np.asarray(labels)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-d array (clips x dimensions), got shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{what} must be a 1-d array with one entry per clip ({len(x)}), got shape {y.shape}")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise ValueError(f"embeddings contain NaN or infinite values ({bad} of {len(x)} clips): "
                         "the model diverged or the features are broken; no metric is defined")
    return x, y


def _finite(value: Any) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


def retrieval_metrics(embeddings, labels, seed: int = 0) -> dict:
    """Leave-one-out retrieval and clustering quality of ``embeddings`` (clips x dims) for ``labels``.

    Every test clip in turn is a query; the other test clips are the references, ranked by Euclidean
    distance between L2-normalised embeddings (the ranking of cosine similarity). With pytorch-metric-learning's
    ``AccuracyCalculator`` (``k="max_bin_count"``, ``ref_includes_query=True``), as recommended by Musgrave,
    Belongie & Lim (2020), "A Metric Learning Reality Check":

    * ``precision_at_1``: fraction of queries whose nearest other clip has the query's class;
    * ``r_precision``: with R = the number of other clips of the query's class, the fraction of the R nearest
      clips that have the query's class, averaged over queries;
    * ``map_at_r``: MAP@R, the mean over queries of (1/R) * sum over ranks i <= R of precision@i at the ranks
      i that hold a clip of the query's class; like R-precision, but it also rewards putting the right clips
      first. 1 when each class's clips are nearer each other than to any other clip;
    * ``nmi`` / ``ami``: normalised and adjusted mutual information (Vinh, Epps & Bailey 2010) between the
      classes and k-means clusters (scikit-learn ``KMeans(n_clusters=number of classes, n_init=3,
      random_state=seed)``) of the L2-normalised embeddings; AMI is 0 for a clustering no better than
      chance and 1 for the classes themselves, NMI is not corrected for chance.

    Averages are over queries (micro), as AccuracyCalculator does by default. ``k_value`` is the number of
    neighbours retrieved: the largest class count minus one (the query itself is never its own neighbour).

    Edge cases (``None`` where a number is undefined or does not depend on the embedding; never NaN):

    * fewer than 2 clips, a single class, or every clip a class of its own: all five numbers (and
      ``k_value``) are ``None``. With one class every neighbour is right whatever the embedding, and
      clustering is trivially perfect, so a 1.0 would carry no information;
    * some classes have a single clip: such a clip has no relevant reference (R = 0), so, as
      AccuracyCalculator does, it is not used as a query, but it stays a reference (a wrong neighbour for
      everyone else) and is clustered like every clip; the averages are over the other clips;
    * NaN or infinite embeddings raise ``ValueError``; so do mismatched shapes.

    Ties: the query itself is always excluded, and equal distances are ordered by a fixed random permutation
    of the references (``seed``), not by clip order. PML's own ``CustomKNN`` drops the farthest neighbour
    instead of the query when (near-)duplicates push the query out of its k + 1 nearest (torch.cdist's
    distance of a clip to itself is not exactly 0), so the query counts as its own hit: on a collapsed
    embedding (all clips at one point, 3 classes of 30/30/40) it gives R-precision 0.39 and MAP@R 0.30,
    where a random ranking gives 0.33 and about 0.14, as this function does.

    Cost, measured (best of 7 calls, one torch and one BLAS thread as the runner sets them, imports excluded,
    4 classes, on the 2-core development VM): 0.055 s for 1000 clips x 64 dims; a full distance matrix is
    formed and partially sorted, so 3000 clips x 256 dims take about 0.6 s.
    """
    x, y = _check(embeddings, labels, "labels")
    n = len(x)
    out: dict[str, Any] = {key: None for key in _RETRIEVAL_KEYS}
    out.update({"k": "max_bin_count", "k_value": None, "distance": DISTANCE, "n": n})
    if n < 2:
        return out
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    n_classes = len(counts)
    if n_classes < 2 or n_classes == n:
        return out

    import torch
    from pytorch_metric_learning import distances
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = torch.from_numpy((x / np.maximum(norms, 1e-12)).astype(np.float32))
    codes_t = torch.from_numpy(codes.astype(np.int64))

    class LeaveOneOutKNN(CustomKNN):
        """CustomKNN that never returns the query itself and orders tied references by a seeded shuffle."""

        def __call__(self, query, k, reference, ref_includes_query=False):
            if not ref_includes_query:
                return super().__call__(query, k, reference, ref_includes_query)
            mat = self.distance(query, reference).numpy()  # distances are >= 0 ...
            np.fill_diagonal(mat, -1.0)  # ... so the query is its own first hit, dropped below
            perm = np.random.default_rng(seed).permutation(mat.shape[1])
            mat = mat[:, perm]
            nearest = np.argpartition(mat, k, axis=1)[:, :k + 1]  # faster than torch.topk for large k
            dist = np.take_along_axis(mat, nearest, axis=1)
            order = np.argsort(dist, axis=1, kind="stable")
            dist, nearest = np.take_along_axis(dist, order, axis=1), perm[np.take_along_axis(nearest, order, axis=1)]
            return torch.from_numpy(dist[:, 1:]), torch.from_numpy(nearest[:, 1:])

    def kmeans(x_t, n_clusters):  # AccuracyCalculator calls kmeans_func(query, num_clusters)
        import warnings

        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():  # a collapsed embedding has fewer distinct points than classes
            warnings.simplefilter("ignore", ConvergenceWarning)
            assigned = KMeans(n_clusters, n_init=3, random_state=seed).fit_predict(x_t.cpu().numpy())
        return torch.from_numpy(assigned.astype(np.int64)).to(x_t.device)

    knn = LeaveOneOutKNN(distances.LpDistance(normalize_embeddings=True, p=2, power=1))
    calculator = AccuracyCalculator(include=tuple(_PML_NAMES.values()), k="max_bin_count",
                                    device=torch.device("cpu"), knn_func=knn, kmeans_func=kmeans)
    with torch.no_grad():
        result = calculator.get_accuracy(unit, codes_t, unit, codes_t, ref_includes_query=True)
    for key, name in _PML_NAMES.items():
        out[key] = _finite(result[name])
    out["k_value"] = int(counts.max()) - 1
    return out


def ridge_probe(x_train, codes_train, x_test, n_classes: int, alpha: float = 1.0):
    """Class codes predicted for ``x_test`` by ``make_pipeline(StandardScaler(), RidgeClassifier(alpha))``
    fitted on ``x_train``, ``codes_train`` (codes ``0..n_classes-1``, each present in training), computed as
    scikit-learn computes it (targets -1/+1 per class, centred; the Cholesky solve of its ``auto`` solver on
    dense data; argmax of the decision) in one small solve: the pipeline's input checks and label
    binarising cost 25 times the arithmetic (24 ms against 0.9 ms for 470 clips, 64 dimensions, 22
    speakers), and a probe runs several times per split. ``tests/test_embedding_metrics.py`` checks the
    predictions equal the pipeline's."""
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0  # as StandardScaler: a constant feature is centred, not scaled
    a = (x_train - mean) / scale
    targets = -np.ones((len(codes_train), n_classes))
    targets[np.arange(len(codes_train)), codes_train] = 1.0
    offset = targets.mean(axis=0)
    a_mean = a.mean(axis=0)
    centred = a - a_mean
    weights = np.linalg.solve(centred.T @ centred + alpha * np.eye(a.shape[1]), centred.T @ (targets - offset))
    scores = ((x_test - mean) / scale - a_mean) @ weights + offset
    if n_classes == 2:  # scikit-learn keeps one column for two classes and predicts class 1 where it is > 0
        return (scores[:, 1] > 0).astype(codes_train.dtype)
    return scores.argmax(axis=1).astype(codes_train.dtype)


def invariance_probe(embeddings, identity, groups=None, folds: int = 3, seed: int = 0) -> Optional[dict]:
    """How well a linear probe decodes ``identity`` (speaker ids, corpus names, ...) from ``embeddings``.

    A linear classifier probe (Alain & Bengio 2016, "Understanding intermediate layers using linear
    classifier probes"): scikit-learn ``StandardScaler`` then ``RidgeClassifier(alpha=1.0)`` (closed-form,
    fast enough for every split), cross-validated; every clip is predicted once, by the probe fitted on the
    folds that do not contain it.

    * ``groups=None``: ``StratifiedKFold(folds, shuffle=True, random_state=seed)`` stratified on
      ``identity``. For speaker identity the probe is trained on other clips of the same speakers.
    * ``groups`` given (e.g. the speaker of each clip when decoding the corpus): ``StratifiedGroupKFold`` with
      the same settings, so train and test folds share no group (speaker-disjoint): only what generalises
      across speakers can be decoded, not a memorised speaker offset.

    Returned numbers: ``balanced_accuracy`` (mean per-identity recall over the pooled out-of-fold
    predictions), ``chance`` = 1 / number of identities, ``above_chance`` = (balanced_accuracy - chance) /
    (1 - chance): 0 at chance (the embedding is invariant to the identity as far as a linear probe can tell),
    1 when decoded perfectly, negative below chance. Lower means more invariant. ``identities``, ``clips``
    and ``folds`` are the counts actually used, ``probe`` says how.

    Rules (``None`` when it cannot be estimated):

    * identities with a single clip are left out (a clip can't be both trained on and tested), and so are
      their clips; fewer than 2 identities left → ``None``;
    * without groups, ``folds`` is lowered to the smallest clip count of an identity (but not below 2), so
      every identity is in every training and every test fold;
    * with groups, identities seen in fewer than 2 groups → ``None`` (all their clips would sit in one test
      fold, unseen in training); otherwise ``folds`` is lowered to the smallest number of groups of an
      identity (not below 2). If the split still leaves an identity of a test fold out of its training
      folds, ``None``;
    * NaN or infinite embeddings raise ``ValueError``, as in :func:`retrieval_metrics`.
    """
    x, ident = _check(embeddings, identity, "identity")
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    g = None
    if groups is not None:
        g = np.asarray(groups)
        if g.shape != ident.shape:
            raise ValueError(f"groups must have one entry per clip ({len(ident)}), got shape {g.shape}")
    _, codes, counts = np.unique(ident, return_inverse=True, return_counts=True)
    keep = counts[codes] >= 2
    if not keep.all():
        x, codes = x[keep], codes[keep]
        g = None if g is None else g[keep]
        _, codes, counts = np.unique(codes, return_inverse=True, return_counts=True)
    n_ident = len(counts)
    if n_ident < 2:
        return None

    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if g is None:
        folds = max(2, min(folds, int(counts.min())))
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, codes))
        kind = "stratified folds"
    else:
        _, group_codes = np.unique(g, return_inverse=True)
        groups_per_identity = np.array([len(np.unique(group_codes[codes == c])) for c in range(n_ident)])
        if groups_per_identity.min() < 2:
            return None
        folds = max(2, min(folds, int(groups_per_identity.min())))
        splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(x, codes, group_codes))
        kind = "speaker-disjoint folds"
    predicted = np.empty_like(codes)
    for train, test in splits:
        if not np.isin(codes[test], codes[train]).all():
            return None
        predicted[test] = ridge_probe(x[train], codes[train], x[test], n_ident)
    balanced = float(balanced_accuracy_score(codes, predicted))
    chance = 1.0 / n_ident
    return {
        "balanced_accuracy": balanced,
        "chance": chance,
        "above_chance": (balanced - chance) / (1.0 - chance),
        "identities": n_ident,
        "clips": len(codes),
        "folds": folds,
        "probe": f"ridge classifier on standardised embeddings, {folds}-fold cross-validated ({kind})",
    }
