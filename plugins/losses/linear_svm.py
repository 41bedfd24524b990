"""linear_svm: a linear SVM on the normalised features, a classical baseline beside every loss.

Nothing is trained by gradient (``trains=False``): the ``identity`` encoder passes the features through
and the ``linear_svm`` head fits scikit-learn's ``LinearSVC`` on the standardised support set of each
split. ``build()`` returns the same :class:`~ser_bench_plugins.losses.logreg.NoGradientTraining`
marker as ``logreg``.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.plugin_api.types import LossSpec

from .logreg import NoGradientTraining


def build():
    """The marker object of a method without gradient training."""
    return NoGradientTraining("linear_svm")


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="linear_svm", build=build, trains=False, default_encoder="identity",
                     default_head="linear_svm", encoder_kinds=("embedding",), output="embedding",
                     summary="baseline: linear SVM on the normalised features (scikit-learn LinearSVC)",
                     reference="Fan et al. (2008), LIBLINEAR, JMLR; via scikit-learn. The baselines any SER "
                               "paper should beat")]
