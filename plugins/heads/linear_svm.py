"""linear_svm: a linear support vector machine fitted on the standardised support embeddings.

With the ``identity`` encoder this is the linear-SVM baseline on the (normalised) features. scikit-learn's
``LinearSVC`` (squared hinge, one-vs-rest, C = 1) after a ``StandardScaler`` fitted on the support set
only. Classes are unweighted, as in the ``linear`` head, so the two baselines differ only in the loss.
It gives no class probabilities: a hinge-loss SVM has none.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, C: float = 1.0, max_iter: int = 10000, **_):
    """Class predicted by a linear SVM fitted on the support embeddings."""
    from sklearn.svm import LinearSVC

    from ser_bench.plugin_kit.helpers import standardised_probe

    # A fixed random_state: the dual solver shuffles coordinates, and results must not depend on luck.
    classifier = LinearSVC(C=C, max_iter=max_iter, random_state=0)
    return standardised_probe(classifier, model, x_test, x_support, y_support)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="linear_svm", predict=predict, params=defaults_of(predict, "heads"),
                     search_space={"C": "0.001..100:log"},
                     summary="linear SVM on the standardised support embeddings (scikit-learn LinearSVC)",
                     reference="Fan et al. (2008), LIBLINEAR: a library for large linear classification, JMLR")]
