"""idt: in-domain training, leave-one-speaker-out on the target (the upper bound of Table 1).

Each fold trains on every target speaker but one and scores that speaker's clips against the
training speakers' clips.
"""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import BoardLayout, ProtocolSpec, Split, Subset


def splits(data, seed: int):
    """One split per target speaker, in sorted speaker order."""
    speakers = data.target["speaker"].astype(str).to_numpy()
    out = []
    for held_out in sorted(set(speakers)):
        test = tuple(int(i) for i in (speakers == held_out).nonzero()[0])
        train = tuple(int(i) for i in (speakers != held_out).nonzero()[0])
        out.append(Split(name=f"loso-{held_out}", train=Subset("target", train),
                         support=Subset("target", train), test=Subset("target", test),
                         info={"test_speaker": held_out}))
    return out


def validation(data, seed: int, speakers: int = 0):
    """Tuning splits: leave-one-speaker-out among ``speakers`` target speakers drawn for validation
    (0: a quarter, at least 2). The runner leaves them out of the test folds afterwards."""
    from ser_bench.plugin_kit.helpers import choose_speakers

    chosen = choose_speakers(data.target, speakers, seed, "idt-validation")
    speaker_col = data.target["speaker"].astype(str).to_numpy()
    out = []
    for held_out in chosen:
        test = tuple(int(i) for i in (speaker_col == held_out).nonzero()[0])
        train = tuple(int(i) for i, s in enumerate(speaker_col) if s in chosen and s != held_out)
        out.append(Split(name=f"val-loso-{held_out}", train=Subset("target", train), support=Subset("target", train),
                         test=Subset("target", test), info={"test_speaker": held_out}))
    return out


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="idt", splits=splits, validation=validation,
                         board=BoardLayout(order=2, unit="held-out speakers"),
                         summary="in-domain leave-one-speaker-out on the target (upper bound)",
                         reference="Feng & Chaspari (2020)")]
