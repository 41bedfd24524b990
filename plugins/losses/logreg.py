"""logreg: logistic regression on the normalised features, the first baseline any SER paper should beat.

Nothing is trained by gradient (``trains=False``): the ``identity`` encoder passes the features through
and the ``linear`` head fits scikit-learn's logistic regression on the standardised support set of each
split (for IDT the training speakers, for OODT the source corpus). ``build()`` returns a
:class:`NoGradientTraining` object, which says so loudly if anything tries to train with it.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import LossSpec


class NoGradientTraining:
    """The "loss" of a method fitted by its head alone: calling it is a bug in the caller."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, model, x, y):
        raise SerBenchError(f"{self.name!r} has nothing to train by gradient (trains=False): its head fits "
                            "it on the support set; the trainer must skip it")

    def __repr__(self) -> str:
        return f"NoGradientTraining({self.name!r})"


def build():
    """The marker object of a method without gradient training (see :class:`NoGradientTraining`)."""
    return NoGradientTraining("logreg")


@hookimpl
def ser_bench_losses():
    return [LossSpec(name="logreg", build=build, trains=False, default_encoder="identity", default_head="linear",
                     encoder_kinds=("embedding",), output="embedding",
                     summary="baseline: logistic regression on the normalised features (scikit-learn)",
                     reference="Pedregosa et al. (2011), Scikit-learn, JMLR; the baselines any SER paper "
                               "should beat")]
