"""oodt: out-of-domain training. Train on all source data; score every target clip against the source.

Feng & Chaspari (2020), Table 1 row 1: no target label is used.
"""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import BoardLayout, ProtocolSpec, Split, Subset


def splits(data, seed: int):
    """A single split: train and support = the whole source, test = the whole target."""
    source = tuple(range(len(data.source)))
    return [Split(name="oodt", train=Subset("source", source), support=Subset("source", source),
                  test=Subset("target", tuple(range(len(data.target)))), info={})]


def validation(data, seed: int, speakers: int = 0):
    """Tuning split: train on the source without ``speakers`` held-out source speakers (0: a quarter),
    score those speakers' clips against the rest. No target clip is used, as in the protocol itself."""
    from ser_bench.plugin_kit.helpers import choose_speakers, rows_of_speakers

    held = choose_speakers(data.source, speakers, seed, "oodt-validation")
    test = rows_of_speakers(data.source, held)
    rest = tuple(i for i in range(len(data.source)) if i not in set(test))
    return [Split(name="val-oodt", train=Subset("source", rest), support=Subset("source", rest),
                  test=Subset("source", test), info={"validation_speakers": held})]


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="oodt", splits=splits, needs_source=True, validation=validation,
                         validation_on=("source",), board=BoardLayout(order=0),
                         summary="out-of-domain training: source only, tested on the whole target",
                         reference="Feng & Chaspari (2020)")]
