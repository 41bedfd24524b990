"""linear: logistic regression fitted on the standardised support embeddings.

With the ``identity`` encoder this is the logistic-regression baseline on the (normalised) features
themselves. scikit-learn's ``LogisticRegression`` (L2, lbfgs, C = 1, unweighted classes), after a
``StandardScaler`` fitted on the support set only. Its class probabilities are the fitted classifier's
own ``predict_proba`` (each call fits it again, the same way: lbfgs is deterministic).
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import HeadSpec


def predict(model, x_test, x_support, y_support, n_classes, C: float = 1.0, max_iter: int = 1000, **_):
    """Class predicted by a logistic regression fitted on the support embeddings."""
    from sklearn.linear_model import LogisticRegression

    from ser_bench.plugin_kit.helpers import standardised_probe

    return standardised_probe(LogisticRegression(C=C, max_iter=max_iter), model, x_test, x_support, y_support)


def probabilities(model, x_test, x_support, y_support, n_classes, C: float = 1.0, max_iter: int = 1000, **_):
    """Class probabilities of the logistic regression that :func:`predict` fits (its ``predict_proba``)."""
    from sklearn.linear_model import LogisticRegression

    from ser_bench.plugin_kit.helpers import standardised_probabilities

    return standardised_probabilities(LogisticRegression(C=C, max_iter=max_iter), model, x_test, x_support,
                                      y_support, n_classes)


@hookimpl
def ser_bench_heads():
    return [HeadSpec(name="linear", predict=predict, params=defaults_of(predict, "heads"),
                     search_space={"C": "0.001..100:log"}, probabilities=probabilities,
                     calibration="the logistic regression's own predict_proba (multinomial softmax), not rescaled",
                     summary="logistic regression on the standardised support embeddings (scikit-learn)",
                     reference="Pedregosa et al. (2011), Scikit-learn: machine learning in Python, JMLR")]
