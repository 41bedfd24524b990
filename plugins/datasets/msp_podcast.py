"""MSP-Podcast: natural speech from podcasts, crowd-sourced consensus labels, categorical and dimensional.

Layout as distributed (``MSP-PODCAST``, e.g. release 1.11 or 1.12): ``Audios/<FileName>.wav`` and
``Labels/labels_consensus.csv``, one row per labelled segment with columns ``FileName``
(``MSP-PODCAST_0001_0008.wav``), ``EmoClass``, ``EmoAct``, ``EmoVal``, ``EmoDom``, ``SpkrID``,
``Gender`` and ``Split_Set``. The clips are the rows of that file: an audio file it does not list is not
read (the release holds unlabelled segments too), and a row whose audio is missing goes to
``ctx.report_bad_file``.

- Categories (``EmoClass``): A anger, H happiness, S sadness, U surprise, F fear, D disgust, N neutral.
  Left out on purpose: C (contempt, no emotion of the common vocabulary), O (other) and X (no
  agreement among the annotators).
- Dimensions: ``arousal`` (``EmoAct``), ``valence`` (``EmoVal``) and ``dominance`` (``EmoDom``) are the
  consensus ratings on the 1-7 scale, rescaled to [-1, 1] as (x - 4) / 3 (a value outside 1-7 is clipped
  to it); they replace the circumplex coordinates, so the continuous losses train on them. A row whose
  ratings are missing or not numbers is refused with its file name.
- Speakers (``SpkrID``): segments whose speaker is ``Unknown`` are left out, counted in a warning.
  The speaker-independent protocols hold speakers out (IDT folds, few-shot target speakers, the leakage checks), and
  an unknown speaker can be anyone: one pseudo-speaker "Unknown" would put one person's clips on both
  sides of a split unseen, and each clip its own speaker would do the same for every clip of a known
  person. ``gender`` is ``Gender`` in lower case (``unknown`` where the file says so).
- Partitions (``Split_Set``: Train, Development, Test1, Test2, Test3) are kept as the ``partition``
  column, which the ``official`` protocol evaluates on (Train -> Test1 by default). The other protocols
  split by speaker themselves, so their results are not on the official test sets and are not comparable
  with numbers reported on them.

Licence: academic licence on request (the MSP lab's release agreement). Lotfian & Busso (2019), Building
naturalistic emotionally balanced speech corpus by retrieving emotional speech from existing podcast
recordings, IEEE Trans. Affective Computing 10(4): 471-483.
"""
from __future__ import annotations

import math
from pathlib import Path

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.context import warn
from ser_bench.plugin_api.types import DatasetSpec
from ser_bench.plugin_kit.helpers import manifest_from_files

EMOTIONS = {"A": "anger", "H": "happiness", "S": "sadness", "U": "surprise", "F": "fear", "D": "disgust",
            "N": "neutral"}
LEFT_OUT = {"C": "contempt", "O": "other", "X": "no agreement"}
PARTITIONS = ("Train", "Development", "Test1", "Test2", "Test3")
COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID")
DIMENSIONS = {"EmoAct": "arousal", "EmoVal": "valence", "EmoDom": "dominance"}
LABELS = "Labels/labels_consensus.csv"
UNKNOWN = "unknown"


def rescale(value: float) -> float:
    """A 1-7 rating on [-1, 1]: (x - 4) / 3, clipped."""
    return min(1.0, max(-1.0, (value - 4.0) / 3.0))


def read_labels(csv: Path) -> tuple[dict, int]:
    """``({file name: fields}, unknown speakers left out)`` of a ``labels_consensus.csv``: fields with
    the emotion (``None`` for a class left out), rescaled dimensions, speaker, gender and partition."""
    import pandas as pd

    if not csv.is_file():
        raise SerBenchError(f"no MSP-Podcast labels at {csv}: expected {LABELS} beside Audios/ (the folder "
                            "MSP-PODCAST as distributed)")
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise SerBenchError(f"{csv}: lacks columns {', '.join(missing)} (it has {', '.join(table.columns)})")
    rows, unknown = {}, 0
    for i, row in table.iterrows():
        speaker = row["SpkrID"].strip()
        if not speaker or speaker.lower() == UNKNOWN:
            unknown += 1
            continue
        code = row["EmoClass"].strip().upper()
        if code not in EMOTIONS and code not in LEFT_OUT:
            raise SerBenchError(f"{csv}, row {i + 2}: unknown EmoClass {code!r} (known: "
                                f"{', '.join([*EMOTIONS, *LEFT_OUT])})")
        fields = {"speaker": speaker, "emotion": EMOTIONS.get(code), "category": code,
                  "gender": (row.get("Gender") or UNKNOWN).strip().lower() or UNKNOWN,
                  "partition": (row.get("Split_Set") or "").strip()}
        for column, name in DIMENSIONS.items():
            try:
                value = float(row[column])
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise SerBenchError(f"{csv}, row {i + 2}: {column} is {row[column]!r}, not a rating on 1-7")
            fields[name] = rescale(value)
        rows[row["FileName"].strip()] = fields
    return rows, unknown


class Parser:
    """``parse(path)`` of an MSP-Podcast clip: its row of the labels file."""

    def __init__(self, rows: dict):
        self.rows = rows

    def __call__(self, path: Path):
        fields = self.rows[Path(path).name]
        return None if fields["emotion"] is None else dict(fields)


def load(ctx):
    """Find the user's MSP-Podcast copy and return its manifest: the labelled rows whose speaker is known
    (those left out are counted in a warning); missing audio goes to ``ctx.report_bad_file``."""
    root = Path(ctx.find_corpus("msp-podcast", SPEC.folder_names))
    rows, unknown = read_labels(root / LABELS)
    if unknown:
        warn(ctx, f"msp-podcast: {unknown} segment(s) of {root / LABELS} have no known speaker (SpkrID Unknown): "
                  "left out, since every protocol holds speakers out and an unknown speaker could be on both sides")
    audio = root / "Audios"
    files = sorted(audio / name for name, fields in rows.items() if fields["emotion"] is not None)
    return manifest_from_files(files, Parser(rows), "msp-podcast", "en", ctx.report_bad_file,
                               f"expected {LABELS} and Audios/MSP-PODCAST_0001_0008.wav under {root}, labelled "
                               "segments with known speakers")


SPEC = DatasetSpec(
    name="msp-podcast", load=load,
    summary="MSP-Podcast: natural podcast speech, consensus categories and annotated arousal/valence/dominance",
    folder_names=("MSP-PODCAST", "MSP-Podcast", "msp-podcast"),
    homepage="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html",
    licence="academic licence on request (MSP lab release agreement)",
    reference="Lotfian & Busso (2019), Building naturalistic emotionally balanced speech corpus by retrieving "
              "emotional speech from existing podcast recordings, IEEE Trans. Affective Computing 10(4): 471-483",
    label_map=dict(EMOTIONS),
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
