"""is09-64: the 64 IS09 functionals of Feng & Chaspari (the ``_amean`` and ``_stddev`` columns).

RMS energy, zero-crossing rate, voicing probability, F0 and MFCC 1-12, and their deltas, each as mean
and standard deviation over the utterance (openSMILE >= 2.6, INTERSPEECH 2009 challenge set).
"""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import FeatureSpec

from .opensmile_functionals import OpenSmileFunctionals


def build() -> OpenSmileFunctionals:
    """The extractor (imports opensmile only when called)."""
    return OpenSmileFunctionals("IS09", suffixes=("_amean", "_stddev"))


@hookimpl
def ser_bench_features():
    return [FeatureSpec(
        name="is09-64", build=build, version="opensmile2.6-1", dim=64, default=True,
        summary="IS09 functionals, mean and std of 16 LLDs + deltas (the paper's 64 features)",
        reference="Schuller et al. (2009) INTERSPEECH Emotion Challenge; Feng & Chaspari (2020)",
    )]
