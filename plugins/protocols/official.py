"""official: the target corpus's own partitions (MSP-Podcast's Train, Development, Test1, Test2, Test3).

A corpus that ships an official split keeps it in its manifest's ``partition`` column (the msp-podcast
loader keeps ``Split_Set`` there; a csv manifest may have one too). The single split trains on the rows
whose partition is in ``train`` (default ``Train``) and scores the rows whose partition is in ``test``
(default ``Test1``) against the training rows (the support set is the training set, as in IDT). Each
parameter takes one name or several (``test=Test1,Test2``). Its numbers are on the official test set
(up to the unknown speakers below), so they compare with results published on it, which the
speaker-independent protocols' numbers do not.

Speakers: the partitions are the corpus authors', not drawn here, so a speaker may be on both sides. The
split allows that explicitly (``speaker_overlap_allowed``); the speakers found on both sides are recorded
in the result (``speaker_overlap``), and the leaderboard states that the split is not
speaker-independent whenever there are any.

Unknown speakers: the msp-podcast loader leaves out the segments whose ``SpkrID`` is ``Unknown`` (see its
docstring), so each partition here is the official one less any such segments (and, as in every protocol,
less the clips outside the label set): numbers compare with those published on that test set only as far
as that. They are not put back as one pseudo-speaker "Unknown": it would be a speaker in every partition,
and tuning (below) would take all of its segments out of every partition.

Tuning (``validation``): inside the ``development`` partition (default ``Development``), ``speakers`` of
its speakers (0: a quarter, at least 2) are held out and scored against a model trained on the other
development speakers. The runner leaves every speaker a validation split touches out of the split
evaluated afterwards (a development speaker also in another partition leaves it too, as the result's
``reserved_target_speakers`` records); validating a model trained on the ``train`` partitions would
take every training speaker out of it, so tuning stays inside the development partition.
"""
from __future__ import annotations

from ser_bench import hookimpl
from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import BoardLayout, ProtocolData, ProtocolSpec, Split, Subset

COLUMN = "partition"


def _names(value) -> list[str]:
    """A partition parameter as names: ``"Test1"``, ``"Test1,Test2"`` or a list of them."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _corpus(frame) -> str:
    names = sorted({str(c) for c in frame["corpus"]}) if "corpus" in frame else []
    return " ∪ ".join(names) or "the target"


def partitions(frame, parameter: str, value) -> tuple[int, ...]:
    """Row indices of ``frame`` whose partition is one of ``value`` (the ``parameter`` named in messages);
    a :class:`ProtocolError` saying which partitions exist when the column or a partition is missing."""
    corpus = _corpus(frame)
    if COLUMN not in frame:
        raise ProtocolError(
            f"official: {corpus} has no official split (its manifest has no {COLUMN!r} column). The protocol needs "
            f"a corpus that ships one, such as msp-podcast, or a csv manifest with a {COLUMN!r} column; for a "
            "speaker-independent split of this corpus use idt or fewshot")
    column = frame[COLUMN].astype(str).str.strip().to_numpy()
    present = sorted(set(column) - {"", "nan", "None"})
    wanted = _names(value)
    missing = [name for name in wanted if name not in present]
    if not wanted or missing:
        problem = f"{corpus} has no partition {', '.join(map(repr, missing))}" if missing else "names no partition"
        raise ProtocolError(
            f"official: {parameter}={value!r}: {problem}; the partitions of {corpus} (with clips of the label set) "
            f"are {', '.join(present) or 'none'}: give e.g. --protocol-param official.{parameter}="
            f"{present[0] if present else 'NAME'}")
    chosen = set(wanted)
    return tuple(int(i) for i, p in enumerate(column) if p in chosen)


def splits(data, seed: int, train=("Train",), test=("Test1",), development: str = "Development"):
    """A single split: train and support = the ``train`` partitions, test = the ``test`` partitions.
    ``development`` is used by :func:`validation` only."""
    frame = data.target
    train_rows, test_rows = partitions(frame, "train", train), partitions(frame, "test", test)
    both = sorted(set(_names(train)) & set(_names(test)))
    if both:
        raise ProtocolError(f"official: partition(s) {', '.join(both)} are in both train and test; a clip cannot be "
                            "scored against itself")
    rows = Subset("target", train_rows)
    return [Split(name=f"official-{'+'.join(_names(test))}", train=rows, support=rows,
                  test=Subset("target", test_rows),
                  info={"train_partitions": _names(train), "test_partitions": _names(test),
                        "speaker_overlap_allowed": True})]


def validation(data, seed: int, speakers: int = 0, train=("Train",), test=("Test1",),
               development: str = "Development"):
    """Tuning split inside the ``development`` partition: ``speakers`` development speakers (0: a quarter,
    at least 2) scored against a model trained on the other development speakers."""
    from ser_bench.plugin_kit.helpers import choose_speakers

    frame = data.target
    rows = partitions(frame, "development", development)
    speaker = frame["speaker"].astype(str).to_numpy()
    held = set(choose_speakers(frame.iloc[list(rows)], speakers, seed, "official-validation"))
    scored = tuple(i for i in rows if speaker[i] in held)
    rest = Subset("target", tuple(i for i in rows if speaker[i] not in held))
    return [Split(name=f"val-official-{development}", train=rest, support=rest, test=Subset("target", scored),
                  info={"validation_speakers": sorted(held)})]


def example(data: ProtocolData) -> ProtocolData:
    """The conformance check's synthetic target with partitions: by speaker, half Train, a sixth
    Development, a third Test1, and one Train speaker's first clip in Test1 (an overlap, allowed)."""
    frame = data.target.copy()
    order = {s: i for i, s in enumerate(sorted(set(frame["speaker"])))}
    names = ("Train", "Train", "Train", "Development", "Test1", "Test1")
    frame[COLUMN] = [names[order[s] % len(names)] for s in frame["speaker"]]
    frame.loc[frame.index[0], COLUMN] = "Test1"
    return ProtocolData(target=frame, source=data.source)


@hookimpl
def ser_bench_protocols():
    return [ProtocolSpec(name="official", splits=splits, validation=validation, example=example,
                         params=defaults_of(splits, "protocols"), board=BoardLayout(order=3),
                         summary="the corpus's official partitions (e.g. MSP-Podcast Train -> Test1), "
                                 "not necessarily speaker-independent",
                         reference="Lotfian & Busso (2019) for MSP-Podcast's partitions")]
