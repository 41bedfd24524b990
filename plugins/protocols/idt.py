"""idt: in-domain training, leave-one-speaker-out on the target (the upper bound of Table 1).

Each fold trains on every target speaker but one and scores that speaker's clips against the
training speakers' clips.
"""
from ser_bench import hookimpl
from ser_bench.types import ProtocolSpec, Split, Subset


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


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="idt", splits=splits,
                         summary="in-domain leave-one-speaker-out on the target (upper bound)",
                         reference="Feng & Chaspari (2020)")]
