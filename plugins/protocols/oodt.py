"""oodt: out-of-domain training. Train on all source data; score every target clip against the source.

Feng & Chaspari (2020), Table 1 row 1: no target label is used.
"""
from ser_bench import hookimpl
from ser_bench.types import ProtocolSpec, Split, Subset


def splits(data, seed: int):
    """A single split: train and support = the whole source, test = the whole target."""
    source = tuple(range(len(data.source)))
    return [Split(name="oodt", train=Subset("source", source), support=Subset("source", source),
                  test=Subset("target", tuple(range(len(data.target)))), info={})]


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="oodt", splits=splits, needs_source=True,
                         summary="out-of-domain training: source only, tested on the whole target",
                         reference="Feng & Chaspari (2020)")]
