"""egemaps: the 88 eGeMAPSv02 functionals (Eyben et al. 2016), as used by Das et al. (2022)."""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import FeatureSpec

from .opensmile_functionals import OpenSmileFunctionals


def build() -> OpenSmileFunctionals:
    """The extractor (imports opensmile only when called)."""
    return OpenSmileFunctionals("eGeMAPSv02")


@hookimpl
def ser_bench_features():
    return [FeatureSpec(name="egemaps", build=build, version="opensmile2.6-1", dim=88,
                        summary="eGeMAPSv02 functionals (88)",
                        reference="Eyben et al. (2016), IEEE Trans. Affective Computing 7(2)")]
