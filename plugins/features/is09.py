"""is09: all 384 INTERSPEECH 2009 Emotion Challenge functionals (openSMILE >= 2.6)."""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import FeatureSpec

from .opensmile_functionals import OpenSmileFunctionals


def build() -> OpenSmileFunctionals:
    """The extractor (imports opensmile only when called)."""
    return OpenSmileFunctionals("IS09")


@hookimpl
def ser_bench_features():
    return [FeatureSpec(name="is09", build=build, version="opensmile2.6-1", dim=384,
                        summary="IS09 functionals, all 384", reference="Schuller et al. (2009)")]
